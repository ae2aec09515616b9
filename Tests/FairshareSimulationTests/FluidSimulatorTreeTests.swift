import FairshareCore
import FairshareTestSupport
import Testing

/// The simulator's tree (issue 20), checked on its own before it judges the controller: weights
/// among siblings only, a quota bounding everything beneath it, demand aggregated bottom-up,
/// processes of one cgroup alike, and children without the cpu controller running as their
/// parent's processes.
@Suite struct FluidSimulatorTreeTests {
    let research = GroupName("research")!
    let labA = GroupName(path: "research/lab-a")!
    let labB = GroupName(path: "research/lab-b")!
    let teaching = GroupName("teaching")!

    /// research (300) = lab-a (100) + lab-b (200), beside teaching (100), all busy.
    func tree(_ traces: [GroupName: DemandTrace] = [:]) -> FluidSimulator {
        var sim = FluidSimulator(cpus: 2, groups: [research, labA, labB, teaching].map { ($0, traces[$0] ?? .constant(2)) })
        sim.setWeight(CPUWeight(300)!, for: research)
        sim.setWeight(CPUWeight(200)!, for: labB)
        return sim
    }

    func percent(_ sim: FluidSimulator, _ g: GroupName) -> Double { sim.counters(of: g).usage / (sim.now * sim.cpus) * 100 }

    @Test func weightsCompareAmongSiblingsOnly() {
        var sim = tree([research: .absent])
        sim.run(for: 10)
        let parts = [labA, labB, teaching].map { percent(sim, $0) }
        #expect(zip(parts, [25.0, 50, 25]).allSatisfy { abs($0 - $1) < 1e-6 }, "lab-a/lab-b/teaching: \(parts)")
        #expect(abs(percent(sim, research) - 75) < 1e-6, "an interior group's usage is its children's: \(percent(sim, research))")
        // Ten times the children's weights: nothing changes outside research.
        sim.setWeight(CPUWeight(1000)!, for: labA)
        sim.setWeight(CPUWeight(2000)!, for: labB)
        let before = sim.counters(of: teaching).usage
        sim.run(for: 10)
        #expect(abs(sim.counters(of: teaching).usage - before - 5) < 1e-6, "teaching used \(sim.counters(of: teaching).usage - before) s of 20")
    }

    @Test func quotaOfAParentBoundsItsChildren() {
        var sim = tree([research: .absent])
        sim.setQuota(0.5, for: research)
        sim.run(for: 10)
        #expect(abs(sim.counters(of: research).usage - 5) < 1e-6, "research capped at 0.5 CPU: \(sim.counters(of: research).usage) s")
        #expect(abs(sim.counters(of: labA).usage - 5.0 / 3) < 1e-6 && abs(sim.counters(of: labB).usage - 10.0 / 3) < 1e-6,
                "the cap divided 1:2: \(sim.counters(of: labA).usage) / \(sim.counters(of: labB).usage)")
        #expect(abs(sim.counters(of: teaching).usage - 15) < 1e-6, "teaching took the rest: \(sim.counters(of: teaching).usage)")
        #expect(sim.counters(of: research).nrThrottled == 1000 && sim.counters(of: labA).nrThrottled == 0)
        #expect(sim.counters(of: labA).pressureTime > 9.99 && sim.counters(of: research).pressureTime > 9.99)
    }

    /// An interior group wants what its children can use, each within its quota: capacity it
    /// can not use goes to its siblings.
    @Test func interiorDemandIsItsChildrensWithinTheirQuotas() {
        var sim = tree([research: .absent, labB: .idle])
        sim.setQuota(0.2, for: labA)
        sim.run(for: 10)
        #expect(abs(sim.counters(of: research).usage - 2) < 1e-6, "research used \(sim.counters(of: research).usage) s, its children can use 0.2 CPU")
        #expect(abs(sim.counters(of: teaching).usage - 18) < 1e-6, "teaching used \(sim.counters(of: teaching).usage) s of 18 left")
        #expect(sim.counters(of: labA).nrThrottled == 1000 && sim.counters(of: research).nrThrottled == 0)
        #expect(sim.counters(of: research).pressureTime > 9.99, "lab-a waits beneath research")
    }

    /// The kernel divides one cgroup among its processes alike: a user with 8 busy processes
    /// gets 8 times the CPU of a user with one.
    @Test func processesOfOneCgroupShareItAlike() {
        let logins = GroupName("logins")!
        var sim = FluidSimulator(cpus: 2, groups: [(logins, .absent)])
        let counts: [Int32] = [1, 2, 8]
        var pid: Int32 = 100
        var pids: [[Int32]] = []
        for n in counts {
            pids.append(Array(pid..<pid + n))
            for p in pid..<pid + n { sim.addProcess(pid: p, trace: .constant(1), in: logins) }
            pid += 100
        }
        sim.addProcess(pid: 900, trace: .constant(0.05), in: logins)
        sim.run(for: 10)
        let perUser = pids.map { $0.reduce(0) { $0 + sim.process($1).usage } / 20 * 100 }
        let want = counts.map { Double($0) / 11 * 97.5 }
        #expect(zip(perUser, want).allSatisfy { abs($0 - $1) < 1e-6 }, "per user \(perUser), want \(want)")
        #expect(abs(sim.process(900).usage - 0.5) < 1e-9, "a process wanting 0.05 CPU got \(sim.process(900).usage / 10)")
        #expect(abs(sim.counters(of: logins).usage - 20) < 1e-6)
    }

    /// Without cpu in a parent's subtree_control its children are no groups to the scheduler:
    /// their processes share the parent's part alike, whatever the children's weights.
    @Test func childrenWithoutTheCPUControllerRunAsTheirParents() {
        let logins = GroupName("logins")!, one = GroupName(path: "logins/user-1001")!, many = GroupName(path: "logins/user-1002")!
        var sim = FluidSimulator(cpus: 2, groups: [])
        sim.addGroup(logins)
        sim.addGroup(one)
        sim.addGroup(many)
        sim.addProcess(pid: 10, trace: .constant(1), in: one)
        for p in Int32(20)..<28 { sim.addProcess(pid: p, trace: .constant(1), in: many) }
        sim.setWeight(CPUWeight(10000)!, for: one)
        sim.run(for: 10)
        #expect(abs(sim.counters(of: one).usage - 20.0 / 9) < 1e-6, "controller off: 1 of 9 processes got \(sim.counters(of: one).usage) s of 20")
        #expect(sim.counters(of: logins).usage > 20 - 1e-6)
        sim.setCPUController(true, for: logins)
        sim.setWeight(CPUWeight(100)!, for: one)
        let before = sim.counters(of: one).usage
        sim.run(for: 10)
        #expect(abs(sim.counters(of: one).usage - before - 10) < 1e-6, "controller on: the users split 50/50, got \(sim.counters(of: one).usage - before) s of 20")
    }

    /// Groups made and removed while running: a new cgroup's counters start at zero, a removed
    /// one's capacity goes to the others.
    @Test func groupsComeAndGo() {
        let a = GroupName("a")!, b = GroupName("b")!
        var sim = FluidSimulator(cpus: 2, groups: [(a, .constant(2))])
        sim.run(for: 1)
        sim.addGroup(b)
        sim.addProcess(pid: 7, trace: .phases(1.5, [(2, nil)]), in: b)
        #expect(sim.hasLiveProcesses(b))
        sim.run(for: 1)
        #expect(abs(sim.counters(of: b).usage - 1) < 1e-6 && abs(sim.counters(of: a).usage - 3) < 1e-6,
                "b \(sim.counters(of: b).usage) s, a \(sim.counters(of: a).usage) s")
        #expect(!sim.hasLiveProcesses(b), "the process ended at 2 s")
        sim.removeGroup(b)
        #expect(!sim.hasGroup(b) && sim.process(7).group == nil)
        sim.run(for: 1)
        #expect(abs(sim.counters(of: a).usage - 5) < 1e-6)
    }
}
