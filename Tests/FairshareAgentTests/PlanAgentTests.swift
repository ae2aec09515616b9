import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Testing

/// Policy B against `threeGroups` (A): "low" removed (its burn_a processes match nothing now),
/// "mid" renamed "middle", "high" with fewer shares, a wider match and a ceiling, "spare" added.
let threeGroupsChanged = """
    [agent]
    interval = "1s"
    report_interval = "10s"

    [[group]]
    name = "middle"
    shares = 2
    [group.match]
    comm = ["burn_b"]

    [[group]]
    name = "high"
    shares = 3
    max = "0.5"
    [group.match]
    comm = ["burn_c", "burn_d"]

    [[group]]
    name = "spare"
    shares = 1
    [group.match]
    comm = ["nobody_runs"]
    """

/// `fairshare plan` on the in-memory kernel: the plan says what a reload would do, writes
/// nothing, and the reload then does exactly that.
@Suite struct PlanAgentTests {
    /// The agent under A with two measured intervals: low 0.2 CPU (satisfied), mid 1.0 and high
    /// 0.8 CPU, both waiting for CPU (hungry).
    func runningUnderA() async throws -> Harness {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(14, "burn_a")
        h.spawn(11, "burn_b")
        h.spawn(15, "burn_b")
        h.spawn(12, "burn_c")
        h.spawn(13, "bash")
        h.spawn(16, "burn_d")
        await h.agent.tick()
        var usage: [String: UInt64] = [:], stall: [String: UInt64] = [:]
        for _ in 0..<2 {
            h.clock.advance(by: .seconds(1))
            for (g, cpus, waiting) in [("low", 0.2, 0.0), ("mid", 1.0, 0.9), ("high", 0.8, 0.9)] {
                usage[g, default: 0] += UInt64(cpus * 1e6)
                stall[g, default: 0] += UInt64(waiting * 1e6)
                h.kernel.setUsage("/fairshare/\(g)", usageUsec: usage[g]!)
                h.kernel.setPressure("/fairshare/\(g)", someTotalUsec: stall[g]!)
            }
            await h.agent.tick()
        }
        return h
    }

    func plan(_ h: Harness, _ text: String) async throws -> PlanReport {
        let result = await h.agent.plan(policy: text, path: "/root/next.toml")
        return try result.get()
    }

    @Test func thePlanNamesTheMovesWeightsCeilingsAndAllocationsAndWritesNothing() async throws {
        let h = try await runningUnderA()
        let (writes, effects, scans) = (h.kernel.writes.count, h.kernel.effects, h.kernel.scanCount)
        let placed = (10...16).map { h.kernel.cgroupOf(Int32($0)) }

        let p = try await plan(h, threeGroupsChanged)

        #expect(p.moves == [
            PlanMove(from: "(outside)", to: "high", count: 1, processes: [PlanProcess(pid: 16, comm: "burn_d")]),
            PlanMove(from: "low", to: "(origin)", count: 2, processes: [PlanProcess(pid: 10, comm: "burn_a"), PlanProcess(pid: 14, comm: "burn_a")]),
            PlanMove(from: "mid", to: "middle", count: 2, processes: [PlanProcess(pid: 11, comm: "burn_b"), PlanProcess(pid: 15, comm: "burn_b")]),
        ])
        let byName = Dictionary(uniqueKeysWithValues: p.groups.map { ($0.name, $0) })
        #expect(p.groups.map(\.name) == ["low", "mid", "high", "middle", "spare"])
        #expect(byName["low"]?.change == .removed && byName["low"]?.after == nil)
        #expect(byName["middle"]?.change == .added && byName["middle"]?.before == nil)
        let high = try #require(byName["high"])
        #expect(high.change == .kept)
        #expect(high.before?.cpuWeight == 500 && high.after?.cpuWeight == 300)
        #expect(high.before?.ioWeight == 500 && high.after?.ioWeight == 300)
        #expect(high.before?.cpuMax == "max 100000" && high.after?.cpuMax == "50000 100000")
        #expect(high.before?.members == 1 && high.after?.members == 2)
        #expect(byName["middle"]?.after?.cpuWeight == 200 && byName["spare"]?.after?.cpuWeight == 100)
        #expect(byName["low"]?.before?.cpuWeight == 100 && byName["mid"]?.before?.cpuWeight == 200)

        // Before: the last decision (low satisfied at 0.2; mid and high share 1.8 CPUs 2 : 5).
        #expect(abs((byName["low"]?.before?.allocationCPUs ?? -1) - 0.2) < 0.01)
        #expect(abs((byName["mid"]?.before?.allocationCPUs ?? -1) - 1.8 * 2 / 7) < 0.01)
        #expect(abs((high.before?.allocationCPUs ?? -1) - 1.8 * 5 / 7) < 0.01)
        // After, on the estimated demand: mid's hungry CPU follows its processes into "middle";
        // high keeps its own (hungry) and is held at its ceiling; middle takes the rest.
        let middle = try #require(byName["middle"]?.after)
        #expect(middle.hungry == true && abs((middle.usageCPUs ?? -1) - 1.0) < 0.01)
        #expect(abs((high.after?.allocationCPUs ?? -1) - 0.5) < 0.01)
        #expect(abs((middle.allocationCPUs ?? -1) - 1.5) < 0.01)
        #expect(byName["spare"]?.after?.members == 0 && byName["spare"]?.after?.allocationCPUs == 0)

        // Nothing was written, nothing moved, and A is still in force.
        #expect(h.kernel.writes.count == writes && h.kernel.effects == effects)
        #expect((10...16).map { h.kernel.cgroupOf(Int32($0)) } == placed)
        #expect(h.kernel.scanCount == scans + 1, "one full scan")
        #expect(await h.agent.policy.groups.map(\.name.rawValue) == ["low", "mid", "high"])
        #expect(!h.kernel.exists("/fairshare/middle"))

        // The reload does what the plan said.
        h.rewrite(threeGroupsChanged)
        h.clock.advance(by: .seconds(1))
        let outcome = await h.agent.reload()
        #expect(outcome.applied)
        expectKernelMatches(p, h)
    }

    /// Every listed PID sits where the plan sends it, and every group's cpu.weight, io.weight
    /// and cpu.max are the plan's "after"; the removed groups are gone.
    func expectKernelMatches(_ p: PlanReport, _ h: Harness) {
        for m in p.moves {
            for proc in m.processes {
                let want = m.to == PlanReport.origin ? "/origin" : "/fairshare/\(m.to)"
                #expect(h.kernel.cgroupOf(proc.pid) == want, "pid \(proc.pid) \(m.from) -> \(m.to)")
            }
        }
        for g in p.groups {
            let path = "/fairshare/\(g.name)"
            guard let after = g.after else {
                #expect(!h.kernel.exists(path), "\(g.name) removed")
                continue
            }
            #expect(h.kernel.file(.cpuWeight, of: path) == after.cpuWeight.map(String.init), "\(g.name) cpu.weight")
            #expect(h.kernel.file(.ioWeight, of: path) == "default \(after.ioWeight)", "\(g.name) io.weight")
            #expect(h.kernel.file(.cpuMax, of: path) == after.cpuMax, "\(g.name) cpu.max")
        }
    }

    @Test func anInvalidPolicyIsRefusedWithItsLineAndColumnAndNothingChanges() async throws {
        let h = try await runningUnderA()
        let writes = h.kernel.writes.count
        let result = await h.agent.plan(policy: "[[group]]\nname = \"x\"\nshares = 0\n", path: "/root/bad.toml")
        guard case .failure(let error) = result else {
            Issue.record("an invalid policy was planned")
            return
        }
        #expect(error.description.contains("/root/bad.toml:3:"))
        // The capacity check needs the live capacity (2 CPUs): only the agent can make it.
        let tooBig = await h.agent.plan(policy: "[[group]]\nname = \"x\"\nshares = 1\nmin = \"3\"\n[group.match]\ncomm = [\"a\"]\n",
                                        path: "/root/big.toml")
        guard case .failure(let capacity) = tooBig else {
            Issue.record("a floor above the capacity was planned")
            return
        }
        #expect(capacity.description.hasPrefix("/root/big.toml:1:1: error: the groups' min add up to 3 CPUs but the root has 2"))
        #expect(h.kernel.writes.count == writes)
        #expect(await h.agent.policy.groups.count == 3)
    }

    @Test func planNeedsRootAndAPolicy() async throws {
        let h = try Harness(policy: threeGroups)
        let user = PeerCredentials(pid: 1, uid: 1000, gid: 1000)
        let denied = await AgentServices.handle(ControlRequest(command: .plan, policyText: threeGroupsChanged, policyPath: "/tmp/p.toml"),
                                                peer: user, agent: h.agent)
        #expect(!denied.ok && denied.error?.hasPrefix("permission denied: planning a policy needs root") == true)
        #expect(h.kernel.scanCount == 0, "no scan for a refused plan")
        let root = PeerCredentials(pid: 1, uid: 0, gid: 0)
        let empty = await AgentServices.handle(ControlRequest(command: .plan), peer: root, agent: h.agent)
        #expect(!empty.ok && empty.error == "plan needs policy_text and policy_path")
        let ok = await AgentServices.handle(ControlRequest(command: .plan, policyText: threeGroupsChanged, policyPath: "/tmp/p.toml"),
                                            peer: root, agent: h.agent)
        #expect(ok.ok && ok.plan?.policyPath == "/tmp/p.toml")
    }
}
