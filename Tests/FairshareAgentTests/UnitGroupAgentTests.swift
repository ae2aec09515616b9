import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// low 1 : mid 2 : high 5 moved by comm, and a unit-backed group "db" with 2 shares.
let withUnits = threeGroups + """


    [[group]]
    name = "db"
    shares = 2
    io_shares = 3
    [group.match]
    units = ["postgresql.service", "docker-*.scope"]
    """

/// A machine with system.slice (cpu and io enabled for its children) and postgresql running.
func unitMachine(_ kernel: FakeKernel, _ units: FakeUnitManager) {
    kernel.makeCgroup("/system.slice", enable: ["cpu", "io"])
    units.addUnit("postgresql.service", cgroup: "/system.slice/postgresql.service")
    units.addUnit("cron.service", cgroup: "/system.slice/cron.service")
}

@Suite struct UnitGroupAgentTests {
    static let notSet = UnitWeights(cpu: nil, io: nil)

    @Test func weightsAreSetOnceOnTheCommonScaleAndAgainOnlyOnChange() async throws {
        let h = try Harness(policy: withUnits, setUp: unitMachine)
        await h.agent.tick()
        // Shares 2 beside 1 : 2 : 5: CPUWeight 200 (twice a default unit); io_shares 3: IOWeight 300.
        #expect(h.units.sets(of: "postgresql.service") == [UnitWeights(cpu: 200, io: 300)])
        #expect(h.kernel.file(.cpuWeight, of: "/system.slice/postgresql.service") == "200", "systemd realized it")
        #expect(h.units.sets(of: "cron.service").isEmpty, "a unit no pattern names is never touched")
        #expect(h.journal.events("unit_weights").first?["FAIRSHARE_UNIT"] == ["postgresql.service"])
        await h.agent.tick()
        await h.agent.tick()
        #expect(h.units.sets(of: "postgresql.service").count == 1, "unchanged weights are not sent again: \(h.units.calls)")
        #expect(h.units.calls.filter { $0 == .get("postgresql.service") }.count == 1, "the unit's own weights are read once")

        h.rewrite(withUnits.replacingOccurrences(of: "shares = 2\nio_shares = 3", with: "shares = 4\nio_shares = 3"))
        #expect(await h.agent.reload().applied)
        #expect(h.units.sets(of: "postgresql.service").last == UnitWeights(cpu: 400, io: 300))
        #expect(h.units.sets(of: "postgresql.service").count == 2)
    }

    @Test func aUnitsProcessesAreNeverMovedAndItsCgroupNeverWritten() async throws {
        let h = try Harness(policy: withUnits, setUp: unitMachine)
        // burn_a matches low by comm, but it runs in postgresql.service: it stays there.
        h.spawn(10, "burn_a", in: "/system.slice/postgresql.service")
        h.spawn(11, "postgres", in: "/system.slice/postgresql.service")
        h.spawn(12, "burn_a", in: "/system.slice/cron.service")
        for _ in 0..<3 { await h.agent.tick() }
        #expect(h.kernel.cgroupOf(10) == "/system.slice/postgresql.service")
        #expect(h.kernel.cgroupOf(11) == "/system.slice/postgresql.service")
        #expect(h.kernel.cgroupOf(12) == "/fairshare/low", "outside every unit of a unit group the rules apply as before")
        let intoUnits = h.kernel.writes.filter { $0.0.hasPrefix("/sys/fs/cgroup/system.slice/postgresql.service") }
        #expect(intoUnits.isEmpty, "the agent never writes a file of a unit's cgroup: \(intoUnits)")
        #expect(!h.kernel.exists("/fairshare/db"), "a unit-backed group has no cgroup of the agent's")
        let status = await h.agent.status()
        #expect(status.groups.first { $0.name == "db" }?.members == 2)

        let e = try #require(await h.agent.explain(pid: 10))
        #expect(e.group == "db")
        #expect(e.reason == "in unit postgresql.service (group db): not moved, the unit's weight is set through systemd")
        #expect(e.cgroup == "/system.slice/postgresql.service")
    }

    @Test func untilSystemdAnswersNoProcessIsMoved() async throws {
        let h = try Harness(policy: withUnits, setUp: unitMachine)
        h.units.inject(method: "ListUnitsByPatterns", name: "org.freedesktop.DBus.Error.NoReply", message: "Did not receive a reply", times: 2)
        h.spawn(10, "burn_a", in: "/system.slice/postgresql.service")
        h.spawn(12, "burn_b")
        await h.agent.tick()
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/system.slice/postgresql.service", "its unit is not known yet: not moved")
        #expect(h.kernel.cgroupOf(12) == "/origin", "no process is moved while the units are unknown")
        let errors = h.journal.events("error")
        #expect(errors.count == 1, "reported once, not every pass: \(errors)")
        #expect(errors.first?["MESSAGE"]?.first?.contains("ListUnitsByPatterns: org.freedesktop.DBus.Error.NoReply: Did not receive a reply") == true)
        #expect(errors.first?["MESSAGE"]?.first?.contains("moving no process until systemd answers") == true)
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/system.slice/postgresql.service")
        #expect(h.kernel.cgroupOf(12) == "/fairshare/mid", "systemd answered: enforcement goes on")
        #expect(h.units.sets(of: "postgresql.service").count == 1)
    }

    @Test func aListingFailureLaterKeepsTheLastListing() async throws {
        let h = try Harness(policy: withUnits, setUp: unitMachine)
        h.spawn(10, "burn_a", in: "/system.slice/postgresql.service")
        await h.agent.tick()
        h.units.inject(method: "ListUnitsByPatterns", name: "org.freedesktop.DBus.Error.NoReply", message: "timeout")
        h.spawn(12, "burn_b")
        await h.agent.tick()
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/system.slice/postgresql.service")
        #expect(h.kernel.cgroupOf(12) == "/fairshare/mid")
        #expect(h.units.calls.filter { if case .set = $0 { true } else { false } }.count == 1, "nothing restored because of a failed listing")
    }

    @Test func unitsThatAppearLaterAreWeightedAndGoneOnesForgotten() async throws {
        let h = try Harness(policy: withUnits, setUp: unitMachine)
        await h.agent.tick()
        // A container starts: its scope matches docker-*.scope.
        h.units.addUnit("docker-abc.scope", cgroup: "/system.slice/docker-abc.scope", weights: UnitWeights(cpu: 50, io: nil))
        h.spawn(20, "burn_a", in: "/system.slice/docker-abc.scope")
        await h.agent.tick()
        #expect(h.units.sets(of: "docker-abc.scope") == [UnitWeights(cpu: 200, io: 300)])
        #expect(h.kernel.cgroupOf(20) == "/system.slice/docker-abc.scope")
        var db = try #require(await h.agent.status().groups.first { $0.name == "db" })
        #expect(db.units?.map(\.name) == ["docker-abc.scope", "postgresql.service"])

        // The container ends: a transient scope is gone altogether. Giving its weights back
        // finds no unit: it is forgotten quietly.
        h.units.removeUnit("docker-abc.scope")
        h.kernel.kill(20)
        await h.agent.tick()
        #expect(h.units.sets(of: "docker-abc.scope") == [UnitWeights(cpu: 200, io: 300), UnitWeights(cpu: 50, io: nil)])
        #expect(h.journal.events("error").isEmpty, "\(h.journal.events("error"))")
        await h.agent.tick()
        #expect(h.units.sets(of: "docker-abc.scope").count == 2, "forgotten: not tried again")
        db = try #require(await h.agent.status().groups.first { $0.name == "db" })
        #expect(db.units?.map(\.name) == ["postgresql.service"])

        // postgresql stops but stays loaded: it gets its own weights back at once.
        h.units.stopUnit("postgresql.service")
        await h.agent.tick()
        #expect(h.units.sets(of: "postgresql.service").last == Self.notSet)
        #expect(h.units.unit("postgresql.service")?.weights == Self.notSet)
        #expect(h.journal.events("unit_restored").contains { $0["FAIRSHARE_UNIT"] == ["postgresql.service"] })
        // It starts again: its own weights are read afresh (not the agent's) and set again.
        h.units.addUnit("postgresql.service", cgroup: "/system.slice/postgresql.service")
        await h.agent.tick()
        #expect(h.units.sets(of: "postgresql.service").last == UnitWeights(cpu: 200, io: 300))
        await h.agent.shutdown()
        #expect(h.units.unit("postgresql.service")?.weights == Self.notSet)
    }

    @Test func shutdownGivesEveryUnitItsOwnWeightsBack() async throws {
        let h = try Harness(policy: withUnits) { kernel, units in
            kernel.makeCgroup("/system.slice", enable: ["cpu", "io"])
            units.addUnit("postgresql.service", cgroup: "/system.slice/postgresql.service", weights: UnitWeights(cpu: 150, io: nil))
            units.addUnit("docker-1.scope", cgroup: "/system.slice/docker-1.scope")
        }
        await h.agent.tick()
        #expect(h.units.unit("postgresql.service")?.weights == UnitWeights(cpu: 200, io: 300))
        await h.agent.shutdown()
        #expect(h.units.unit("postgresql.service")?.weights == UnitWeights(cpu: 150, io: nil), "CPUWeight=150 as the admin had it; IOWeight not set")
        #expect(h.units.unit("docker-1.scope")?.weights == Self.notSet)
        #expect(h.kernel.file(.cpuWeight, of: "/system.slice/docker-1.scope") == "100")
        #expect(h.journal.events("unit_restored").count == 2)
    }

    @Test func aGroupLeavingThePolicyGivesItsUnitsBack() async throws {
        let h = try Harness(policy: withUnits, setUp: unitMachine)
        await h.agent.tick()
        h.rewrite(threeGroups)
        #expect(await h.agent.reload().applied)
        #expect(h.units.unit("postgresql.service")?.weights == Self.notSet)
        h.units.clearCalls()
        await h.agent.tick()
        #expect(h.units.calls.isEmpty, "no unit groups: systemd is not asked at all: \(h.units.calls)")
    }

    @Test func dbusErrorsAreReportedWithTheUnitOnceAndTheAgentKeepsRunning() async throws {
        let h = try Harness(policy: withUnits, setUp: unitMachine)
        h.units.addUnit("docker-1.scope", cgroup: "/system.slice/docker-1.scope")
        h.units.inject(method: "SetUnitProperties", unit: "postgresql.service", name: "org.freedesktop.DBus.Error.AccessDenied", message: "Access denied")
        h.units.inject(method: "Get", unit: "docker-1.scope", name: "org.freedesktop.DBus.Error.Failed", message: "Input/output error", times: 1)
        h.spawn(12, "burn_b")
        for _ in 0..<3 { await h.agent.tick() }
        #expect(h.kernel.cgroupOf(12) == "/fairshare/mid", "the agent's own groups work as before")
        let errors = h.journal.events("error")
        let denied = errors.filter { $0["FAIRSHARE_UNIT"] == ["postgresql.service"] }
        #expect(denied.count == 1, "reported once: \(errors)")
        let message = try #require(denied.first?["MESSAGE"]?.first)
        #expect(message.contains("SetUnitProperties for postgresql.service: org.freedesktop.DBus.Error.AccessDenied: Access denied"), "\(message)")
        #expect(denied.first?["FAIRSHARE_GROUP"] == ["db"])
        #expect(errors.contains { $0["FAIRSHARE_UNIT"] == ["docker-1.scope"] && $0["MESSAGE"]?.first?.contains("cannot read the weights of unit docker-1.scope") == true })
        #expect(h.units.sets(of: "docker-1.scope") == [UnitWeights(cpu: 200, io: 300)], "read again next pass, then set")
        #expect(h.units.sets(of: "postgresql.service").count == 3, "tried again every pass")
        h.units.clearInjections()
        await h.agent.tick()
        #expect(h.units.unit("postgresql.service")?.weights == UnitWeights(cpu: 200, io: 300))
        await h.agent.tick()
        #expect(h.units.sets(of: "postgresql.service").count == 4)
    }

    @Test func aUnitCgroupIsSampledAndAGlobGroupSumsItsUnits() async throws {
        let h = try Harness(policy: withUnits) { kernel, units in
            kernel.makeCgroup("/system.slice", enable: ["cpu", "io"])
            units.addUnit("docker-1.scope", cgroup: "/system.slice/docker-1.scope")
            units.addUnit("docker-2.scope", cgroup: "/system.slice/docker-2.scope")
        }
        h.spawn(10, "dockerd-child", in: "/system.slice/docker-1.scope")
        h.kernel.setUsage("/system.slice/docker-1.scope", usageUsec: 10_000_000)
        h.kernel.setUsage("/system.slice/docker-2.scope", usageUsec: 90_000_000)
        await h.agent.tick()
        h.clock.advance(by: .seconds(2))
        h.kernel.setUsage("/system.slice/docker-1.scope", usageUsec: 11_000_000)   // 0.5 CPU
        h.kernel.setUsage("/system.slice/docker-2.scope", usageUsec: 92_000_000)   // 1 CPU
        await h.agent.tick()
        var db = try #require(await h.agent.status().groups.first { $0.name == "db" })
        #expect(abs((db.cpuUsageCPUs ?? .nan) - 1.5) < 1e-9)
        #expect(abs((db.cpuUsagePercent ?? .nan) - 75) < 1e-9)
        #expect(db.usageUsec == 103_000_000)
        #expect(db.cpuTargetPercent == 0 && db.redistribution == nil, "unit groups take no part in redistribution")
        #expect(db.backing == "unit")
        #expect(db.cpuWeight == 200 && db.ioWeight == 300)
        // docker-2 ends and its cgroup goes: it drops out, no error, no jump.
        h.units.removeUnit("docker-2.scope")
        try h.kernel.filesystem.remove(CgroupPath("/system.slice/docker-2.scope")!)
        h.clock.advance(by: .seconds(2))
        h.kernel.setUsage("/system.slice/docker-1.scope", usageUsec: 13_000_000)   // 1 CPU
        await h.agent.tick()
        db = try #require(await h.agent.status().groups.first { $0.name == "db" })
        #expect(abs((db.cpuUsageCPUs ?? .nan) - 1) < 1e-9)
        #expect(h.journal.events("error").isEmpty && h.journal.events("warning").isEmpty, "\(h.journal.events("warning"))")
        // A unit whose cgroup vanished before systemd noticed drops out of the sample as well.
        h.kernel.kill(10)
        try h.kernel.filesystem.remove(CgroupPath("/system.slice/docker-1.scope")!)
        h.clock.advance(by: .seconds(2))
        await h.agent.tick()
        db = try #require(await h.agent.status().groups.first { $0.name == "db" })
        #expect(db.cpuUsageCPUs == 0)
        #expect(h.journal.events("error").isEmpty && h.journal.events("warning").isEmpty)
    }

    @Test func statusSaysBackingAndTheShareOfTheMachine() async throws {
        let h = try Harness(policy: withUnits, setUp: unitMachine)
        // The agent in its leaf under the root, as under systemd (weight 10000, populated).
        h.kernel.makeCgroup("/fairshare/_agent")
        h.kernel.setFile(.cpuWeight, of: "/fairshare/_agent", to: "10000")
        h.spawn(Harness.agentPID, "fairshare", in: "/fairshare/_agent")
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        h.spawn(20, "postgres", in: "/system.slice/postgresql.service")
        h.spawn(21, "cron", in: "/system.slice/cron.service")
        h.spawn(22, "bash", in: "/user.slice/user-1000.slice")
        await h.agent.tick()
        await h.agent.tick()
        let s = await h.agent.status()
        let byName = Dictionary(uniqueKeysWithValues: s.groups.map { ($0.name, $0) })
        #expect(byName["low"]?.backing == "agent" && byName["db"]?.backing == "unit")
        #expect(byName["low"]?.units == nil)
        #expect(byName["db"]?.units == [UnitStatus(name: "postgresql.service", cgroup: "/system.slice/postgresql.service")])
        // The mount root's populated children, all weight 100: /fairshare, /system.slice and
        // /user.slice (/origin is empty once 10 and 11 moved). In /fairshare low and mid have
        // members and high has none; the agent's leaf does not count.
        let third = 100.0 / 3
        #expect(abs((byName["low"]?.machineSharePercent ?? 0) - third * 100 / 300) < 1e-9, "\(String(describing: byName["low"]?.machineSharePercent))")
        #expect(abs((byName["mid"]?.machineSharePercent ?? 0) - third * 200 / 300) < 1e-9)
        #expect(abs((byName["high"]?.machineSharePercent ?? 0) - third * 500 / 800) < 1e-9, "the empty group's share if it were busy")
        // postgresql 200 against cron 100 within system.slice's third.
        #expect(abs((byName["db"]?.machineSharePercent ?? 0) - third * 200 / 300) < 1e-9)
        #expect(h.kernel.cgroupOf(Harness.agentPID) == "/fairshare/_agent")

        // The snapshot is read every fifth pass: high gets a member, and its share falls to
        // 500/800 of the third once the hierarchy is read again.
        h.spawn(12, "burn_c")
        await h.agent.tick()
        let stale = await h.agent.status().groups.first { $0.name == "low" }?.machineSharePercent
        #expect(abs((stale ?? 0) - third * 100 / 300) < 1e-9, "read on pass 1 and 6, not on pass 3")
        for _ in 0..<3 { await h.agent.tick() }
        let fresh = await h.agent.status().groups.first { $0.name == "low" }?.machineSharePercent
        #expect(abs((fresh ?? 0) - third * 100 / 800) < 1e-9, "\(String(describing: fresh))")
    }
}

@Suite struct UnitGroupJSONTests {
    @Test func newStatusFieldsAreOptionalForSchemaVersion1Readers() throws {
        let old = #"{"name":"low","shares":1,"io_shares":1,"cpu_weight":100,"io_weight":100,"members":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_target_pct":0,"usage_usec":0,"nr_throttled":0,"throttled_usec":0,"io_read_bps":0,"io_write_bps":0}"#
        let decoded = try JSONDecoder().decode(GroupStatus.self, from: Data(old.utf8))
        #expect(decoded.backing == nil && decoded.units == nil && decoded.machineSharePercent == nil)
        var g = decoded
        g.backing = "unit"
        g.units = [UnitStatus(name: "a.service", cgroup: "/system.slice/a.service")]
        g.machineSharePercent = 12.5
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(g), as: UTF8.self)
        #expect(text.contains(#""backing":"unit""#))
        #expect(text.contains(#""machine_share_pct":12.5"#))
        #expect(text.contains(#""units":[{"cgroup":"/system.slice/a.service","name":"a.service"}]"#), "\(text)")
        #expect(!String(decoding: try encoder.encode(decoded), as: UTF8.self).contains("backing"), "absent, not null, when unknown")
    }
}

@Suite struct UnitGroupUnreachableSystemdTests {
    @Test func aTimeoutEndsThePassesCallsSoAHungSystemdCostsOneTimeout() async throws {
        let h = try Harness(policy: withUnits) { kernel, units in
            kernel.makeCgroup("/system.slice", enable: ["cpu", "io"])
            for n in 1...3 { units.addUnit("docker-\(n).scope", cgroup: "/system.slice/docker-\(n).scope") }
        }
        h.units.inject(method: "Get", name: "org.freedesktop.DBus.Error.Timeout", message: "Connection timed out", times: 1)
        await h.agent.tick()
        #expect(h.units.calls.filter { if case .get = $0 { true } else { false } }.count == 1, "one timeout, then no more calls: \(h.units.calls)")
        await h.agent.tick()
        #expect(h.units.sets(of: "docker-3.scope") == [UnitWeights(cpu: 200, io: 300)], "next pass: all of them")

        // At shutdown systemd hangs: the first restore times out, the rest is not tried, and the
        // units left with the agent's weights are named.
        h.units.inject(method: "SetUnitProperties", name: "org.freedesktop.DBus.Error.NoReply", message: "Did not receive a reply")
        h.units.clearCalls()
        await h.agent.shutdown()
        #expect(h.units.calls.count == 1, "\(h.units.calls)")
        let last = try #require(h.journal.events("error").last?["MESSAGE"]?.first)
        #expect(last.contains("docker-1.scope, docker-2.scope, docker-3.scope"), "\(last)")
    }
}
