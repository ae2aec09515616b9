import Foundation
import Testing

@testable import FairshareCore

// `fairshare status` as a projection: a figure that could not be read is null with the reason,
// never a zero; failures are listed with their counts; the rest comes from the sampler.

@Suite struct StatusProjectionTests {
    typealias F = Fixture

    static let facts = StatusProjection.AgentFacts(
        pid: 4242, startedAt: 1000, now: 1010, cgroupRoot: "/sys/fs/cgroup/fairshare", rootPath: CgroupPath("/fairshare")!,
        intervalSeconds: 2, capacity: 2, ticks: 3, passTimes: PassTimes(), policyPath: "/etc/fairshare/policy.toml",
        policyLoadedAt: 1000, lastReload: nil, reloads: 0)

    static let cpuDenied = "reading /sys/fs/cgroup/fairshare/a/cpu.stat: Permission denied (errno 13)"
    static let ioDenied = "reading /sys/fs/cgroup/fairshare/a/io.stat: Permission denied (errno 13)"

    /// Two passes 2 s apart over groups a and b; `last` is a's counters in the second.
    func project(_ last: CgroupStats, first: CgroupStats = F.stats(), failures: FailureBook = FailureBook())
        -> (StatusReport, GroupStatus) {
        var p = Passes(F.twoGroups)
        let members = [F.process(10, "burn", in: "/fairshare/a")]
        p.run(Observation(at: 0, processes: members, groupCgroups: .value([F.a, F.b]), groupStats: [F.a: first, F.b: F.stats()]))
        let o = Observation(at: 2 * F.second, processes: members, groupCgroups: .value([F.a, F.b]),
                            groupStats: [F.a: last, F.b: F.stats()])
        p.run(o)
        let report = StatusProjection.report(p.r.snapshot, observation: o, hierarchy: HierarchySnapshot(), failures: failures, facts: Self.facts)
        return (report, report.groups.first { $0.name == "a" }!)
    }

    func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func figuresComeFromTheSampler() throws {
        let (_, a) = project(F.stats(usageUsec: 1_000_000, readBytes: 4096))
        #expect(a.cpuUsageCPUs == 0.5)
        #expect(a.cpuUsagePercent == 25)
        #expect(a.usageUsec == 1_000_000)
        #expect(a.nrThrottled == 0 && a.throttledUsec == 0)
        #expect(a.ioReadBytesPerSecond == 2048 && a.ioWriteBytesPerSecond == 0)
        #expect(a.unavailable == nil)
        #expect(a.members == 1)
        let text = try json(a)
        #expect(text.contains(#""usage_usec":1000000"#) && text.contains(#""cpu_usage_cpus":0.5"#))
        #expect(!text.contains("unavailable"))
    }

    /// The issue's defect: an unreadable cpu.stat showed `usage_usec 0` and 0%.
    @Test func anUnreadableCPUStatIsNullWithTheReason() throws {
        var stats = F.stats(usageUsec: 1_000_000)
        stats.cpu = .unavailable(Self.cpuDenied)
        let (_, a) = project(stats)
        #expect(a.usageUsec == nil && a.nrThrottled == nil && a.throttledUsec == nil)
        #expect(a.cpuUsageCPUs == nil && a.cpuUsagePercent == nil)
        #expect(a.unavailable?["usage_usec"] == Self.cpuDenied)
        #expect(a.unavailable?["cpu_usage_pct"] == Self.cpuDenied)
        // The group's interval is measured from cpu.stat: without it no io rate either, and the
        // io figures say so rather than show 0.
        #expect(a.ioReadBytesPerSecond == nil && a.unavailable?["io_read_bps"] != nil)
        let text = try json(a)
        for field in ["usage_usec", "nr_throttled", "throttled_usec", "cpu_usage_cpus", "cpu_usage_pct"] {
            #expect(text.contains("\"\(field)\":null"), "\(field) in \(text)")
        }
        #expect(text.contains(#""unavailable":{"#) && text.contains(Self.cpuDenied))
    }

    /// The issue's defect: an unreadable io.stat showed 0 B/s.
    @Test func anUnreadableIOStatIsNullWithTheReason() throws {
        var stats = F.stats(usageUsec: 1_000_000)
        stats.io = .unavailable(Self.ioDenied)
        let (_, a) = project(stats)
        #expect(a.ioReadBytesPerSecond == nil && a.ioWriteBytesPerSecond == nil)
        #expect(a.unavailable == ["io_read_bps": Self.ioDenied, "io_write_bps": Self.ioDenied])
        #expect(a.cpuUsageCPUs == 0.5, "cpu.stat was read: its figures stand")
        let text = try json(a)
        #expect(text.contains(#""io_read_bps":null"#) && text.contains(#""io_write_bps":null"#))
        #expect(text.contains(Self.ioDenied))
    }

    /// io.stat readable now but not at the start of the interval: there is no rate, and
    /// status must not show 0 B/s for it.
    @Test func anIORateWithoutAStartIsNullNotZero() throws {
        var first = F.stats()
        first.io = .unavailable(Self.ioDenied)
        let (_, a) = project(F.stats(usageUsec: 1_000_000, readBytes: 4096), first: first)
        #expect(a.cpuUsageCPUs == 0.5)
        #expect(a.ioReadBytesPerSecond == nil && a.ioWriteBytesPerSecond == nil)
        let why = try #require(a.unavailable?["io_read_bps"])
        #expect(why.contains("io.stat"))
        #expect(try json(a).contains(#""io_read_bps":null"#))
    }

    @Test func bothUnreadableLeaveOnlyTheWeightsAndMembers() throws {
        let stats = CgroupStats(cpu: .unavailable(Self.cpuDenied), io: .unavailable(Self.ioDenied), pressure: .unavailable("psi=0"))
        let (_, a) = project(stats)
        #expect(a.unavailable?.count == 7)
        #expect(a.cpuWeight == F.twoGroups.cpuWeights()[F.a]!.value)
        #expect(a.members == 1)
    }

    @Test func failuresAreListedWithTheirCounts() throws {
        var book = FailureBook(capacity: 1)
        for t in 0..<40 {
            _ = book.failed("io.weight of group a", cause: "EACCES", message: "writing io.weight: Permission denied (errno 13)", at: Double(t))
        }
        _ = book.failed("cpu.stat of group b", cause: "EACCES", message: "", at: 40)
        let (report, _) = project(F.stats(usageUsec: 1_000_000), failures: book)
        let failures = try #require(report.agent.failures)
        #expect(failures.map(\.target) == ["io.weight of group a"])
        #expect(failures.map(\.count) == [40])
        #expect(failures.first?.since == 0)
        #expect(report.agent.untrackedFailures == 1)
        let text = try json(report)
        #expect(text.contains(#""count":40"#) && text.contains(#""cause":"EACCES""#) && text.contains(#""target":"io.weight of group a""#))
        #expect(text.contains(#""untracked_failures":1"#))
    }

    @Test func noFailuresListNone() {
        let (report, _) = project(F.stats(usageUsec: 1_000_000))
        #expect(report.agent.failures?.isEmpty ?? true)
        #expect(report.agent.untrackedFailures == nil)
    }

    /// cpu.max in the redistribution is the one written (none was refused here).
    @Test func redistributionShowsTheCPUMaxInForce() throws {
        let (report, a) = project(F.stats(usageUsec: 1_000_000))
        #expect(report.groups.count == 2)
        let redistribution = try #require(a.redistribution, "a decision was taken at the second pass")
        #expect(redistribution.cpuMax == "max 100000")
    }
}
