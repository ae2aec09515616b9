import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Glibc
import Testing

/// `logins` gives each user their own subgroup; `batch` is an ordinary group beside it.
let perUserPolicy = """
    [agent]
    interval = "1s"

    [[group]]
    name = "logins"
    shares = 1
    per_user = true
    [group.match]
    comm = ["burn"]

    [[group]]
    name = "batch"
    shares = 1
    [group.match]
    comm = ["batch"]
    """

/// research (3) = lab-a (1) + lab-b (2), beside teaching (1).
let nestedPolicy = """
    [agent]
    interval = "1s"

    [[group]]
    name = "research"
    shares = 3

    [[group]]
    name = "lab-a"
    parent = "research"
    shares = 1
    [group.match]
    comm = ["lab_a"]

    [[group]]
    name = "lab-b"
    parent = "research"
    shares = 2
    [group.match]
    comm = ["lab_b"]

    [[group]]
    name = "teaching"
    shares = 1
    [group.match]
    comm = ["teach"]
    """

/// Per-user subgroups and nested groups on the in-memory kernel, which keeps cgroup v2's rules:
/// no process in a cgroup that enables controllers, a child's files only once its parent
/// enabled them, no rmdir of a cgroup with children or processes, no controller turned off in a
/// parent while a child enables it.
@Suite struct GroupTreeAgentTests {
    func weight(_ h: Harness, _ path: String) -> Int? { h.kernel.file(.cpuWeight, of: "/fairshare/\(path)").flatMap { Int($0) } }

    func noFailures(_ h: Harness) async {
        let status = await h.agent.status()
        #expect(status.agent.failures == nil || status.agent.failures!.isEmpty, "\(status.agent.failures ?? [])")
    }

    @Test func eachUserGetsOneSubgroupWhateverTheirProcesses() async throws {
        let h = try Harness(policy: perUserPolicy)
        for pid: Int32 in 10...13 { h.spawn(pid, "burn", uid: 1001) }
        h.spawn(20, "burn", uid: 1002)
        for pid: Int32 in 30...31 { h.spawn(pid, "burn", uid: 1003) }
        h.spawn(40, "batch", uid: 1001)
        await h.agent.tick()
        for pid: Int32 in 10...13 { #expect(h.kernel.cgroupOf(pid) == "/fairshare/logins/user-1001") }
        #expect(h.kernel.cgroupOf(20) == "/fairshare/logins/user-1002")
        for pid: Int32 in 30...31 { #expect(h.kernel.cgroupOf(pid) == "/fairshare/logins/user-1003") }
        #expect(h.kernel.cgroupOf(40) == "/fairshare/batch", "an ordinary group beside is not split by user")
        #expect(Set(h.kernel.subtreeControl(of: "/fairshare/logins")) == ["cpu", "io"], "logins holds subgroups: controllers on for them")
        #expect(h.kernel.subtreeControl(of: "/fairshare/batch").isEmpty)
        let weights = [1001, 1002, 1003].map { weight(h, "logins/user-\($0)") }
        #expect(weights.allSatisfy { $0 != nil && $0 == weights[0] }, "equal weights whatever the number of processes: \(weights)")
        #expect(weight(h, "logins") == weight(h, "batch"), "logins and batch: one share each")
        await noFailures(h)

        // The last process of 1002 goes: so does its subgroup, at the next pass.
        h.kernel.kill(20)
        await h.agent.tick()
        #expect(!h.kernel.exists("/fairshare/logins/user-1002"))
        #expect(h.kernel.exists("/fairshare/logins/user-1001"))
        await noFailures(h)
    }

    @Test func userSharesChangeOneUsersWeight() async throws {
        // The harness resolves alice to 1001.
        let h = try Harness(policy: perUserPolicy.replacingOccurrences(of: "per_user = true", with: "per_user = true\nuser_shares = { alice = 3, \"1003\" = 2 }"))
        h.spawn(10, "burn", uid: 1001)
        h.spawn(20, "burn", uid: 1002)
        h.spawn(30, "burn", uid: 1003)
        await h.agent.tick()
        let (a, b, c) = (try #require(weight(h, "logins/user-1001")), try #require(weight(h, "logins/user-1002")), try #require(weight(h, "logins/user-1003")))
        #expect(a == 3 * b && c == 2 * b, "alice 3, 1003 2, the rest 1: \(a) \(b) \(c)")
        await noFailures(h)
    }

    @Test func userMaxCapsEverySubgroup() async throws {
        let h = try Harness(policy: perUserPolicy.replacingOccurrences(of: "per_user = true", with: "per_user = true\nuser_max = \"0.5\""))
        h.spawn(10, "burn", uid: 1001)
        h.spawn(20, "burn", uid: 1002)
        await h.agent.tick()
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/logins/user-1001") == "50000 100000")
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/logins/user-1002") == "50000 100000")
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/logins") == "max 100000", "the group itself is not capped")
        await noFailures(h)
    }

    @Test func usersBeyondMaxUsersShareTheOverflowSubgroup() async throws {
        let h = try Harness(policy: perUserPolicy.replacingOccurrences(of: "per_user = true", with: "per_user = true\nmax_users = 2"))
        for (i, uid) in [1001, 1002, 1003, 1004].enumerated() { h.spawn(Int32(10 + i), "burn", uid: UInt32(uid)) }
        await h.agent.tick()
        let places = (10...13).map { h.kernel.cgroupOf(Int32($0))! }
        #expect(places.filter { $0.hasPrefix("/fairshare/logins/user-") }.count == 2, "\(places)")
        #expect(places.filter { $0 == "/fairshare/logins/overflow" }.count == 2, "\(places)")
        #expect(try h.kernel.filesystem.children(of: CgroupPath("/fairshare/logins")!).count == 3, "two users and the overflow, no more")
        await noFailures(h)
    }

    @Test func nestedGroupsLieInTheirParentAndAreWeighedAmongSiblings() async throws {
        let h = try Harness(policy: nestedPolicy)
        h.spawn(10, "lab_a")
        h.spawn(11, "lab_b")
        h.spawn(12, "teach")
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/fairshare/research/lab-a")
        #expect(h.kernel.cgroupOf(11) == "/fairshare/research/lab-b")
        #expect(h.kernel.cgroupOf(12) == "/fairshare/teaching")
        #expect(Set(h.kernel.subtreeControl(of: "/fairshare/research")) == ["cpu", "io"])
        let (a, b) = (try #require(weight(h, "research/lab-a")), try #require(weight(h, "research/lab-b")))
        let (r, t) = (try #require(weight(h, "research")), try #require(weight(h, "teaching")))
        #expect(b == 2 * a, "lab-b : lab-a = 2 : 1, got \(b) : \(a)")
        #expect(r == 3 * t, "research : teaching = 3 : 1, got \(r) : \(t)")
        await noFailures(h)
    }

    @Test func aStopGivesEveryoneBackAndRemovesTheTreeChildrenFirst() async throws {
        let h = try Harness(policy: nestedPolicy + "\n" + perUserPolicy.components(separatedBy: "[[group]]").dropFirst().map { "[[group]]" + $0 }.joined())
        h.spawn(10, "lab_a")
        h.spawn(11, "burn", uid: 1001)
        h.spawn(12, "burn", uid: 1002)
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(11) == "/fairshare/logins/user-1001")
        await h.agent.shutdown()
        for pid: Int32 in 10...12 { #expect(h.kernel.cgroupOf(pid) == "/origin", "pid \(pid)") }
        let left = try h.kernel.filesystem.children(of: CgroupPath("/fairshare")!).filter { $0 != "_agent" }
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test func thePlanShowsEachUsersSubgroupAndTheMoves() async throws {
        let flat = perUserPolicy.replacingOccurrences(of: "per_user = true\n", with: "")
        let h = try Harness(policy: flat)
        h.spawn(10, "burn", uid: 1001)
        h.spawn(11, "burn", uid: 1001)
        h.spawn(12, "burn", uid: 1002)
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/fairshare/logins")
        let report = try await h.agent.plan(policy: perUserPolicy.replacingOccurrences(of: "per_user = true", with: "per_user = true\nuser_max = \"0.5\""),
                                           path: "/root/next.toml").get()
        let added = Dictionary(uniqueKeysWithValues: report.groups.filter { $0.change == .added }.map { ($0.name, $0) })
        #expect(Set(added.keys) == ["logins/user-1001", "logins/user-1002"], "\(report.groups.map { ($0.name, $0.change) })")
        #expect(added["logins/user-1001"]?.after?.members == 2)
        #expect(added["logins/user-1001"]?.after?.cpuMax == "50000 100000", "user_max in the plan: \(String(describing: added["logins/user-1001"]?.after))")
        #expect(report.moves.contains { $0.from == "logins" && $0.to == "logins/user-1001" && $0.count == 2 }, "\(report.moves)")
        #expect(h.kernel.cgroupOf(10) == "/fairshare/logins", "a plan moves nothing")
        #expect(!h.kernel.exists("/fairshare/logins/user-1001"), "a plan makes nothing")
    }

    @Test func statusShowsTheTreeAndTheUsersByName() async throws {
        let h = try Harness(policy: nestedPolicy + "\n" + perUserPolicy.components(separatedBy: "[[group]]").dropFirst().map { "[[group]]" + $0 }.joined())
        h.spawn(10, "lab_a")
        h.spawn(11, "burn", uid: 1001)
        h.spawn(12, "burn", uid: 1002)
        await h.agent.tick()
        let status = await h.agent.status()
        let rows = Dictionary(uniqueKeysWithValues: status.groups.map { ($0.name, $0) })
        #expect(rows["research/lab-a"]?.parent == "research")
        #expect(rows["research"]?.parent == nil)
        #expect(rows["logins/user-1001"]?.parent == "logins")
        #expect(rows["logins/user-1001"]?.uid == 1001 && rows["logins/user-1001"]?.user == "alice")
        #expect(rows["logins/user-1002"]?.uid == 1002 && rows["logins/user-1002"]?.user == nil, "no name: the uid alone")
        #expect(rows["logins/user-1001"]?.members == 1)
        #expect(rows["research/lab-a"]?.cpuTargetPercent == 100.0 * 3 / 4, "lab-a has all of research's part (3 of 4 shares with members)")
        #expect(rows["logins/user-1001"]?.cpuTargetPercent == 100.0 / 4 / 2, "half of logins' quarter")
        let explain = try #require(await h.agent.explain(pid: 11))
        #expect(explain.group == "logins/user-1001")
        #expect(explain.path == "logins / alice")
        let nested = try #require(await h.agent.explain(pid: 10))
        #expect(nested.path == "research / lab-a")
    }

    /// With kernel events, a user's first process gets its subgroup (with user_max) at once,
    /// not at the next pass; the exit of their last one removes it at the next pass.
    @Test func eventsMakeANewUsersSubgroupAtOnce() async throws {
        let h = try Harness(policy: perUserPolicy.replacingOccurrences(of: "per_user = true", with: "per_user = true\nuser_max = \"0.5\""),
                            events: FakeProcessEvents())
        h.spawn(10, "burn", uid: 1001)
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/fairshare/logins/user-1001")
        h.spawn(20, "burn", uid: 1002)
        await h.agent.handleEvents(.events([.exec(pid: 20, tgid: 20)], malformed: 0))
        #expect(h.kernel.cgroupOf(20) == "/fairshare/logins/user-1002", "placed by the event pass")
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/logins/user-1002") == "50000 100000", "capped from its first moment")
        #expect(h.journal.events("group_created").contains { $0["FAIRSHARE_GROUP"] == ["logins/user-1002"] })
        h.kernel.kill(20)
        await h.agent.handleEvents(.events([.exit(pid: 20, tgid: 20)], malformed: 0))
        await h.agent.tick()
        #expect(!h.kernel.exists("/fairshare/logins/user-1002"), "gone at the next pass")
        #expect(h.journal.events("group_removed").contains { $0["FAIRSHARE_GROUP"] == ["logins/user-1002"] })
        await noFailures(h)
    }

    @Test func anInvalidTreeIsKeptOutAndTheTreeInForceStays() async throws {
        let h = try Harness(policy: nestedPolicy)
        h.spawn(10, "lab_a")
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/fairshare/research/lab-a")
        // research's parent is lab-a, whose parent is research: a cycle.
        h.rewrite(nestedPolicy.replacingOccurrences(of: "name = \"research\"\nshares = 3", with: "name = \"research\"\nshares = 3\nparent = \"lab-a\""))
        await h.agent.reload()
        await h.agent.tick()
        let status = await h.agent.status()
        #expect(status.policy.lastReload?.applied == false)
        #expect(status.policy.lastReload?.error?.contains("cycle") == true, "\(String(describing: status.policy.lastReload?.error))")
        #expect(h.kernel.cgroupOf(10) == "/fairshare/research/lab-a", "the tree in force stays")
        #expect(Set(h.kernel.subtreeControl(of: "/fairshare/research")) == ["cpu", "io"])
    }

    @Test func aReloadThatEndsPerUserMovesEveryoneIntoTheGroup() async throws {
        let h = try Harness(policy: perUserPolicy)
        h.spawn(10, "burn", uid: 1001)
        h.spawn(11, "burn", uid: 1002)
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/fairshare/logins/user-1001")
        h.rewrite(perUserPolicy.replacingOccurrences(of: "per_user = true\n", with: ""))
        await h.agent.reload()
        await h.agent.tick()
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/fairshare/logins")
        #expect(h.kernel.cgroupOf(11) == "/fairshare/logins")
        #expect(!h.kernel.exists("/fairshare/logins/user-1001"))
        #expect(h.kernel.subtreeControl(of: "/fairshare/logins").isEmpty)
        await noFailures(h)
    }
}

/// Issue 20's cost bound: a pass reads a quiet user's cpu.stat only every few passes, and a
/// quiet user who starts to run is read (and redistributed for) in the very pass that sees its
/// group's usage grow.
@Suite struct QuietUserReadTests {
    @Test func quietUsersAreReadRarelyAndAWakerAtOnce() async throws {
        let h = try Harness(policy: perUserPolicy, events: FakeProcessEvents())
        let uids = Array(UInt32(2000)..<2020)
        for (i, uid) in uids.enumerated() { h.spawn(Int32(100 + i), "burn", uid: uid) }
        for _ in 0..<3 {
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
        let before = uids.map { h.kernel.cpuStatReads(of: "/fairshare/logins/user-\($0)") }
        let passes = Int(UserReadSchedule.quietEvery) * 2
        for _ in 0..<passes {
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
        let reads = zip(uids, before).map { h.kernel.cpuStatReads(of: "/fairshare/logins/user-\($0.0)") - $0.1 }
        #expect(reads.allSatisfy { $0 == 2 }, "each quiet user read once per \(UserReadSchedule.quietEvery) passes: \(reads)")
        #expect(h.kernel.cpuStatReads(of: "/fairshare/logins") > passes, "the group itself every pass")

        // uid 2013 uses 0.6 CPU over the next second: its group's counters show it, its own
        // subgroup is not due.
        h.kernel.setUsage("/fairshare/logins/user-2013", usageUsec: 600_000)
        h.kernel.setUsage("/fairshare/logins", usageUsec: 600_000)
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()
        let status = await h.agent.status()
        let row = try #require(status.groups.first { $0.name == "logins/user-2013" })
        #expect(abs((row.cpuUsageCPUs ?? 0) - 0.6) < 0.01, "seen in the same pass: \(row.cpuUsageCPUs ?? -1)")
        let quiet = try #require(status.groups.first { $0.name == "logins/user-2012" })
        #expect(quiet.cpuUsageCPUs == 0)
        await noFailuresIn(h)
    }

    /// A per_user group's directory is listed again only when its cgroup.stat counts other
    /// descendants, or after `relistEvery` passes: a subgroup someone else made is seen (and,
    /// empty, removed) in the next pass.
    @Test func theUsersAreListedAgainOnlyWhenTheirCountChanges() async throws {
        let h = try Harness(policy: perUserPolicy, events: FakeProcessEvents())
        let uids = Array(UInt32(2000)..<2020)
        for (i, uid) in uids.enumerated() { h.spawn(Int32(100 + i), "burn", uid: uid) }
        for _ in 0..<3 { await h.agent.tick() }
        #expect(uids.allSatisfy { h.kernel.exists("/fairshare/logins/user-\($0)") })
        // Over any relistEvery passes without a change, one listing.
        for round in 0..<2 {
            let before = h.kernel.listings(of: "/fairshare/logins")
            for _ in 0..<Int(UserListings.relistEvery) { await h.agent.tick() }
            #expect(h.kernel.listings(of: "/fairshare/logins") - before == 1, "round \(round)")
        }
        // Someone else's subgroup: the count changes, the next pass lists it and removes it (no members).
        h.kernel.makeCgroup("/fairshare/logins/user-3000")
        let before = h.kernel.listings(of: "/fairshare/logins")
        await h.agent.tick()
        #expect(h.kernel.listings(of: "/fairshare/logins") == before + 1)
        #expect(!h.kernel.exists("/fairshare/logins/user-3000"), "an empty user's subgroup nobody's processes are in is removed")
        h.kernel.makeCgroup("/fairshare/logins/user-3001")
        await h.agent.tick()
        #expect(!h.kernel.exists("/fairshare/logins/user-3001"), "and the next one made: listed and removed again")
        // cgroup.stat unreadable: the directory is listed in every pass.
        h.kernel.inject(errno: EACCES, file: .stat, cgroup: "/fairshare/logins")
        let unreadable = h.kernel.listings(of: "/fairshare/logins")
        for _ in 0..<3 { await h.agent.tick() }
        #expect(h.kernel.listings(of: "/fairshare/logins") - unreadable == 3)
        h.kernel.clearInjections()
        await noFailuresIn(h)
    }

    func noFailuresIn(_ h: Harness) async {
        let status = await h.agent.status()
        #expect(status.agent.failures == nil || status.agent.failures!.isEmpty, "\(status.agent.failures ?? [])")
    }
}

/// A user held back by its group's own cap: the group is throttled, its users share the
/// group's quota and one of them runs a little below its own cap (0.44 of 0.5 on the real
/// kernel) without being throttled itself. Only its waiting shows that it wants more, so a busy
/// user's cpu.pressure is read; a neighbour borrowing above user_max gives way.
@Suite struct HeldBackUserTests {
    /// `perUserPolicy` (logins per user, batch beside it, idle) with the group's cap and the
    /// users' caps and borrowing.
    static let policy = perUserPolicy.replacingOccurrences(
        of: "per_user = true", with: "per_user = true\nmax = \"1.5\"\nuser_max = \"0.5\"\nuser_borrow = true\nuser_burst = \"75%\"")

    /// alice alone (1.5 CPUs, throttled with her group) until bob comes back; then each second
    /// bob runs 0.44 CPU, waiting `bobWaits` of it, and alice the rest of the group's 1.5.
    /// - Returns: alice's cpu.max after two such seconds (bob's waiting is measured from the
    ///   first reading of his cpu.pressure, in the pass that sees him back).
    func aliceCapAfterBobReturns(bobWaits: Double) async throws -> String? {
        let h = try Harness(policy: Self.policy)
        h.spawn(10, "burn", uid: 1001)
        h.spawn(20, "burn", uid: 1002)
        var (alice, bob, group, throttled): (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var waited: UInt64 = 0
        func second(alice a: UInt64, bob b: UInt64) async {
            alice += a; bob += b; group += a + b; throttled += 10
            waited += b == 0 ? 0 : UInt64(bobWaits * 1e6)
            h.kernel.setUsage("/fairshare/logins/user-1001", usageUsec: alice, nrThrottled: throttled)
            h.kernel.setUsage("/fairshare/logins/user-1002", usageUsec: bob)
            h.kernel.setUsage("/fairshare/logins", usageUsec: group, nrThrottled: throttled)
            h.kernel.setPressure("/fairshare/logins", someTotalUsec: throttled * 50_000)
            h.kernel.setPressure("/fairshare/logins/user-1002", someTotalUsec: waited)
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
        await h.agent.tick()
        for _ in 0..<12 { await second(alice: 1_500_000, bob: 0) }
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/logins/user-1001") == "150000 100000", "alone, alice borrows up to user_burst")
        for _ in 0..<2 { await second(alice: 1_060_000, bob: 440_000) }
        return h.kernel.file(.cpuMax, of: "/fairshare/logins/user-1001")
    }

    /// The group's 1.5 CPUs split evenly: 0.5 each by user_max, the 0.5 the group's max
    /// leaves idle on the machine lent half and half.
    @Test func aUserWaitingBelowItsCapIsHungryAndItsNeighbourGivesWay() async throws {
        #expect(try await aliceCapAfterBobReturns(bobWaits: 0.6) == "75000 100000", "bob waits: he wants his part, alice gives way to half the group")
    }

    /// The same usage without waiting: bob wants no more, and alice keeps what he leaves.
    @Test func aUserBelowItsCapThatDoesNotWaitIsSatisfied() async throws {
        #expect(try await aliceCapAfterBobReturns(bobWaits: 0) == "106000 100000", "bob satisfied at 0.44: alice keeps the rest of the group's 1.5")
    }
}
