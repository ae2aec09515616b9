import FairshareCore
import FairshareEdge
import FairshareTestSupport
import Foundation
import Testing
@testable import FairshareAgent

#if canImport(Glibc)
import Glibc
#endif

/// The text format as Prometheus reads it: HELP and TYPE lines per family, and each sample
/// line's series (name and labels, as printed) with its value.
struct Exposition {
    var help: [String: Int] = [:]
    var types: [String: [String]] = [:]
    var samples: [String: Double] = [:]
    var lines: [String] = []

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            lines.append(String(line))
            if line.hasPrefix("# HELP ") {
                help[String(line.split(separator: " ")[2]), default: 0] += 1
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                types[String(parts[2]), default: []].append(String(parts[3]))
            } else if let space = line.lastIndex(of: " ") {
                samples[String(line[..<space])] = Double(line[line.index(after: space)...])
            }
        }
    }

    func series(of family: String) -> [String] {
        samples.keys.filter { $0 == family || $0.hasPrefix(family + "{") }.sorted()
    }
}

func handMadeReport(usageUsec: UInt64 = 2_500_000, groups names: [String] = ["batch", "web"]) -> StatusReport {
    var events = ProcessEventBook(unavailable: nil)
    var counts = EventCounts()
    counts.exec = 5
    counts.fork = 3
    events.received(counts, malformed: 0)
    events.overflowed()
    let groups = names.map { name -> GroupStatus in
        var g = GroupStatus(name: name, shares: 2, ioShares: 1, cpuWeight: 200, ioWeight: 150, members: 3, cpuUsageCPUs: 0.5,
                            cpuUsagePercent: 25, cpuTargetPercent: 50, usageUsec: usageUsec, nrThrottled: 7, throttledUsec: 1_500_000,
                            ioReadBytesPerSecond: 0, ioWriteBytesPerSecond: 0)
        if name == "batch" {
            g.pressureTotalUsec = 250_000
            g.ioBFQWeight = 15
            g.idle = true
            var r = GroupRedistribution(allocationCPUs: 1.25, allocationPercent: 62.5, borrowedCPUs: 0, hungry: true, demand: "d", limit: "share",
                                        pressurePercent: nil, fairnessFactor: 1.5, cpuMax: "max 100000", weightReason: "w",
                                        min: nil, max: nil, burst: nil, borrow: false)
            r.decayedUsageCPUs = 0.75
            r.entitlementCPUs = 1
            g.redistribution = r
        } else {
            g.usageUsec = nil  // cpu.stat unreadable: no series rather than a zero
            g.members = 0
        }
        return g
    }
    var report = StatusReport(
        agent: AgentStatus(pid: 7, startedAt: 1, uptimeSeconds: 2, cgroupRoot: "/sys/fs/cgroup/fairshare", intervalSeconds: 2, cpus: 2, ticks: 3,
                           events: events.status),
        policy: PolicyStatus(path: "/etc/fairshare/policy.toml", loadedAt: 1_790_000_000.5, lastReload: nil), groups: groups)
    report.ioDevices = IOShares.statuses(IODisks(
        devices: [IODevice(name: "vda", device: "254:0", schedulers: "mq-deadline [bfq] none", rotational: true),
                  IODevice(name: "vdb", device: "254:16", schedulers: "[mq-deadline] bfq none", rotational: true)],
        costQoS: "", costModel: ""))
    return report
}

@Suite struct MetricsExpositionTests {
    @Test func aHandMadeReportRendersEveryFamilyOnceWithItsValues() {
        var m = AgentMetrics(version: "1.2.3")
        m.update(handMadeReport())
        let text = m.render()
        let e = Exposition(text)
        #expect(!text.contains("# EOF"), "text format 0.0.4, not OpenMetrics")
        let expected: [String: Double] = [
            #"fairshare_group_cpu_usage_seconds_total{group="batch"}"#: 2.5,
            #"fairshare_group_cpu_cfs_throttled_periods_total{group="batch"}"#: 7,
            #"fairshare_group_cpu_cfs_throttled_seconds_total{group="batch"}"#: 1.5,
            #"fairshare_group_pressure_cpu_waiting_seconds_total{group="batch"}"#: 0.25,
            #"fairshare_group_cpu_weight{group="batch"}"#: 200,
            #"fairshare_group_io_weight{group="batch"}"#: 150,
            #"fairshare_group_io_bfq_weight{group="batch"}"#: 15,
            #"fairshare_disk_io_shares_in_force{disk="vda",through="bfq"}"#: 1,
            #"fairshare_disk_io_shares_in_force{disk="vdb",through="none"}"#: 0,
            #"fairshare_group_members{group="batch"}"#: 3,
            #"fairshare_group_members{group="web"}"#: 0,
            #"fairshare_group_allocation_cpus{group="batch"}"#: 1.25,
            #"fairshare_group_allocation_limit_info{group="batch",limit="share"}"#: 1,
            #"fairshare_group_fairness_factor{group="batch"}"#: 1.5,
            #"fairshare_group_decayed_usage_cpus{group="batch"}"#: 0.75,
            #"fairshare_group_entitlement_cpus{group="batch"}"#: 1,
            #"fairshare_group_idle{group="batch"}"#: 1,
            #"fairshare_group_idle{group="web"}"#: 0,
            #"fairshare_policy_loaded_timestamp_seconds"#: 1_790_000_000.5,
            #"fairshare_process_events_total{kind="exec"}"#: 5,
            #"fairshare_process_events_total{kind="fork"}"#: 3,
            #"fairshare_process_event_overflows_total"#: 1,
            #"fairshare_rescans_total"#: 0,
            #"fairshare_agent_info{version="1.2.3"}"#: 1,
            #"fairshare_passes_total"#: 0,
            #"fairshare_process_moves_total{result="done"}"#: 0,
            #"fairshare_process_restores_total{result="failed"}"#: 0,
            #"fairshare_policy_reloads_total{result="applied"}"#: 0,
            #"fairshare_policy_reloads_total{result="rejected"}"#: 0,
            #"fairshare_pass_duration_seconds_count"#: 0,
            #"fairshare_classification_latency_seconds_count"#: 0,
        ]
        for (series, value) in expected { #expect(e.samples[series] == value, "\(series)") }
        #expect(e.series(of: "fairshare_group_cpu_usage_seconds_total") == [#"fairshare_group_cpu_usage_seconds_total{group="batch"}"#],
                "web's cpu.stat was unreadable: no series")
        #expect(e.series(of: "fairshare_group_allocation_cpus").count == 1, "web has no decision yet")
        let kinds: [String: String] = [
            "fairshare_group_cpu_usage_seconds_total": "counter", "fairshare_group_cpu_weight": "gauge", "fairshare_passes_total": "counter",
            "fairshare_pass_duration_seconds": "histogram", "fairshare_classification_latency_seconds": "histogram",
            "fairshare_process_moves_total": "counter", "fairshare_agent_info": "gauge",
        ]
        for (family, kind) in kinds { #expect(e.types[family] == [kind], "\(family)") }
        for (family, types) in e.types {
            #expect(types.count == 1, "TYPE once: \(family)")
            #expect(e.help[family] == 1, "HELP once: \(family)")
            #expect(family.hasPrefix("fairshare_"))
        }
        #expect(e.types.count == MetricFamilies.groupFamilies.count + 13, "every family present (the would_ ones only in observe mode)")
    }

    @Test func labelValuesAreEscaped() {
        var m = AgentMetrics(version: "1")
        var report = handMadeReport(groups: ["web"])
        report.groups[0].name = #"a"b\c"#
        m.update(report)
        #expect(m.render().contains(#"fairshare_group_members{group="a\"b\\c"} 0"#))
    }

    @Test func countersStayMonotonicWhenTheKernelCounterGoesBack() {
        var m = AgentMetrics(version: "1")
        var exported: [Double?] = []
        for usec: UInt64 in [10_000_000, 12_000_000, 1_000_000, 3_000_000] {
            m.update(handMadeReport(usageUsec: usec, groups: ["batch"]))
            exported.append(Exposition(m.render()).samples[#"fairshare_group_cpu_usage_seconds_total{group="batch"}"#])
        }
        // The group's cgroup was made again (1 s after 12 s): the counter goes on from 12.
        #expect(exported == [10, 12, 12, 14])
    }

    @Test func aGroupRemovedFromThePolicyLosesItsSeries() {
        var m = AgentMetrics(version: "1")
        m.update(handMadeReport(groups: ["batch", "web", "gone"]))
        let before = m.statusSeries
        #expect(m.render().contains(#"group="gone""#))
        m.update(handMadeReport(groups: ["batch", "web"]))
        #expect(!m.render().contains(#"group="gone""#))
        #expect(m.statusSeries < before)
        // batch's four counters, web's two (its cpu.stat usage is unreadable), the agent's ten (event kinds, overflows, rescans).
        #expect(m.carriedCounters == 4 + 2 + 10, "nothing of gone")
        // A thousand groups that come and go leave nothing behind.
        for i in 0..<1000 { m.update(handMadeReport(groups: ["batch", "g\(i)"])) }
        m.update(handMadeReport(groups: ["batch"]))
        #expect(m.statusSeries == m.statusSeries(afterUpdating: handMadeReport(groups: ["batch"])))
        #expect(m.carriedCounters == 4 + 10)
    }
}

extension AgentMetrics {
    /// The series a fresh registry has for `report`.
    func statusSeries(afterUpdating report: StatusReport) -> Int {
        var fresh = AgentMetrics(version: "1")
        fresh.update(report)
        return fresh.statusSeries
    }
}

/// The agent's side: counted where passes, outcomes and reloads happen; the textfile through
/// the fake file system.
@Suite struct AgentMetricsTests {
    static let path = AgentSettings.defaultMetricsTextfile
    static let directory = "/var/lib/prometheus/node-exporter"
    static let temporary = "/var/lib/prometheus/node-exporter/.fairshare.prom.tmp"

    static func policy(textfile: String? = nil) -> String {
        threeGroups.replacingFirst("[agent]\n", with: "[agent]\n" + (textfile.map { "metrics_textfile = \"\($0)\"\n" } ?? ""))
    }

    @Test func passesMovesAndReloadsAreCounted() async throws {
        let h = try Harness(policy: Self.policy())
        h.spawn(100, "burn_a")
        h.spawn(101, "burn_b")
        await h.agent.tick()
        await h.agent.tick()
        h.rewrite("not a policy [")
        await h.agent.reload()
        let e = Exposition(await h.agent.metricsText())
        #expect(e.samples["fairshare_passes_total"] == 2)
        #expect(e.samples["fairshare_pass_duration_seconds_count"] == 2)
        #expect(e.samples[#"fairshare_process_moves_total{result="done"}"#] == 2)
        #expect(e.samples[#"fairshare_policy_reloads_total{result="rejected"}"#] == 1)
        #expect(e.samples[#"fairshare_policy_reloads_total{result="applied"}"#] == 0)
        #expect(e.samples[#"fairshare_group_members{group="low"}"#] == 1)
        #expect(e.samples[#"fairshare_agent_info{version="9.9.9"}"#] == 1)
        let status = await h.agent.status()
        for g in status.groups {
            #expect(e.samples["fairshare_group_members{group=\"\(g.name)\"}"] == Double(g.members))
            #expect(e.samples["fairshare_group_cpu_weight{group=\"\(g.name)\"}"] == g.cpuWeight.map(Double.init))
        }
    }

    @Test func anEventMoveRecordsItsLatency() async throws {
        let h = try Harness(policy: ProcessEventTests.policy, events: FakeProcessEvents())
        h.spawn(100, "sh")
        await h.agent.tick()
        h.kernel.change(100) { $0.comm = "cc1"; $0.argv = ["cc1"] }
        await h.agent.handleEvents(.events([.exec(pid: 100, tgid: 100)], malformed: 0))
        let e = Exposition(await h.agent.metricsText())
        #expect(e.samples["fairshare_classification_latency_seconds_count"] == 1)
        #expect(e.samples[#"fairshare_process_events_total{kind="exec"}"#] == 1)
    }

    @Test func theTextfileIsWrittenAtomicallyEveryReportInterval() async throws {
        let h = try Harness(policy: Self.policy())
        h.metricsFiles.makeDirectory(Self.directory)
        h.spawn(100, "burn_a")
        await h.agent.tick()
        #expect(h.metricsFiles.operations == [.create(Self.temporary, mode: 0o644), .rename(Self.temporary, to: Self.path)])
        #expect(!Self.temporary.hasSuffix(".prom"), "the collector reads only *.prom")
        let written = try #require(h.metricsFiles.files[Self.path])
        #expect(written.mode == 0o644)
        #expect(h.metricsFiles.files[Self.temporary] == nil)
        #expect(written.text == (await h.agent.metricsText()), "the same text as fairshare metrics")

        h.metricsFiles.clearOperations()
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()
        #expect(h.metricsFiles.operations.isEmpty, "not every pass: every report_interval (10s)")
        h.clock.advance(by: .seconds(10))
        await h.agent.tick()
        #expect(h.metricsFiles.operations.count == 2)
        #expect(Exposition(h.metricsFiles.files[Self.path]!.text).samples["fairshare_passes_total"] == 3)
    }

    @Test func aGracefulStopRemovesTheTextfile() async throws {
        let h = try Harness(policy: Self.policy())
        h.metricsFiles.makeDirectory(Self.directory)
        await h.agent.tick()
        #expect(h.metricsFiles.files[Self.path] != nil)
        await h.agent.shutdown()
        #expect(h.metricsFiles.files[Self.path] == nil)
        #expect(h.metricsFiles.operations.last == .remove(Self.path))
    }

    @Test func withoutTheDirectoryNothingIsWrittenAndThatIsToldOnce() async throws {
        let h = try Harness(policy: Self.policy())
        await h.agent.tick()
        h.clock.advance(by: .seconds(11))
        await h.agent.tick()
        #expect(h.metricsFiles.operations.isEmpty)
        #expect(h.metricsFiles.files.isEmpty)
        let told = h.journal.all.filter { $0.contains { $0.0 == "MESSAGE" && $0.1.contains("metrics textfile not written") } }
        #expect(told.count == 1)
        #expect((await h.agent.status()).agent.failures?.isEmpty ?? true, "a missing directory is not a failure")
    }

    @Test func anEmptyPathDisablesTheTextfile() async throws {
        let h = try Harness(policy: Self.policy(textfile: ""))
        h.metricsFiles.makeDirectory(Self.directory)
        await h.agent.tick()
        #expect(h.metricsFiles.operations.isEmpty)
    }

    @Test func aFailedWriteIsReportedKeptOpenAndRecovers() async throws {
        let h = try Harness(policy: Self.policy())
        h.metricsFiles.makeDirectory(Self.directory)
        h.metricsFiles.failCreate(EACCES)
        await h.agent.tick()
        let target = "metrics textfile \(Self.path)"
        #expect((await h.agent.status()).agent.failures?.map(\.target) == [target])
        #expect(h.metricsFiles.operations.contains(.remove(Self.temporary)), "no temporary left behind")
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()
        #expect((await h.agent.status()).agent.failures?.map(\.target) == [target], "open between report intervals")
        h.metricsFiles.failCreate(nil)
        h.clock.advance(by: .seconds(10))
        await h.agent.tick()
        #expect((await h.agent.status()).agent.failures?.isEmpty ?? true)
        #expect(h.journal.events("recovered").count == 1)
        #expect(h.metricsFiles.files[Self.path] != nil)
    }

    @Test func aReloadRewritesTheTextfileAtItsNewPath() async throws {
        let h = try Harness(policy: Self.policy())
        h.metricsFiles.makeDirectory(Self.directory)
        h.metricsFiles.makeDirectory("/srv/m")
        await h.agent.tick()
        h.rewrite(Self.policy(textfile: "/srv/m/f.prom"))
        await h.agent.reload()
        let text = try #require(h.metricsFiles.files["/srv/m/f.prom"]?.text)
        #expect(Exposition(text).samples[#"fairshare_policy_reloads_total{result="applied"}"#] == 1)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}
