import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Issue 19: a /proc that can not be read is an error, never "no processes". Before, an
// opendir("/proc") that failed (EMFILE under a descriptor storm) returned an empty scan: every
// member was forgotten, an empty origin ledger was written, and at stop nothing was given back
// and the ledger was wiped, so `fairshare recover` had nothing to restore.

private let emfile = "cannot read /proc: Too many open files (errno 24)"

@Suite struct UnreadableProcTests {
    /// Where each process is, by pid.
    func placement(_ m: ServiceMachine) -> [Int32: String] {
        Dictionary(uniqueKeysWithValues: [10, 11, 12, 13].map { ($0, m.kernel.cgroupOf($0) ?? "gone") })
    }

    @Test func anUnlistableProcKeepsEveryMemberTheLedgerAndTheGroupsThenRecovers() async throws {
        let m = try ServiceMachine()
        let agent = try m.startAgent(pid: 4242)
        await agent.tick()
        let placed = placement(m)
        #expect(placed[10] == m.group("low") && placed[11] == m.group("mid") && placed[12] == m.group("high"))
        let ledger = try #require(try m.store.load())
        #expect(try OriginLedger.decode(ledger).members.count == 3)

        m.kernel.failProcListing(emfile)
        for _ in 0..<3 { await agent.tick() }
        #expect(placement(m) == placed, "nobody moved")
        #expect(try m.store.load() == ledger, "the ledger is not rewritten")
        for g in ["low", "mid", "high"] { #expect(m.kernel.exists(m.group(g))) }
        let members = await agent.status().groups.map(\.members)
        #expect(members == [1, 1, 1], "every membership kept")
        let told = m.journal.events("error", target: "scanning /proc")
        #expect(told.count == 1, "told once: \(told)")
        #expect(told.first?["MESSAGE"]?.first?.contains("Too many open files") == true)
        #expect(await agent.status().agent.failures?.first { $0.target == "scanning /proc" }?.count == 3)

        m.kernel.failProcListing(nil)
        m.spawn(14, "burn_a", in: ServiceMachine.session, uid: 1000)
        await agent.tick()
        #expect(m.journal.events("recovered").contains { $0["FAIRSHARE_TARGET"] == ["scanning /proc"] })
        #expect(m.kernel.cgroupOf(14) == m.group("low"), "scanning again once /proc reads")
        #expect(try OriginLedger.decode(try #require(try m.store.load())).members.count == 4)
    }

    @Test func stoppedWithoutProcThenRecoverGivesEveryProcessBackToItsOrigin() async throws {
        let m = try ServiceMachine()
        let agent = try m.startAgent(pid: 4242)
        await agent.tick()
        m.kernel.failProcListing(emfile)
        let release = try #require(await agent.shutdown())
        #expect(release.processesUnreadable?.contains("Too many open files") == true)
        #expect(!release.complete)
        #expect(m.kernel.cgroupOf(10) == m.group("low"), "nobody given back blind")
        let stopping = m.journal.events("stopping").first?["MESSAGE"]?.first ?? ""
        #expect(stopping.contains("fairshare recover"), "\(stopping)")
        #expect(m.journal.events("stopping").first?["PRIORITY"] == ["4"], "an incomplete stop is a warning")
        // The ledger still names every origin.
        let kept = try OriginLedger.decode(try #require(try m.store.load()))
        #expect(Set(kept.members.values.map(\.origin)) == [ServiceMachine.session, ServiceMachine.cron])
        #expect(kept.members.count == 3)

        m.kernel.kill(4242)
        m.kernel.failProcListing(nil)
        let outcome = try await Recovery.run(mode: .handBack, tree: m.tree, processes: m.kernel.processSource, origins: m.store,
                                             capacityCPUs: 2, logger: m.journal.logger())
        #expect(outcome.populatedGroups.isEmpty)
        #expect(m.kernel.cgroupOf(10) == ServiceMachine.session)
        #expect(m.kernel.cgroupOf(11) == ServiceMachine.cron)
        #expect(m.kernel.cgroupOf(12) == ServiceMachine.session)
        #expect(m.kernel.cgroupOf(13) == ServiceMachine.session)
    }

    @Test func recoverWithoutProcSaysSoAndKeepsTheLedger() async throws {
        let m = try ServiceMachine()
        let agent = try m.startAgent(pid: 4242)
        await agent.tick()
        m.kernel.kill(4242)
        m.kernel.failProcListing(emfile)
        let outcome = try await Recovery.run(mode: .handBack, tree: m.tree, processes: m.kernel.processSource, origins: m.store,
                                             capacityCPUs: 2, logger: m.journal.logger())
        #expect(outcome.problems.contains { $0.contains("Too many open files") }, "\(outcome.problems)")
        #expect(Set(outcome.populatedGroups.map(\.rawValue)) == ["low", "mid", "high"])
        #expect(try OriginLedger.decode(try #require(try m.store.load())).members.count == 3, "kept for the next try")
    }

    @Test func anUnreadableProcessKeepsItsMembershipAndIsNotMovedUntilItReads() async throws {
        let m = try ServiceMachine()
        let agent = try m.startAgent(pid: 4242)
        await agent.tick()
        m.kernel.makeUnreadable(10, "cannot read /proc/10/status: Too many open files (errno 24)")
        m.spawn(15, "burn_b", in: ServiceMachine.session, uid: 1000)
        m.kernel.makeUnreadable(15, "cannot parse /proc/15/cgroup: no cgroup v2 path")
        for _ in 0..<3 { await agent.tick() }
        #expect(m.kernel.cgroupOf(10) == m.group("low"))
        #expect(m.kernel.cgroupOf(15) == ServiceMachine.session, "not classified while it can not be read")
        #expect(await agent.status().groups.first { $0.name == "low" }?.members == 1)
        let told = m.journal.events("error", target: "reading processes under /proc")
        #expect(told.count == 1)
        #expect(told.first?["PRIORITY"] == ["4"])
        #expect(told.first?["MESSAGE"]?.first?.contains("2 process(es)") == true)

        m.kernel.makeUnreadable(10, nil)
        m.kernel.makeUnreadable(15, nil)
        await agent.tick()
        #expect(m.kernel.cgroupOf(15) == m.group("mid"))
        #expect(m.journal.events("recovered").contains { $0["FAIRSHARE_TARGET"] == ["reading processes under /proc"] })
    }

    @Test func anEventAboutAnUnreadableProcessKeepsItAndOwesARescan() async throws {
        let h = try await ProcessEventTests.started { $0.spawn(100, "cc1") }
        #expect(h.kernel.cgroupOf(100) == "/fairshare/build")
        h.kernel.change(100) { $0.comm = "sh"; $0.argv = ["sh"] }
        h.kernel.makeUnreadable(100, emfile)
        await h.agent.handleEvents(.events([.exec(pid: 100, tgid: 100)], malformed: 0))
        #expect(h.kernel.cgroupOf(100) == "/fairshare/build", "not given back on a read that failed")
        #expect(await h.agent.status().groups.first { $0.name == "build" }?.members == 1)
        #expect(await h.agent.eventStatus.races == 0, "an unreadable process is no race with an exit")
        let scans = h.kernel.scanCount
        h.kernel.makeUnreadable(100, nil)
        await h.agent.tick()
        #expect(h.kernel.scanCount == scans + 1, "the next pass rescans")
        #expect(h.kernel.cgroupOf(100) == "/origin", "read again: it matches nothing now and goes back")
    }
}

@Suite struct GroupFileTableAgentTests {
    /// A group file missing from a group that exists is a failure to report (the controller is
    /// off), not a vanished group to forget and re-create every pass.
    @Test func aMissingCPUWeightInAGroupThatExistsIsAFailureNotAVanishedGroup() async throws {
        let h = try Harness(policy: threeGroups)
        h.kernel.inject(errno: ENOENT, file: .cpuWeight, cgroup: "/fairshare/low", operation: .write)
        await h.agent.tick()
        await h.agent.tick()
        let told = h.journal.events("error", target: "cpu.weight of group low")
        #expect(told.count == 1)
        #expect(told.first?["MESSAGE"]?.first?.contains("the cpu controller is not enabled for group low") == true)
        #expect(h.journal.events("group_created").count == 3, "created once, not again every pass")
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/low") == "max 100000")
    }

    /// A group the agent can not remove at stop (a process in it could not be given back) gets
    /// the kernel's defaults back: no cap, burst or weight of a stopped agent stays in force.
    @Test func aGroupLeftBehindAtStopGetsTheKernelsDefaultsBack() async throws {
        let h = try Harness(policy: """
            [agent]
            interval = "1s"

            [[group]]
            name = "capped"
            shares = 3
            max = "0.5"
            [group.match]
            comm = ["burn_a"]
            """)
        h.spawn(10, "burn_a")
        await h.agent.tick()
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/capped") == "50000 100000")
        #expect(h.kernel.file(.cpuWeight, of: "/fairshare/capped") == "102", "shares 3 on the one whole factor")
        h.kernel.inject(errno: EACCES, file: .procs, cgroup: "/origin", operation: .write)
        h.kernel.inject(errno: EACCES, file: .procs, cgroup: "/", operation: .write)
        let release = try #require(await h.agent.shutdown())
        #expect(release.groupsLeft.map(\.group.rawValue) == ["capped"])
        #expect(h.kernel.cgroupOf(10) == "/fairshare/capped" && h.kernel.process(10) != nil, "kept, alive")
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/capped") == "max 100000", "the cap is lifted")
        #expect(h.kernel.file(.cpuWeight, of: "/fairshare/capped") == "100", "the kernel's default weight")
        #expect(h.kernel.writes.suffix(3).map(\.1) == ["100", "default 100", "max 100000"], "the defaults, after the release")
    }
}

@Suite struct DescriptorReserveAgentTests {
    /// The agent tells a full descriptor table once (its reserve given up), goes on working on
    /// the reserve, and tells "recovered" once the reserve is taken back.
    @Test func aFullDescriptorTableIsToldOnceAndRecovered() async throws {
        let table = FakeDescriptors()
        let reserve = table.reserve()
        let m = try ServiceMachine()
        let agent = try m.startAgent(pid: 4242, descriptors: reserve)
        reserve.arm()
        await agent.tick()
        table.free = 0
        reserve.note(openFailure: EMFILE, path: "/proc")
        for _ in 0..<3 { await agent.tick() }
        let told = m.journal.events("error", target: "the agent's descriptors")
        #expect(told.count == 1)
        #expect(told.first?["MESSAGE"]?.first?.contains("the descriptor table is full") == true)
        #expect(m.kernel.cgroupOf(10) == m.group("low"), "members kept")
        table.free = 100
        await agent.tick()
        #expect(m.journal.events("recovered").contains { $0["FAIRSHARE_TARGET"] == ["the agent's descriptors"] })
        #expect(reserve.held == DescriptorReserve.size)
    }
}
