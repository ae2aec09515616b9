import FairshareCore
import FairsharePolicy
import Testing

/// Which users' subgroups a pass reads (issue 20: a pass with 200 idle users costs little more
/// than one with 20), and that carrying a quiet user's counters loses nothing.
@Suite struct UserReadScheduleTests {
    let group = GroupName("logins")!
    func user(_ uid: UInt32) -> GroupName { group.user(.user(uid)) }
    func cpu(_ usec: UInt64) -> CPUStat { CPUStat(usageUsec: usec, userUsec: usec, systemUsec: 0) }
    let second: UInt64 = 1_000_000_000

    /// Runs passes in which every user the schedule names is read (usage from `usage`), the
    /// group's own usage is their sum, and the others are carried; returns who was read in each.
    func run(_ s: inout UserReadSchedule, passes: Int, users: [UInt32], startPass: Int = 0,
             usage: (Int, UInt32) -> UInt64) -> [[UInt32]] {
        var readPerPass: [[UInt32]] = []
        for k in startPass..<(startPass + passes) {
            let at = UInt64(k + 1) * second
            var read: [GroupName: CPUStat?] = [:]
            var readNow: [GroupName: CPUStat] = [:]
            var later: [UInt32] = []
            for u in users {
                if s.mustRead(user(u)) {
                    read[user(u)] = cpu(usage(k, u))
                    readNow[user(u)] = cpu(usage(k, u))
                } else {
                    later.append(u)
                }
            }
            let groupCPU = cpu(users.reduce(0) { $0 + usage(k, $1) })
            var carried: [GroupName] = []
            if !later.isEmpty, s.woke(group: group, groupCPU: groupCPU, at: at, read: readNow) {
                for u in later { read[user(u)] = cpu(usage(k, u)) }
            } else {
                for u in later {
                    #expect(s.carried(user(u)) != nil, "only a user read before is carried")
                    carried.append(user(u))
                }
            }
            s.passEnded(read: read, carried: carried, groups: [group: groupCPU], at: at)
            readPerPass.append(read.keys.compactMap { $0.userNode?.uid }.sorted())
        }
        return readPerPass
    }

    @Test func quietUsersAreReadOncePerRoundStaggered() {
        var s = UserReadSchedule()
        let users = Array(UInt32(2000)..<2040)
        let reads = run(&s, passes: 2 + Int(UserReadSchedule.quietEvery) * 2, users: users) { _, _ in 500 }
        #expect(reads[0] == users && reads[1] == users, "every user is read until two readings agree")
        let steady = reads.dropFirst(2)
        #expect(steady.allSatisfy { $0.count < users.count / 2 }, "then a few per pass: \(steady.map(\.count))")
        // Over any quietEvery consecutive passes each user is read exactly once.
        let round = steady.prefix(Int(UserReadSchedule.quietEvery)).flatMap { $0 }
        #expect(round.sorted() == users)
    }

    @Test func aQuietUserWhoWakesIsReadInTheSamePass() {
        var s = UserReadSchedule()
        let users = Array(UInt32(2000)..<2020)
        // Quiet for 6 passes, then uid 2013 uses half a CPU from pass 6 on.
        let reads = run(&s, passes: 8, users: users) { k, u in u == 2013 && k >= 6 ? 500 + UInt64(k - 5) * 500_000 : 500 }
        #expect(reads[6] == users, "the group's usage grew beyond its read users': everyone read at once")
        #expect(reads[7].contains(2013), "a user whose usage moved is read every pass")
    }

    @Test func usageBelowTheLimitIsCarriedThenSeenWhole() {
        var s = UserReadSchedule()
        let users = Array(UInt32(2000)..<2020)
        // 2 ms of CPU per pass (0.002 CPU, below the limit) from pass 3 on.
        let usage: (Int, UInt32) -> UInt64 = { k, u in u == 2005 && k >= 3 ? 500 + UInt64(k - 2) * 2000 : 500 }
        let passes = 3 + 2 * Int(UserReadSchedule.quietEvery)
        let reads = run(&s, passes: passes, users: users, usage: usage)
        let readAt = reads.indices.filter { $0 >= 3 && reads[$0].contains(2005) }
        let first = try! #require(readAt.first)
        #expect(first < 3 + Int(UserReadSchedule.quietEvery), "read within one round")
        #expect(readAt == Array(first..<passes), "from then on every pass, its usage moving")
        #expect(s.carried(user(2005))?.usageUsec == usage(passes - 1, 2005), "its counters as read last: nothing of the 2 ms per pass lost")
    }

    @Test func aGroupThatCanNotBeComparedWakesEveryone() {
        var s = UserReadSchedule()
        #expect(s.woke(group: group, groupCPU: cpu(5), at: second, read: [:]), "no earlier reading of the group")
        s.passEnded(read: [user(1): cpu(5)], carried: [], groups: [group: cpu(5)], at: second)
        #expect(s.woke(group: group, groupCPU: nil, at: 2 * second, read: [:]), "the group's cpu.stat unreadable")
        #expect(s.woke(group: group, groupCPU: cpu(4), at: 2 * second, read: [:]), "a counter that went back")
        #expect(!s.woke(group: group, groupCPU: cpu(5 + 1000), at: 2 * second, read: [:]), "1 ms in a second is below the limit")
        #expect(s.woke(group: group, groupCPU: cpu(5 + 100_000), at: 2 * second, read: [:]), "0.1 CPU is not")
        #expect(!s.woke(group: group, groupCPU: cpu(5 + 100_000), at: 2 * second, read: [user(1): cpu(5 + 100_000)]),
                "accounted for by a user read")
    }

    @Test func unreadableAndRemovedUsersAreForgotten() {
        var s = UserReadSchedule()
        s.passEnded(read: [user(1): cpu(5), user(2): cpu(5)], carried: [], groups: [:], at: second)
        s.passEnded(read: [user(1): cpu(5), user(2): nil], carried: [], groups: [:], at: 2 * second)
        #expect(s.carried(user(2)) == nil, "unreadable: read again next pass")
        #expect(s.mustRead(user(2)))
        s.passEnded(read: [user(2): cpu(5)], carried: [], groups: [:], at: 3 * second)
        #expect(s.carried(user(1)) == nil, "gone from the listing: forgotten")
        // One user gone in the same pass as another turns unreadable: forgotten all the same.
        s.passEnded(read: [user(2): cpu(5), user(3): cpu(5)], carried: [], groups: [:], at: 4 * second)
        s.passEnded(read: [user(3): nil], carried: [], groups: [:], at: 5 * second)
        #expect(s.carried(user(2)) == nil, "gone while another was unreadable: forgotten")
    }
}
