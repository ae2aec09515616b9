import FairshareCore
import FairshareTestSupport
import Testing

/// Found with the simulator on issue 20's tree: a `min` beneath a parent was not held when the
/// parent's own part is smaller (lab-a got 0.1 CPU of its min 1): the Controller gave a parent
/// without `min` no floor from its children, and within the parent the floor-held child's weight
/// was not raised when the floor takes the parent's whole allocation (the level is 0). Now a
/// parent claims its children's floors, and a level whose floors take it all is weighed by the
/// allocations. The same for `user_min` beneath a per_user group.
@Suite struct TreeFloorTests {
    func busy(_ n: Int, gid: UInt32, pid: Int32) -> [SimProcess] {
        (0..<n).map { SimProcess(pid: pid + Int32($0), uid: 2000 + gid, gid: gid) }
    }

    @Test func nestedMinIsHeld() {
        let labA = GroupName(path: "research/lab-a")!
        let policy = Policy(agent: AgentSettings(interval: .seconds(2)), groups: [
            GroupPolicy(name: GroupName("research")!, shares: Shares(1)!, match: MatchRule()),
            GroupPolicy(name: labA, shares: Shares(1)!, match: MatchRule(groups: [.id(1)]), floor: .cpus(1)),
            GroupPolicy(name: GroupName(path: "research/lab-b")!, shares: Shares(1)!, match: MatchRule(groups: [.id(2)])),
            GroupPolicy(name: GroupName("teaching")!, shares: Shares(9)!, match: MatchRule(groups: [.id(3)])),
        ])
        var agent = SimAgent(policy: policy, cpus: 2, processes: busy(2, gid: 1, pid: 100) + busy(2, gid: 2, pid: 200) + busy(2, gid: 3, pid: 300))
        agent.run(for: 20)
        let usage = agent.timeline.dropFirst().map { $0.usage(labA) }
        #expect(usage.allSatisfy { $0 >= 0.95 }, "lab-a, min = 1 beneath research (1 share against 9): \(usage) CPUs")
    }

    @Test func userMinIsHeld() {
        let logins = GroupName("logins")!
        let policy = Policy(agent: AgentSettings(interval: .seconds(2)), groups: [
            GroupPolicy(name: logins, shares: Shares(1)!, match: MatchRule(groups: [.id(100)]), perUser: PerUserPolicy(floor: .cpus(0.5))),
            GroupPolicy(name: GroupName("batch")!, shares: Shares(9)!, match: MatchRule(groups: [.id(3)])),
        ])
        let users = [SimProcess(pid: 10, uid: 1001, gid: 100), SimProcess(pid: 11, uid: 1001, gid: 100),
                     SimProcess(pid: 20, uid: 1002, gid: 100), SimProcess(pid: 21, uid: 1002, gid: 100)]
        var agent = SimAgent(policy: policy, cpus: 2, processes: users + busy(2, gid: 3, pid: 300))
        agent.run(for: 20)
        let usage = agent.timeline.dropFirst().map { $0.usage(logins.user(.user(1001))) }
        #expect(usage.allSatisfy { $0 >= 0.475 }, "user_min = 0.5 in logins (1 share against 9): \(usage) CPUs")
    }
}
