@testable import FairshareCore
import FairsharePolicy
import Testing

/// The controller on a tree of groups: each level divides what its parent was allocated, per
/// user caps give way only while the others leave capacity unused.
@Suite struct GroupTreeControllerTests {
    let logins = GroupName("logins")!
    let batch = GroupName("batch")!

    /// logins: per_user, user_max 0.5 CPU, borrowing up to 75% of the machine; batch beside it.
    func policy(users: [UInt32], borrow: Bool = true) -> Policy {
        var g = GroupPolicy(name: logins, shares: Shares(1)!, match: MatchRule(comm: ["burn"]))
        g.perUser = PerUserPolicy(ceiling: .cpus(0.5), borrow: borrow, burst: borrow ? .percent(75) : nil)
        let p = Policy(groups: [g, GroupPolicy(name: batch, shares: Shares(1)!, match: MatchRule(comm: ["batch"]))])
        return p.withUsers([logins: Set(users.map { UserNode.user($0) })])
    }

    func user(_ uid: UInt32) -> GroupName { logins.user(.user(uid)) }

    func hungry(_ g: GroupName, _ usage: Double) -> Controller.Observation { .init(group: g, usage: usage, pressure: 0.9) }
    func idle(_ g: GroupName) -> Controller.Observation { .init(group: g, usage: 0, hasMembers: false) }

    @Test func aUserAloneOnAnIdleMachineReachesTheBurstNotMore() {
        var c = Controller()
        let p = policy(users: [1001])
        let d = c.decide(policy: p, observations: [hungry(user(1001), 0.5), hungry(logins, 0.5), idle(batch)], capacity: 2, interval: 1,
                         inForce: [user(1001): CPUMax(cpus: 0.5)])
        let u = d.decision(for: user(1001))!
        #expect(abs((u.cpuMax ?? .infinity) - 1.5) < 1e-9, "75% of 2 CPUs while nobody else wants them: \(String(describing: u.cpuMax))")
        #expect(u.share.limit == .burst, "\(u.share)")
    }

    /// user_max gives way only to what the whole machine leaves unused: beside a hungry batch
    /// group, a user alone in logins stays at user_max and batch gets the rest of logins' part.
    @Test func aUserBorrowsOnlyWhatTheMachineLeavesUnused() {
        var c = Controller()
        let d = c.decide(policy: policy(users: [1001]), observations: [hungry(user(1001), 0.5), hungry(logins, 0.5), hungry(batch, 1.5)],
                         capacity: 2, interval: 1, inForce: [user(1001): CPUMax(cpus: 0.5)])
        #expect(d.decision(for: user(1001))!.cpuMax == 0.5, "\(d.decision(for: user(1001))!)")
        #expect(abs(d.decision(for: batch)!.share.allocation - 1.5) < 1e-9, "\(d.decision(for: batch)!.share)")
        #expect(d.idle < 1e-9)
    }

    /// The group's own max bounds its users: with logins at max 1.5 and three users capped at
    /// 0.5, the half CPU the machine leaves is not lent to them (vm-tree saw 66667 and 102468).
    @Test func aParentsMaxBoundsWhatItsUsersBorrow() {
        var c = Controller()
        var p = policy(users: [1001, 1002, 1003])
        let i = p.groups.firstIndex { $0.name == logins }!
        p.groups[i].ceiling = .cpus(1.5)
        let d = c.decide(policy: p, observations: [hungry(user(1001), 0.5), hungry(user(1002), 0.5), hungry(user(1003), 0.5), hungry(logins, 1.5),
                                                   idle(batch)], capacity: 2, interval: 1,
                         inForce: [user(1001): CPUMax(cpus: 0.5), user(1002): CPUMax(cpus: 0.5), user(1003): CPUMax(cpus: 0.5)])
        for uid: UInt32 in [1001, 1002, 1003] { #expect(d.decision(for: user(uid))!.cpuMax == 0.5, "\(d.decision(for: user(uid))!.share)") }
    }

    @Test func withoutBorrowingAUserAloneIsHeldToUserMax() {
        var c = Controller()
        let d = c.decide(policy: policy(users: [1001], borrow: false), observations: [hungry(user(1001), 0.5), hungry(logins, 0.5), idle(batch)],
                         capacity: 2, interval: 1)
        #expect(d.decision(for: user(1001))!.cpuMax == 0.5)
        #expect(abs(d.decision(for: logins)!.share.allocation - 0.5) < 1e-9, "logins wants no more than its one user may take")
    }

    @Test func theCapComesBackWhenTheOthersWantTheirPart() {
        var c = Controller()
        let p = policy(users: [1001, 1002, 1003])
        // Three hungry users and a hungry batch: logins gets half the machine (1 CPU), each
        // user a third of it, under user_max: nobody borrows.
        let d = c.decide(policy: p, observations: [hungry(user(1001), 0.5), hungry(user(1002), 0.5), hungry(user(1003), 0.5), hungry(logins, 1.5),
                                                   hungry(batch, 0.5)], capacity: 2, interval: 1,
                         inForce: [user(1001): CPUMax(cpus: 0.5), user(1002): CPUMax(cpus: 0.5), user(1003): CPUMax(cpus: 0.5)])
        #expect(abs(d.decision(for: logins)!.share.allocation - 1) < 1e-9, "\(d.decision(for: logins)!.share)")
        for uid: UInt32 in [1001, 1002, 1003] {
            let u = d.decision(for: user(uid))!
            #expect(u.cpuMax == 0.5, "held to user_max while the others want the CPU: \(String(describing: u.cpuMax))")
            #expect(abs(u.share.allocation - 1.0 / 3) < 1e-9, "\(u.share)")
        }
    }

    @Test func aNestedLevelDividesWhatItsParentWasAllocated() throws {
        let p = try PolicyParser.parse("""
            [[group]]
            name = "research"
            shares = 3
            [[group]]
            name = "lab-a"
            parent = "research"
            shares = 1
            [group.match]
            comm = ["a"]
            [[group]]
            name = "lab-b"
            parent = "research"
            shares = 2
            [group.match]
            comm = ["b"]
            [[group]]
            name = "teaching"
            shares = 1
            [group.match]
            comm = ["t"]
            """, file: "test.toml")
        let (research, labA, labB, teaching) = (GroupName("research")!, GroupName(path: "research/lab-a")!, GroupName(path: "research/lab-b")!,
                                                GroupName("teaching")!)
        var c = Controller()
        let d = c.decide(policy: p, observations: [hungry(labA, 1), hungry(labB, 1), hungry(research, 1.5), hungry(teaching, 0.5)],
                         capacity: 2, interval: 1)
        let got = [labA, labB, teaching].map { d.decision(for: $0)!.share.allocation / 2 * 100 }
        #expect(zip(got, [25.0, 50, 25]).allSatisfy { abs($0 - $1) < 1e-6 }, "25 / 50 / 25% of the machine: \(got)")
        #expect(d.decision(for: research)!.hungry)
        // lab-b idle: lab-a takes research's whole part, teaching keeps its quarter.
        let e = c.decide(policy: p, observations: [hungry(labA, 1), idle(labB), hungry(research, 1), hungry(teaching, 0.5)], capacity: 2,
                         interval: 1)
        #expect(abs(e.decision(for: labA)!.share.allocation - 1.5) < 1e-6, "\(e.decision(for: labA)!.share)")
        #expect(abs(e.decision(for: teaching)!.share.allocation - 0.5) < 1e-6)
    }

    /// Slurm's fair tree at the users' level: a user who used much of the group's part recently
    /// is weighed lower among its users, within max_boost; and leaving does not wipe that.
    @Test func decayedFairnessWorksAmongUsersAndFollowsAUserWhoLeft() {
        var c = Controller()
        var p = policy(users: [1001, 1002], borrow: false)
        p.agent.fairness = .decayed(halfLife: .seconds(60), maxBoost: 4)
        for i in p.groups.indices { p.groups[i].ceiling = nil }
        // 1001 burns; 1002 is present but asleep.
        var d: Controller.Decision?
        for _ in 0..<60 {
            d = c.decide(policy: p, observations: [hungry(user(1001), 2), .init(group: user(1002), usage: 0), hungry(logins, 2), idle(batch)],
                         capacity: 2, interval: 1)
        }
        let heavy = d!.decision(for: user(1001))!.factor
        let light = d!.decision(for: user(1002))!.factor
        #expect(heavy < 1 && light > 1, "heavy \(heavy), light \(light)")
        #expect(light / heavy <= 4 + 1e-9, "bounded by max_boost: \(light / heavy)")
        // 1001 leaves (subgroup gone), then comes back: still the heavy one.
        let without = policy(users: [1002], borrow: false)
        var q = without
        q.agent.fairness = p.agent.fairness
        for i in q.groups.indices { q.groups[i].ceiling = nil }
        _ = c.decide(policy: q, observations: [.init(group: user(1002), usage: 0), idle(logins), idle(batch)], capacity: 2, interval: 1)
        #expect(c.ledger.usage[user(1001)] != nil, "the history of a user who left is kept")
        let back = c.decide(policy: p, observations: [hungry(user(1001), 1), hungry(user(1002), 1), hungry(logins, 2), idle(batch)],
                            capacity: 2, interval: 1)
        #expect(back.decision(for: user(1001))!.factor < back.decision(for: user(1002))!.factor)
    }
}
