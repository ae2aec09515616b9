import FairshareCore
import FairshareTestSupport
import Testing

/// The simulated kernel carries out the reconciler's plan for a tree: users' subgroups made,
/// controllers enabled, processes moved by uid, subgroups removed once their user left, and
/// nothing refused.
@Suite struct SimAgentTreeTests {
    @Test func perUserPlacesEachUserInTheirSubgroup() {
        let policy = Policy(agent: AgentSettings(interval: .seconds(2)), groups: [
            GroupPolicy(name: GroupName("logins")!, shares: Shares(1)!, match: MatchRule(groups: [.id(100)]), perUser: PerUserPolicy()),
        ])
        // The second user's processes end at 6 s; a third user starts at 10 s.
        let processes = [
            SimProcess(pid: 10, uid: 1001, gid: 100), SimProcess(pid: 20, uid: 1002, gid: 100, trace: .phases(1, [(6, nil)])),
            SimProcess(pid: 21, uid: 1002, gid: 100, trace: .phases(1, [(6, nil)])), SimProcess(pid: 30, uid: 1003, gid: 100, trace: .phases(nil, [(10, 1)])),
            SimProcess(pid: 40, uid: 1004, gid: 999),
        ]
        var agent = SimAgent(policy: policy, cpus: 2, processes: processes)
        let logins = GroupName("logins")!
        #expect(agent.simulator.group(logins).childrenHaveCPU, "cgroup.subtree_control of logins enables cpu")
        #expect(agent.simulator.process(10).group == logins.user(.user(1001)) && agent.simulator.process(20).group == logins.user(.user(1002)))
        #expect(agent.simulator.process(40).group == nil, "a process no rule matches stays where it is")
        agent.run(for: 8)
        #expect(!agent.simulator.hasGroup(logins.user(.user(1002))), "the subgroup of a user who left is removed")
        agent.run(for: 4)
        #expect(agent.simulator.process(30).group == logins.user(.user(1003)))
        let last = agent.timeline.last!
        #expect(abs(agent.usage(uid: 1001, in: last) - 1) < 0.01 && abs(agent.usage(uid: 1003, in: last) - 1) < 0.01,
                "two users with one process each: \(agent.usage(uid: 1001, in: last)) and \(agent.usage(uid: 1003, in: last)) CPUs")
        #expect(agent.refusals.isEmpty, "the simulated kernel refused: \(agent.refusals)")
    }

    @Test func nestedGroupsAreMadeParentsFirst() {
        let research = GroupName("research")!, labA = GroupName(path: "research/lab-a")!
        let policy = Policy(agent: AgentSettings(interval: .seconds(2)), groups: [
            GroupPolicy(name: research, shares: Shares(3)!, match: MatchRule()),
            GroupPolicy(name: labA, shares: Shares(1)!, match: MatchRule(groups: [.id(1)])),
            GroupPolicy(name: GroupName(path: "research/lab-b")!, shares: Shares(2)!, match: MatchRule(groups: [.id(2)])),
        ])
        var agent = SimAgent(policy: policy, cpus: 2, processes: [SimProcess(pid: 10, uid: 5, gid: 1), SimProcess(pid: 20, uid: 6, gid: 2)])
        agent.run(for: 4)
        #expect(agent.simulator.group(research).childrenHaveCPU && !agent.simulator.group(labA).childrenHaveCPU)
        #expect(agent.simulator.process(10).group == labA)
        #expect(agent.simulator.group(GroupName(path: "research/lab-b")!).weight == 2 * agent.simulator.group(labA).weight,
                "weights among siblings: lab-a \(agent.simulator.group(labA).weight), lab-b \(agent.simulator.group(GroupName(path: "research/lab-b")!).weight)")
        #expect(agent.refusals.isEmpty, "the simulated kernel refused: \(agent.refusals)")
    }
}
