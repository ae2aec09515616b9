import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareTestSupport
import FairshareLinux
import Synchronization
import Testing

/// Issue 10: the kernel's process events, handed to the agent as the listener thread would,
/// re-classify processes at once; /proc is scanned only at start, after a reload, after an
/// overflow and every rescan_interval; where events are unavailable every pass scans.
@Suite struct ProcessEventTests {
    static let policy = """
        [agent]
        interval = "1s"
        report_interval = "10s"
        rescan_interval = "30s"

        [[group]]
        name = "build"
        shares = 2
        [group.match]
        comm = ["cc1", "ld"]

        [[group]]
        name = "alice"
        shares = 1
        [group.match]
        users = ["alice"]
        """

    /// A harness with events on, after its first pass (the start rescan).
    static func started(setUp: (Harness) -> Void = { _ in }) async throws -> Harness {
        let h = try Harness(policy: policy, events: FakeProcessEvents())
        setUp(h)
        await h.agent.tick()
        return h
    }

    @Test func anExecIntoAGroupMovesTheProcessWithoutAPass() async throws {
        let h = try await Self.started { $0.spawn(100, "sh") }
        #expect(h.kernel.cgroupOf(100) == "/origin")
        let scans = h.kernel.scanCount

        h.kernel.change(100) { $0.comm = "cc1"; $0.argv = ["cc1"] }
        h.clock.advance(by: .milliseconds(3))
        await h.agent.handleEvents(.events([.exec(pid: 100, tgid: 100)], malformed: 0))

        #expect(h.kernel.cgroupOf(100) == "/fairshare/build")
        #expect(h.kernel.scanCount == scans, "an event pass reads the named process, not all of /proc")
        let e = await h.agent.eventStatus
        #expect(e.source == "netlink")
        #expect(e.received.exec == 1)
        #expect(e.eventMoves == 1)
        #expect(e.latencyMilliseconds.samples == 1)
        #expect(h.journal.events("moved").count == 1)
    }

    @Test func aSetuidIntoAnotherUsersGroupMovesIt() async throws {
        let h = try await Self.started { $0.spawn(200, "sshd", uid: 0) }
        h.kernel.change(200) { $0.uid = 1001 }
        await h.agent.handleEvents(.events([.uid(pid: 200, tgid: 200, real: 1001, effective: 1001)], malformed: 0))
        #expect(h.kernel.cgroupOf(200) == "/fairshare/alice")
        // A thread's event names its process: the thread group is what moves.
        h.kernel.change(200) { $0.uid = 0 }
        await h.agent.handleEvents(.events([.uid(pid: 201, tgid: 200, real: 0, effective: 0)], malformed: 0))
        #expect(h.kernel.cgroupOf(200) == "/origin", "matching no group any more, it goes back where it came from")
    }

    @Test func aNewNameMovesAndAnUnmatchedNameGivesBack() async throws {
        let h = try await Self.started { $0.spawn(300, "worker") }
        h.kernel.change(300) { $0.comm = "ld" }
        await h.agent.handleEvents(.events([.comm(pid: 300, tgid: 300, comm: "ld")], malformed: 0))
        #expect(h.kernel.cgroupOf(300) == "/fairshare/build")
        h.kernel.change(300) { $0.comm = "idle" }
        await h.agent.handleEvents(.events([.comm(pid: 300, tgid: 300, comm: "idle")], malformed: 0))
        #expect(h.kernel.cgroupOf(300) == "/origin")
        #expect(h.journal.events("restored").count == 1)
    }

    @Test func aProcessThatExitsBeforeItsMoveIsACountedRaceNotAnError() async throws {
        let h = try await Self.started { $0.spawn(400, "cc1-to-be") }
        h.kernel.kill(400)
        await h.agent.handleEvents(.events([.exec(pid: 400, tgid: 400)], malformed: 0))
        let e = await h.agent.eventStatus
        #expect(e.races == 1)
        #expect(e.eventMoves == 0)
        #expect(h.journal.events("error").isEmpty)
        // Exec and exit in one batch: nothing to read, nothing to count as a race.
        h.spawn(401, "cc1")
        await h.agent.handleEvents(.events([.exec(pid: 401, tgid: 401), .exit(pid: 401, tgid: 401)], malformed: 0))
        #expect(h.kernel.cgroupOf(401) == "/origin")
        #expect(await h.agent.eventStatus.races == 1)
    }

    @Test func aMembersChildIsAdoptedOnForkAndForgottenOnExit() async throws {
        let h = try await Self.started { $0.spawn(500, "cc1") }
        #expect(h.kernel.cgroupOf(500) == "/fairshare/build")
        // The child is born in its parent's cgroup (the kernel does that); the agent records it.
        h.kernel.spawn(ProcessInfo(pid: 501, parentPID: 500, startTime: 7, comm: "cc1", argv: ["cc1"], cgroup: "/fairshare/build"))
        // A thread of the same process: ignored.
        await h.agent.handleEvents(.events([.fork(parentTGID: 500, childPID: 501, childTGID: 501), .fork(parentTGID: 500, childPID: 502, childTGID: 500)],
                                           malformed: 0))
        var s = await h.agent.status()
        #expect(s.groups.first { $0.name == "build" }?.members == 2)
        #expect(s.agent.events?.received.thread == 1)
        h.kernel.kill(501)
        await h.agent.handleEvents(.events([.exit(pid: 501, tgid: 501)], malformed: 0))
        s = await h.agent.status()
        #expect(s.groups.first { $0.name == "build" }?.members == 1)
        #expect(s.agent.events?.received.exit == 1)
        // A fork of a process that is no member is not even read.
        h.spawn(600, "bash")
        h.kernel.spawn(ProcessInfo(pid: 601, parentPID: 600, startTime: 9, comm: "cc1", argv: ["cc1"], cgroup: "/origin"))
        await h.agent.handleEvents(.events([.fork(parentTGID: 600, childPID: 601, childTGID: 601)], malformed: 0))
        #expect(h.kernel.cgroupOf(601) == "/origin", "a non-member's child waits for its own exec (or the rescan)")
    }

    @Test func passesBetweenRescansDoNotWalkProcAndTheSafetyNetCountsWhatEventsMissed() async throws {
        let h = try await Self.started { $0.spawn(700, "cc1") }
        #expect(h.kernel.scanCount == 1, "the first pass is the start rescan")
        // A process the events never told of (as if its exec event was lost).
        h.spawn(701, "ld")
        for _ in 0..<5 {
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
        #expect(h.kernel.scanCount == 1)
        #expect(h.kernel.cgroupOf(701) == "/origin")
        h.clock.advance(by: .seconds(25))
        await h.agent.tick()
        #expect(h.kernel.scanCount == 2, "rescan_interval (30s) passed")
        #expect(h.kernel.cgroupOf(701) == "/fairshare/build")
        let e = await h.agent.eventStatus
        #expect(e.rescans == 2)
        #expect(e.rescanFound == 1)
    }

    @Test func theJournalSummaryCarriesTheEventFigures() async throws {
        let h = try await Self.started { $0.spawn(1200, "sh") }
        h.kernel.change(1200) { $0.comm = "ld" }
        await h.agent.handleEvents(.events([.exec(pid: 1200, tgid: 1200)], malformed: 0))
        for _ in 0..<12 {
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
        let summary = try #require(h.journal.events("summary").last)
        #expect(summary["FAIRSHARE_EVENTS_SOURCE"] == ["netlink"])
        #expect(summary["FAIRSHARE_EVENTS_RECEIVED"] == ["1"])
        #expect(summary["FAIRSHARE_RESCAN_FOUND"] == ["0"])
        #expect(summary["FAIRSHARE_LATENCY_P99_MS"] != nil)
        #expect(summary["MESSAGE"]?.first?.contains("events: 1 received, 0 overflows") == true)
    }

    @Test func anOverflowRescansAtOnceAndSaysSo() async throws {
        let h = try await Self.started()
        h.spawn(800, "cc1")
        await h.agent.handleEvents(.overflow)
        #expect(h.kernel.cgroupOf(800) == "/fairshare/build")
        let e = await h.agent.eventStatus
        #expect(e.overflows == 1)
        #expect(e.rescans == 2)
        #expect(e.rescanFound == 0, "what an overflow rescan finds was known to be missed")
        let warning = h.journal.events("events_overflow")
        #expect(warning.count == 1)
        #expect(warning.first?["PRIORITY"] == ["4"])
    }

    @Test func aReloadRescans() async throws {
        let h = try await Self.started()
        h.spawn(900, "cc1")
        await h.agent.reload()
        #expect(h.kernel.cgroupOf(900) == "/fairshare/build")
        #expect(await h.agent.eventStatus.rescans == 2)
    }

    @Test func withoutEventsEveryPassScansAndTheJournalSaysWhyOnce() async throws {
        let h = try Harness(policy: Self.policy, eventsUnavailable: "no CAP_NET_ADMIN (the listen request needs it)")
        let (triggers, input) = AsyncStream<Trigger>.makeStream()
        input.yield(.tick)
        input.yield(.tick)
        input.yield(.shutdown)
        await h.agent.run(triggers: triggers)
        #expect(h.kernel.scanCount >= 3 + 1, "start, two ticks and the shutdown's release scan")
        let warning = h.journal.events("events_unavailable")
        #expect(warning.count == 1)
        #expect(warning.first?["MESSAGE"]?.first?.contains("no CAP_NET_ADMIN") == true)
        let e = await h.agent.eventStatus
        #expect(e.source == "scan")
        #expect(e.fallbackReason == "no CAP_NET_ADMIN (the listen request needs it)")
        #expect(e.rescans == 0)
    }

    @Test func aClosedSourceFallsBackToScanning() async throws {
        let h = try await Self.started()
        await h.agent.handleEvents(.closed("recv: Bad file descriptor (errno 9)"))
        let e = await h.agent.eventStatus
        #expect(e.source == "scan")
        #expect(e.fallbackReason?.contains("Bad file descriptor") == true)
        #expect(h.journal.events("events_unavailable").count == 1)
        let scans = h.kernel.scanCount
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()
        #expect(h.kernel.scanCount == scans + 1)
    }

    @Test func shutdownClosesTheSourceAndGivesEveryProcessBack() async throws {
        let events = FakeProcessEvents()
        let h = try Harness(policy: Self.policy, events: events)
        h.spawn(1000, "sh")
        await h.agent.tick()
        h.kernel.change(1000) { $0.comm = "cc1" }
        await h.agent.handleEvents(.events([.exec(pid: 1000, tgid: 1000)], malformed: 0))
        #expect(h.kernel.cgroupOf(1000) == "/fairshare/build")
        let report = await h.agent.shutdown()
        #expect(events.isClosed)
        #expect(h.kernel.cgroupOf(1000) == "/origin")
        #expect(report?.complete == true)
    }

    @Test func theOriginLedgerIsWrittenBeforeAnEventMove() async throws {
        /// Remembers, at each save, whether pid 1100 had been moved already.
        final class OrderedStore: OriginStore, Sendable {
            let kernel: FakeKernel
            let saves = Mutex<[(movedBefore: Bool, text: String)]>([])
            init(kernel: FakeKernel) { self.kernel = kernel }
            func load() throws -> String? { nil }
            func save(_ t: String) throws {
                let moved = kernel.cgroupOf(1100) == "/fairshare/build"
                saves.withLock { $0.append((moved, t)) }
            }
        }
        let kernel = FakeKernel()
        let store = OrderedStore(kernel: kernel)
        kernel.makeCgroup("/origin")
        kernel.makeCgroup("/user.slice/user-1000.slice")
        let tree = CgroupTree(fs: kernel.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        _ = try tree.prepare(agentPID: 4242, agentCgroup: CgroupPath("/origin"))
        kernel.spawn(ProcessInfo(pid: 1100, startTime: 5, comm: "sh", argv: ["sh"], cgroup: "/user.slice/user-1000.slice"))
        let env = AgentEnvironment(cgroups: tree, processes: kernel.processSource, clock: ManualClock(), notifier: RecordingNotifier(),
                                   readFile: { _ in Self.policy }, resolveUser: { $0 == "alice" ? 1001 : nil },
                                   agentPID: 4242, capacityCPUs: 2, origins: store, events: FakeProcessEvents())
        let agent = Agent(policy: try PolicyParser.parse(Self.policy, file: "p.toml"), policyPath: "p.toml", env: env,
                          logger: RecordingJournal().logger())
        await agent.tick()
        kernel.change(1100) { $0.comm = "cc1" }
        await agent.handleEvents(.events([.exec(pid: 1100, tgid: 1100)], malformed: 0))
        #expect(kernel.cgroupOf(1100) == "/fairshare/build")
        let saves = store.saves.withLock { $0 }
        let recording = saves.filter { $0.text.contains("1100\t5\tmatched\tbuild\t/user.slice/user-1000.slice") }
        #expect(recording.first?.movedBefore == false, "the origin is on disk before the move: \(saves.map(\.text))")
    }
}
