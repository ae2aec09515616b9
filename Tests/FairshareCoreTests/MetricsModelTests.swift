import FairshareCore
import Testing

/// Issue 11: what the agent exports, decided without a registry.
@Suite struct MetricsModelTests {
    static func group(_ name: String) -> GroupStatus {
        GroupStatus(name: name, shares: 2, ioShares: 1, cpuWeight: 200, ioWeight: 150, members: 3, cpuUsageCPUs: 0.5, cpuUsagePercent: 25,
                    cpuTargetPercent: 50, usageUsec: 2_500_000, nrThrottled: 7, throttledUsec: 1_500_000,
                    ioReadBytesPerSecond: 0, ioWriteBytesPerSecond: 0)
    }

    /// Issue 20: a label per uid on every node is how Prometheus servers die: the busiest
    /// `metrics_users` users of each per_user group get their series, the rest add up into one.
    @Test func usersSeriesAreBoundedAndTheRestAddUp() {
        var rows = [Self.group("logins")]
        for (i, uid) in [1001, 1002, 1003, 1004, 1005].enumerated() {
            var u = Self.group("logins/user-\(uid)")
            u.parent = "logins"
            u.uid = UInt32(uid)
            u.user = uid == 1003 ? "carol" : nil
            u.cpuUsageCPUs = Double(i) * 0.1  // 1005 the busiest
            u.usageUsec = UInt64(1_000_000 * (i + 1))
            u.members = i + 1
            rows.append(u)
        }
        let report = StatusReport(agent: AgentStatus(pid: 1, startedAt: 0, uptimeSeconds: 1, cgroupRoot: "/", intervalSeconds: 1, cpus: 2, ticks: 1,
                                                     lastPassSeconds: nil, passSecondsMedian: nil, failures: nil),
                                  policy: PolicyStatus(path: "p", loadedAt: 0, lastReload: nil), groups: rows)
        let samples = MetricsMapping.samples(report, maxUsers: 2)
        let usage = samples.filter { $0.family.name == MetricFamilies.cpuUsage.name }
        let users = Dictionary(uniqueKeysWithValues: usage.compactMap { s in s.labels.first { $0.name == "user" }.map { ($0.value, s) } })
        #expect(Set(users.keys) == ["1005", "1004", "other"], "the two busiest by uid (no name), and the rest: \(users.keys.sorted())")
        #expect(users["other"]?.value == 6, "1001 + 1002 + 1003 used 1 + 2 + 3 s")
        #expect(users["other"]?.labels.first == MetricLabel("group", "logins"))
        #expect(samples.filter { $0.family.name == MetricFamilies.members.name && $0.labels.contains(MetricLabel("user", "other")) }.first?.value == 6)
        #expect(!samples.contains { $0.labels.contains(MetricLabel("group", "logins/user-1001")) }, "no series named by a user's cgroup")
        let named = MetricsMapping.samples(report, maxUsers: 5).filter { $0.family.name == MetricFamilies.cpuUsage.name }
        #expect(named.contains { $0.labels == [MetricLabel("group", "logins"), MetricLabel("user", "carol")] }, "a user's name where it resolves")
        #expect(!named.contains { $0.labels.contains(MetricLabel("user", "other")) }, "nobody left over")
    }

    @Test func aGroupMapsToItsSeriesInBaseUnits() {
        var g = Self.group("batch")
        g.pressureTotalUsec = 250_000
        g.idle = true
        var r = GroupRedistribution(allocationCPUs: 1.25, allocationPercent: 62.5, borrowedCPUs: 0, hungry: true, demand: "d", limit: "floor",
                                    pressurePercent: nil, fairnessFactor: 1.5, cpuMax: "max 100000", weightReason: "w",
                                    min: nil, max: nil, burst: nil, borrow: false)
        r.decayedUsageCPUs = 0.75
        r.entitlementCPUs = 1
        g.redistribution = r
        let byName = Dictionary(uniqueKeysWithValues: MetricsMapping.groupSamples(g).map { ($0.family.name, $0) })
        let expected: [(MetricFamily, Double)] = [
            (MetricFamilies.cpuUsage, 2.5), (MetricFamilies.throttledPeriods, 7), (MetricFamilies.throttledSeconds, 1.5),
            (MetricFamilies.pressureWaiting, 0.25), (MetricFamilies.cpuWeight, 200), (MetricFamilies.ioWeight, 150),
            (MetricFamilies.members, 3), (MetricFamilies.idle, 1), (MetricFamilies.allocation, 1.25), (MetricFamilies.allocationLimit, 1),
            (MetricFamilies.fairnessFactor, 1.5), (MetricFamilies.decayedUsage, 0.75), (MetricFamilies.entitlement, 1),
        ]
        #expect(byName.count == expected.count)
        for (f, v) in expected {
            #expect(byName[f.name]?.value == v, "\(f.name)")
            #expect(byName[f.name]?.labels.first == MetricLabel("group", "batch"))
        }
        #expect(byName[MetricFamilies.allocationLimit.name]?.labels == [MetricLabel("group", "batch"), MetricLabel("limit", "floor")])
    }

    @Test func unavailableReadingsAndAbsentDecisionsAreLeftOutNotZero() {
        var g = Self.group("web")
        g.usageUsec = nil
        g.nrThrottled = nil
        g.throttledUsec = nil
        g.cpuWeight = nil
        let names = Set(MetricsMapping.groupSamples(g).map(\.family.name))
        #expect(names == [MetricFamilies.ioWeight.name, MetricFamilies.members.name, MetricFamilies.idle.name])
    }

    @Test func familiesFollowPrometheusNaming() {
        let all = MetricFamilies.groupFamilies + [
            MetricFamilies.passes, MetricFamilies.passDuration, MetricFamilies.moves, MetricFamilies.restores, MetricFamilies.reloads,
            MetricFamilies.policyLoaded, MetricFamilies.events, MetricFamilies.eventOverflows, MetricFamilies.rescans,
            MetricFamilies.classificationLatency, MetricFamilies.info, MetricFamilies.diskIOShares,
            MetricFamilies.observing, MetricFamilies.wouldMove, MetricFamilies.wouldCPUWeight, MetricFamilies.wouldIOWeight, MetricFamilies.wouldMembers,
        ]
        #expect(Set(all.map(\.name)).count == all.count, "no name twice")
        for f in all {
            #expect(f.name.hasPrefix("fairshare_"), "\(f.name)")
            #expect(f.name.hasSuffix("_total") == (f.kind == .counter), "\(f.name): _total exactly for counters")
            #expect(!f.help.isEmpty)
        }
    }

    @Test func theCarryKeepsACounterMonotonicAcrossASourceReset() {
        var carry = CounterCarry()
        let key = SeriesKey(name: "c_total", labels: [MetricLabel("group", "a")])
        var exported: [Double] = []
        var total = 0.0
        for source in [10.0, 12, 1, 3, 3, 0.5] {
            total += carry.increment(key, to: source)
            exported.append(total)
        }
        // 1 after 12: the cgroup was made again; its new counter counts on from there.
        #expect(exported == [10, 12, 12, 14, 14, 14])
        #expect(carry.total(key) == 14)
    }

    @Test func theCarryForgetsSeriesItIsToldTo() {
        var carry = CounterCarry()
        for g in ["a", "b", "c"] { _ = carry.increment(SeriesKey(name: "c_total", labels: [MetricLabel("group", g)]), to: 1) }
        carry.retain { $0.labels.first?.value != "b" }
        #expect(carry.count == 2)
        #expect(carry.total(SeriesKey(name: "c_total", labels: [MetricLabel("group", "b")])) == 0)
    }

    @Test func theTallyCountsMovesAndRestoresByResult() {
        let id = { (pid: Int32) in ProcessIdentity(pid: pid, startTime: 1) }
        let g = GroupName("a")!
        let plan = Plan([
            .move(id(1), comm: "x", to: g, origin: "/", keys: []), .move(id(2), comm: "x", to: g, origin: "/", keys: []),
            .move(id(3), comm: "x", to: g, origin: "/", keys: []), .restore(id(4), comm: "y", from: g, to: "/"),
            .createGroup(g),
        ])
        let tally = StepTally(plan, [.done, .gone, .failed(cause: "EACCES", message: "m"), .skipped("s"), .done])
        #expect(tally.moves == ["done": 1, "gone": 1, "failed": 1])
        #expect(tally.restores == ["skipped": 1])
    }
}

struct MetricsTextfileCase: CustomTestStringConvertible, Sendable {
    var value: String
    var parsed: String??
    var error: String?
    var testDescription: String { "metrics_textfile = \(value)" }
}

@Test(arguments: [
    MetricsTextfileCase(value: #""/var/lib/prometheus/node-exporter/fairshare.prom""#, parsed: "/var/lib/prometheus/node-exporter/fairshare.prom"),
    MetricsTextfileCase(value: #""/srv/metrics/x.prom""#, parsed: "/srv/metrics/x.prom"),
    MetricsTextfileCase(value: #""""#, parsed: .some(nil)),
    MetricsTextfileCase(value: #""relative/x.prom""#, error: "is not an absolute path"),
    MetricsTextfileCase(value: #""/var/lib/x.txt""#, error: "does not end in .prom"),
    MetricsTextfileCase(value: #""/var/lib/.prom""#, error: "does not end in .prom"),
    MetricsTextfileCase(value: #""/var/lib/../../proc/x.prom""#, error: "'.' or '..' component"),
    MetricsTextfileCase(value: #""/var//x.prom""#, error: "empty, '.' or '..' component"),
    MetricsTextfileCase(value: #""/proc/sys/x.prom""#, error: "beneath /proc"),
    MetricsTextfileCase(value: #""/sys/fs/cgroup/x.prom""#, error: "beneath /sys"),
    MetricsTextfileCase(value: #""/dev/shm/x.prom""#, error: "beneath /dev"),
    MetricsTextfileCase(value: #""/procfs/x.prom""#, parsed: "/procfs/x.prom"),
    // 2100 characters (under the parser's limit on one string), 4206 bytes.
    MetricsTextfileCase(value: "\"/" + String(repeating: "é", count: 2100) + ".prom\"", error: "expected at most 4096"),
    MetricsTextfileCase(value: "42", error: "metrics_textfile must be a string"),
])
func metricsTextfileKey(_ c: MetricsTextfileCase) throws {
    let text = "[agent]\nmetrics_textfile = \(c.value)\n\n[[group]]\nname = \"a\"\nshares = 1\n[group.match]\ncomm = [\"x\"]\n"
    if let error = c.error {
        #expect {
            _ = try PolicyParser.parse(text, file: "/etc/fairshare/policy.toml")
        } throws: { e in
            let d = "\(e)"
            return d.contains("/etc/fairshare/policy.toml:2:") && d.contains(error)
        }
    } else {
        let policy = try PolicyParser.parse(text, file: "/etc/fairshare/policy.toml")
        #expect(policy.agent.metricsTextfile == c.parsed!)
    }
}

@Test func metricsTextfileDefaultsToNodeExportersDirectory() throws {
    let policy = try PolicyParser.parse("[[group]]\nname = \"a\"\nshares = 1\n[group.match]\ncomm = [\"x\"]\n", file: "p.toml")
    #expect(policy.agent.metricsTextfile == "/var/lib/prometheus/node-exporter/fairshare.prom")
}
