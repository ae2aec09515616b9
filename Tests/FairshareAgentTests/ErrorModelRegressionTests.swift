import FairshareAgent
import FairshareCore
import FairshareLinux
import FairshareTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The three defects of issue 9, each as the issue found them on bb152ea (before the agent was
/// split into stages). Every test here failed there; see the commit that added them.
@Suite struct ErrorModelRegressionTests {
    /// Issue 9, defect 1: with EACCES on the root's readdir the agent took the groups for absent,
    /// journaled `group_created` for all three on every pass (6 entries in 2 passes), and at
    /// shutdown said "every process given back, groups removed" while the groups still existed.
    @Test func anUnlistableRootNeitherRecreatesGroupsNorClaimsThemRemoved() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        await h.agent.tick()
        #expect(h.journal.events("group_created").count == 3)
        // A group cgroup someone else made: no listing, no knowing it is there.
        h.kernel.makeCgroup("/fairshare/stray")
        h.kernel.inject(errno: EACCES, cgroup: "/fairshare", operation: .open)
        await h.agent.tick()
        await h.agent.tick()
        #expect(h.journal.events("group_created").count == 3, "journaled again while nothing was created: \(h.journal.events("group_created").count) entries")

        await h.agent.shutdown()
        let message = h.journal.events("stopping").first?["MESSAGE"]?.first ?? ""
        let left = ["low", "mid", "high", "stray"].filter { h.kernel.exists("/fairshare/\($0)") }
        let claimsAll = message.contains("every process given back") && message.contains("groups removed")
        #expect(!(claimsAll && !left.isEmpty), "'\(message)' while \(left) still exist")
        #expect(!claimsAll, "the root could not be listed: nobody can say no group is left: '\(message)'")
        #expect(h.kernel.cgroupOf(10) == "/origin" && h.kernel.cgroupOf(11) == "/origin")
    }

    /// Issue 9, defect 2: a group whose cpu.stat can not be read showed usage_usec 0 and 0 % in
    /// status; an unreadable io.stat showed 0 B/s. They must be null, with the reason.
    @Test func unreadableCountersAreNullNotZero() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        await h.agent.tick()
        h.kernel.setUsage("/fairshare/low", usageUsec: 1_000_000)
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()
        h.kernel.inject(errno: EACCES, file: .cpuStat, cgroup: "/fairshare/low", operation: .read)
        h.kernel.inject(errno: EACCES, file: .ioStat, cgroup: "/fairshare/mid", operation: .read)
        h.kernel.setUsage("/fairshare/low", usageUsec: 2_000_000)
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()

        let s = await h.agent.status()
        let low = try #require(s.groups.first { $0.name == "low" })
        let mid = try #require(s.groups.first { $0.name == "mid" })
        #expect(low.usageUsec == nil, "usage_usec \(String(describing: low.usageUsec)) for an unreadable cpu.stat")
        #expect(low.cpuUsagePercent == nil, "cpu_usage_pct \(String(describing: low.cpuUsagePercent)) for an unreadable cpu.stat")
        #expect(low.cpuUsageCPUs == nil)
        #expect(mid.ioReadBytesPerSecond == nil, "io_read_bps \(String(describing: mid.ioReadBytesPerSecond)) for an unreadable io.stat")
        #expect(mid.ioWriteBytesPerSecond == nil)
        // The reasons (no such field before the error model).
        #expect(low.unavailable?["usage_usec"]?.contains("/sys/fs/cgroup/fairshare/low/cpu.stat") == true)
        #expect(mid.unavailable?["io_read_bps"]?.contains("/sys/fs/cgroup/fairshare/mid/io.stat") == true)
        #expect(mid.usageUsec != nil, "mid's cpu.stat is readable")
    }

    /// Issue 9, defect 3: a persistent EACCES on io.weight was logged once per group per pass (15
    /// entries in 5 passes) and cpu.weight was written again on every pass.
    @Test func aPersistentIOWeightFailureIsLoggedOncePerGroupAndCPUWeightIsNotRewritten() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        h.spawn(12, "burn_c")
        h.kernel.inject(errno: EACCES, file: .ioWeight, operation: .write)
        await h.agent.tick()
        let cpuWeightWritesFirst = h.kernel.writes.filter { $0.0.hasSuffix("/cpu.weight") }.count
        #expect(cpuWeightWritesFirst == 3)
        h.kernel.clearWrites()
        for _ in 0..<4 {
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
        let ioErrors = h.journal.events("error").filter { $0["MESSAGE"]?.first?.contains("io.weight") == true }
        #expect(ioErrors.count == 3, "\(ioErrors.count) error entries in 5 passes")
        for g in ["low", "mid", "high"] {
            let told = ioErrors.filter { $0["MESSAGE"]?.first?.contains("/fairshare/\(g)/io.weight") == true }
            #expect(told.count == 1, "group \(g): \(told.count) entries")
        }
        let rewrites = h.kernel.writes.filter { $0.0.hasSuffix("/cpu.weight") }
        #expect(rewrites.isEmpty, "cpu.weight written again on later passes: \(rewrites.count) writes")
    }
}
