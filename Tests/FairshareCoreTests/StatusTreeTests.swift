import FairshareCore
import Testing

/// `fairshare status`'s table reads the flat list as a tree and folds a crowd of users.
@Suite struct StatusTreeTests {
    func row(_ name: String, parent: String? = nil, uid: UInt32? = nil, usage: Double = 0) -> GroupStatus {
        var g = GroupStatus(name: name, shares: 1, ioShares: 1, cpuWeight: 100, ioWeight: 100, members: 1, cpuUsageCPUs: usage,
                            cpuUsagePercent: nil, cpuTargetPercent: 0, usageUsec: nil, nrThrottled: nil, throttledUsec: nil,
                            ioReadBytesPerSecond: nil, ioWriteBytesPerSecond: nil)
        g.parent = parent
        g.uid = uid
        return g
    }

    @Test func childrenFollowTheirParentAndUsersGoBusiestFirst() {
        let groups = [row("research"), row("logins"), row("research/lab-a", parent: "research"), row("batch"),
                      row("logins/user-2", parent: "logins", uid: 2, usage: 0.1), row("logins/user-1", parent: "logins", uid: 1, usage: 0.9)]
        let rows = StatusTree.rows(groups, foldUsersBeyond: nil)
        #expect(rows.map(\.group.name) == ["research", "research/lab-a", "logins", "logins/user-1", "logins/user-2", "batch"])
        #expect(rows.map(\.depth) == [0, 1, 0, 1, 1, 0])
        #expect(rows.allSatisfy { $0.foldedUsers == nil })
    }

    @Test func usersBeyondTheLimitAreFoldedIntoOneRow() {
        var groups = [row("logins")]
        for uid in 1...25 { groups.append(row("logins/user-\(uid)", parent: "logins", uid: UInt32(uid), usage: Double(uid))) }
        let rows = StatusTree.rows(groups, foldUsersBeyond: 10)
        #expect(rows.count == 1 + 10 + 1)
        #expect(rows[1].group.uid == 25, "the busiest first")
        #expect(rows.last?.foldedUsers == 15)
        #expect(StatusTree.rows(groups, foldUsersBeyond: nil).count == 26, "--users shows them all")
    }
}
