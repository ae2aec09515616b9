import FairshareCore
import FairsharePolicy
import FairshareTestSupport
import Testing

/// The member counts the enforcer keeps in step with its memberships (every pass asks for
/// them): after any sequence of moves, adoptions, give-backs, exits and reused pids they equal a
/// count from scratch, and `memberCounts(after:)` equals the count of `membersAfterMoves` with the
/// plan's give-backs and adoptions applied.
@Suite struct EnforcerCountTests {
    func recount(_ members: [ProcessIdentity: Enforcer.Membership]) -> [GroupName: Int] {
        var c: [GroupName: Int] = [:]
        for m in members.values { c[m.group, default: 0] += 1 }
        return c
    }

    @Test func countsFollowEveryChange() {
        var rng = SplitMix64(seed: 20)  // fixed: a failure names its round, and reruns alike
        let groups = ["a", "b", "logins/user-1", "logins/user-2"].map { GroupName(path: $0)! }
        var e = Enforcer(root: "/fairshare")
        e.seed([ProcessIdentity(pid: 1, startTime: 1): .init(group: groups[0], origin: "/o", reason: .matched)])
        for round in 0..<2000 {
            // A few pids and start times, so that pids are reused.
            let id = ProcessIdentity(pid: Int32.random(in: 1...12, using: &rng), startTime: UInt64.random(in: 1...3, using: &rng))
            let g = groups.randomElement(using: &rng)!
            let step: Step
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: step = .move(id, comm: "x", to: g, origin: "/o", keys: [])
            case 1: step = .adopt(id, group: g, origin: "/o", reason: .inherited)
            case 2: step = .restore(id, comm: "x", from: g, to: "/o")
            default: step = .move(id, comm: "x", to: g, origin: "/o", keys: [])
            }
            // The counts a plan of three steps would leave, before it is carried out.
            let plan = [step, .restore(ProcessIdentity(pid: 3, startTime: 1), comm: "x", from: g, to: "/o"),
                        .adopt(ProcessIdentity(pid: 4, startTime: 2), group: groups[1], origin: "/o", reason: .matched)]
            var expected = e.membersAfterMoves(plan)
            for s in plan {
                if case .restore(let r, _, _, _) = s { expected[r] = nil }
                if case .adopt(let a, let ag, let o, let why) = s { expected[a] = .init(group: ag, origin: o, reason: why) }
            }
            #expect(e.memberCounts(after: plan) == recount(expected), "round \(round)")
            e.record(step, [.done, .done, .gone].randomElement(using: &rng)!)
            if round % 97 == 0 { e.forget(pid: Int32.random(in: 1...12, using: &rng)) }
            if round % 211 == 0 { e.forget(allBut: Set(e.members.keys.filter { $0.pid % 2 == 0 })) }
            #expect(e.memberCounts() == recount(e.members), "round \(round)")
        }
    }
}
