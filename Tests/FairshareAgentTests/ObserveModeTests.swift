import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `withUnits` (low 1 : mid 2 : high 5 by comm, db on postgresql.service) in observe mode.
let observingWithUnits = "[agent]\nmode = \"observe\"\n" + withUnits.replacingOccurrences(of: "[agent]\n", with: "")

/// `[agent] mode = "observe"` on the in-memory kernel: passes decide but write nothing, status
/// and metrics say what enforcing would do, a reload to enforce does exactly that, and a
/// reload back to observe gives everything back as a stop does.
@Suite struct ObserveModeTests {
    static let notSet = UnitWeights(cpu: nil, io: nil)

    /// An observing agent on a tree it has not prepared, with a process for each agent group,
    /// one for none, and postgresql with its own (unset) weights.
    func observing() throws -> Harness {
        let h = try Harness(policy: observingWithUnits, prepared: false, setUp: unitMachine)
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        h.spawn(12, "burn_c")
        h.spawn(14, "burn_c")
        h.spawn(13, "bash")
        return h
    }

    @Test func observingWritesMovesAndSetsNothingAndSaysWhatEnforcingWould() async throws {
        let h = try observing()
        for _ in 0..<3 {
            await h.agent.tick()
            h.clock.advance(by: .seconds(1))
        }
        #expect(h.kernel.writes.isEmpty, "no cgroup file written: \(h.kernel.writes)")
        #expect(h.kernel.effects == 0, "no mkdir, rmdir, write or ledger write")
        #expect(!h.kernel.exists("/fairshare"), "the root is not even made")
        for pid: Int32 in [10, 11, 12, 13, 14] { #expect(h.kernel.cgroupOf(pid) == "/origin", "pid \(pid) stays where it is") }
        #expect(h.units.sets(of: "postgresql.service").isEmpty, "no unit property set: \(h.units.calls)")
        #expect(h.units.unit("postgresql.service")?.weights == Self.notSet)

        let s = await h.agent.status()
        #expect(s.agent.mode == "observe")
        #expect(s.groups.allSatisfy { $0.cpuWeight == nil && $0.unavailable?["cpu_weight"]?.hasPrefix("observe mode") == true },
                "no weight is shown as in force, the unit group's neither")
        let would = try #require(s.would, "status says what enforcing would do")
        #expect(would.moves == [
            PlanMove(from: "(outside)", to: "high", count: 2, processes: [PlanProcess(pid: 12, comm: "burn_c"), PlanProcess(pid: 14, comm: "burn_c")]),
            PlanMove(from: "(outside)", to: "low", count: 1, processes: [PlanProcess(pid: 10, comm: "burn_a")]),
            PlanMove(from: "(outside)", to: "mid", count: 1, processes: [PlanProcess(pid: 11, comm: "burn_b")]),
        ])
        let after = Dictionary(uniqueKeysWithValues: would.groups.compactMap { g in g.after.map { (g.name, $0) } })
        #expect(after["low"]?.members == 1)
        #expect(after["high"]?.members == 2)
        #expect(after["db"]?.backing == "unit")

        let metrics = await h.agent.metricsText()
        #expect(metrics.contains("fairshare_agent_observing 1"))
        #expect(metrics.contains(#"fairshare_would_move_processes{from="(outside)",to="high"} 2"#), "\(metrics)")
        #expect(metrics.contains(#"fairshare_would_members{group="high"} 2"#))

        // Enforcing now does exactly what status said it would.
        h.rewrite(withUnits)
        let outcome = await h.agent.reload()
        #expect(outcome.applied, "\(outcome.error ?? "")")
        #expect(h.kernel.cgroupOf(10) == "/fairshare/low")
        #expect(h.kernel.cgroupOf(11) == "/fairshare/mid")
        #expect(h.kernel.cgroupOf(12) == "/fairshare/high")
        #expect(h.kernel.cgroupOf(13) == "/origin")
        for g in ["low", "mid", "high"] {
            #expect(h.weight(g) == after[g]?.cpuWeight.map(String.init), "\(g): the weight status promised")
            #expect(h.kernel.file(.ioWeight, of: "/fairshare/\(g)") == after[g].map { "default \($0.ioWeight)" }, "\(g)")
        }
        #expect(h.units.unit("postgresql.service")?.weights.cpu == after["db"]?.cpuWeight, "the unit's weight status promised")
        let enforcing = await h.agent.status()
        #expect(enforcing.agent.mode == "enforce")
        #expect(enforcing.would == nil)
        #expect(h.journal.events("mode").last?["FAIRSHARE_MODE"] == ["enforce"])
        #expect(await h.agent.metricsText().contains("fairshare_agent_observing 0"))
        #expect(!(await h.agent.metricsText()).contains("fairshare_would_"), "the would_ series go with observe mode")

        // Back to observing: everything given back, as a stop gives it back; then nothing written.
        h.rewrite(observingWithUnits)
        #expect(await h.agent.reload().applied)
        for pid: Int32 in [10, 11, 12, 13, 14] { #expect(h.kernel.cgroupOf(pid) == "/origin", "pid \(pid) given back") }
        for g in ["low", "mid", "high"] { #expect(!h.kernel.exists("/fairshare/\(g)"), "\(g) removed") }
        #expect(h.units.unit("postgresql.service")?.weights == Self.notSet, "the unit's own weights back")
        #expect(h.journal.events("mode").last?["FAIRSHARE_MODE"] == ["observe"], "the journal says the agent only observes")
        let released = try #require(h.journal.events("mode").last?["MESSAGE"]?.first)
        #expect(released.contains("gave back"), "\(released)")
        h.kernel.clearWrites()
        let (effects, unitCalls) = (h.kernel.effects, h.units.sets(of: "postgresql.service").count)
        for _ in 0..<2 {
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
        #expect(h.kernel.writes.isEmpty && h.kernel.effects == effects, "observing again writes nothing: \(h.kernel.writes)")
        #expect(h.units.sets(of: "postgresql.service").count == unitCalls)
        #expect(try #require(await h.agent.status().would).moves.count == 3, "and says again what enforcing would do")
    }

    @Test func eventsMoveNothingWhileObserving() async throws {
        let events = FakeProcessEvents()
        let h = try Harness(policy: observingWithUnits, events: events, prepared: false, setUp: unitMachine)
        await h.agent.tick()
        h.spawn(20, "burn_c")
        await h.agent.handleEvents(.events([.exec(pid: 20, tgid: 20)], malformed: 0))
        #expect(h.kernel.cgroupOf(20) == "/origin")
        #expect(h.kernel.effects == 0)
        #expect(await h.agent.status().agent.events?.received.exec == 1, "the event was heard")
        await h.agent.tick()
        #expect(try #require(await h.agent.status().would).moves.contains { $0.to == "high" && $0.processes.map(\.pid) == [20] })
    }

    @Test func aTreeThatCanNotBeMadeReadyRejectsTheReloadToEnforceAndObservingGoesOn() async throws {
        let h = try observing()
        await h.agent.tick()
        h.kernel.inject(errno: EACCES, cgroup: "/fairshare", operation: .mkdir)
        h.rewrite(withUnits)
        let outcome = await h.agent.reload()
        #expect(!outcome.applied)
        #expect(outcome.error?.contains("cannot enforce") == true, "\(outcome.error ?? "")")
        #expect(h.journal.events("policy_rejected").count == 1)
        let s = await h.agent.status()
        #expect(s.agent.mode == "observe", "the observing policy stays in force")
        #expect(s.would != nil)
        #expect(h.kernel.cgroupOf(12) == "/origin")

        // Once the tree can be made, the same reload enforces.
        h.kernel.clearInjections()
        #expect(await h.agent.reload().applied)
        #expect(h.kernel.cgroupOf(12) == "/fairshare/high")
        #expect(h.kernel.cgroupOf(Harness.agentPID) == nil || h.kernel.cgroupOf(Harness.agentPID) != "/fairshare", "the agent is never in the root it manages")
    }

    @Test func stoppingWhileObservingGivesNothingBackBecauseNothingWasTaken() async throws {
        let h = try observing()
        await h.agent.tick()
        let report = try #require(await h.agent.shutdown())
        #expect(report.complete)
        #expect(h.kernel.effects == 0)
        #expect(h.units.sets(of: "postgresql.service").isEmpty)
    }
}
