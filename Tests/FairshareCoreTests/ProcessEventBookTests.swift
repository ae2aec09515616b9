import FairshareTestSupport
import Testing

@testable import FairshareCore

/// Kernel events folded into what an event pass looks at, the figures status shows, when a pass
/// rescans, and the decide stage's plan for what events reported.
@Suite struct ProcessEventBookTests {
    typealias F = Fixture

    struct DigestCase: CustomTestStringConvertible, Sendable {
        var name: String
        var events: [ProcEvent]
        var members: Set<Int32> = []
        var reread: [Int32]
        var exited: [Int32] = []
        var testDescription: String { name }
    }

    static let digestCases: [DigestCase] = [
        DigestCase(name: "exec, uid, gid and comm name the process (tgid), not the thread",
                   events: [.exec(pid: 10, tgid: 10), .uid(pid: 21, tgid: 20, real: 1, effective: 1), .gid(pid: 30, tgid: 30, real: 2, effective: 2),
                            .comm(pid: 41, tgid: 40, comm: "x")],
                   reread: [10, 20, 30, 40]),
        DigestCase(name: "a fork is read only when the parent is a member", events: [.fork(parentTGID: 5, childPID: 6, childTGID: 6),
                                                                                     .fork(parentTGID: 7, childPID: 8, childTGID: 8)],
                   members: [5], reread: [6]),
        DigestCase(name: "a grandchild of a member born in the same batch is read too",
                   events: [.fork(parentTGID: 5, childPID: 6, childTGID: 6), .fork(parentTGID: 6, childPID: 9, childTGID: 9)],
                   members: [5], reread: [6, 9]),
        DigestCase(name: "thread forks and thread exits are ignored", events: [.fork(parentTGID: 5, childPID: 11, childTGID: 5),
                                                                             .exit(pid: 11, tgid: 5)],
                   members: [5], reread: []),
        DigestCase(name: "an exit drops what was pending for the process", events: [.exec(pid: 12, tgid: 12), .exit(pid: 12, tgid: 12)],
                   reread: [], exited: [12]),
        DigestCase(name: "a pid reused after an exit in the same batch is read again",
                   events: [.exit(pid: 13, tgid: 13), .exec(pid: 13, tgid: 13)], reread: [13], exited: [13]),
        DigestCase(name: "acks and unknown kinds are counted only", events: [.ack(err: 0), .other(what: 0x80)], reread: []),
    ]

    @Test(arguments: digestCases)
    func theDigestNamesWhatMustBeRead(_ c: DigestCase) {
        var d = EventDigest()
        for (i, e) in c.events.enumerated() { d.add(e, receivedAt: UInt64(100 + i), isMember: { c.members.contains($0) }) }
        #expect(d.reread.keys.sorted() == c.reread)
        #expect(d.exited == c.exited)
        #expect(d.counts.total == c.events.count)
    }

    @Test func theFirstEventAboutAProcessStartsItsLatency() {
        var d = EventDigest()
        d.add(.exec(pid: 1, tgid: 1), receivedAt: 5, isMember: { _ in false })
        d.add(.comm(pid: 1, tgid: 1, comm: "y"), receivedAt: 9, isMember: { _ in false })
        #expect(d.reread[1] == 5)
    }

    @Test func countsByKind() {
        var c = EventCounts()
        for e: ProcEvent in [.fork(parentTGID: 1, childPID: 2, childTGID: 2), .fork(parentTGID: 1, childPID: 3, childTGID: 2), .exec(pid: 2, tgid: 2),
                             .uid(pid: 2, tgid: 2, real: 0, effective: 0), .gid(pid: 2, tgid: 2, real: 0, effective: 0),
                             .comm(pid: 2, tgid: 2, comm: "c"), .exit(pid: 3, tgid: 2), .exit(pid: 2, tgid: 2), .other(what: 0x100)] {
            c.count(e)
        }
        #expect([c.fork, c.exec, c.uid, c.gid, c.comm, c.exit, c.thread, c.other] == [1, 1, 1, 1, 1, 1, 2, 1])
    }

    @Test func latencyQuantilesComeFromABoundedWindow() {
        var w = LatencyWindow()
        #expect(w.quantile(0.5) == nil)
        for ms in 1...100 { w.record(milliseconds: Double(ms)) }
        #expect(w.quantile(0.5) == 50)
        #expect(w.quantile(0.99) == 99)
        #expect(w.quantile(1) == 100)
        for _ in 0..<(LatencyWindow.capacity * 3) { w.record(milliseconds: 0.5) }
        #expect(w.count == LatencyWindow.capacity)
        #expect(w.quantile(0.99) == 0.5, "old samples leave the window")
    }

    /// The values kept in order as they come and go are the window sorted, after every record
    /// (duplicates, evictions of the smallest and the largest, a NaN left out).
    @Test func theKeptOrderIsTheWindowSorted() {
        var generator = SplitMix64(seed: 20)
        for capacity in [1, 2, 7, 64] {
            var r = RecentSamples(capacity: capacity)
            for i in 0..<(capacity * 5 + 3) {
                let v = i % 11 == 0 ? Double.nan : Double(generator.next() % 40) / 4
                r.record(v)
                #expect(r.ascending == r.values.sorted(), "capacity \(capacity), record \(i)")
                #expect(!r.values.contains { $0.isNaN })
            }
            let sorted = r.values.sorted()
            #expect(r.median == (sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2))
            #expect(r.quantile(1) == sorted.last)
        }
    }

    @Test func whenAPassRescans() {
        let every = Duration.seconds(60)
        let s = F.second
        var book = ProcessEventBook(unavailable: nil)
        #expect(book.scanDue(at: 0, every: every) == (true, .start))
        book.rescanned(.start, at: 0, corrected: 4)
        #expect(book.rescanFound == 0, "what the start scan finds is not a miss")
        #expect(book.scanDue(at: 59 * s, every: every) == (false, nil))
        #expect(book.scanDue(at: 60 * s, every: every) == (true, .periodic))
        book.rescanned(.periodic, at: 60 * s, corrected: 2)
        #expect(book.rescanFound == 2)
        book.overflowed()
        #expect(book.scanDue(at: 61 * s, every: every) == (true, .overflow))
        book.rescanned(.overflow, at: 61 * s, corrected: 7)
        #expect(book.rescanFound == 2)
        book.reloaded()
        #expect(book.scanDue(at: 62 * s, every: every) == (true, .reload))
        #expect(book.status.rescans == 3)

        let scanning = ProcessEventBook(unavailable: "no CAP_NET_ADMIN")
        #expect(scanning.scanDue(at: 1, every: every) == (true, nil), "without events every pass scans")
        #expect(scanning.status.source == "scan")
    }

    // MARK: The decide stage

    /// A reconciler whose groups exist and whose first (scanning) pass is done.
    static func started(_ processes: [ProcessInfo]) -> Passes {
        var p = Passes(F.twoGroups)
        p.run(Observation(at: 0, processes: processes, groupCgroups: .value([F.a, F.b])))
        return p
    }

    @Test func anEventPlanMovesWithTheLedgerAheadAndOnlyTheNamedProcesses() {
        var p = Self.started([F.process(10, "sh", in: "/user.slice/u"), F.process(11, "burn", in: "/user.slice/u")])
        // 11 matches too but no event names it: an event pass does not look at it.
        let plan = p.r.decideChanges(ProcessChanges(changed: [F.process(10, "burn", in: "/user.slice/u")]))
        guard case .recordOrigins(let ledger) = plan.steps.first else { Issue.record("\(plan.targets)"); return }
        #expect(ledger.members[F.process(10, "burn", in: "/user.slice/u").identity]?.group == F.a)
        #expect(plan.moves.map(\.0.pid) == [10])
        #expect(plan.creations.isEmpty && plan.removals.isEmpty)
    }

    @Test func anExitForgetsTheMemberWithoutAWrite() {
        var p = Self.started([F.process(10, "burn", in: "/user.slice/u")])
        #expect(p.r.member(pid: 10)?.group == F.a)
        let plan = p.r.decideChanges(ProcessChanges(exited: [10]))
        #expect(plan.steps.isEmpty, "no move, so no ledger write: \(plan.targets)")
        #expect(p.r.member(pid: 10) == nil)
        #expect(p.r.snapshot.memberCounts[F.a] == nil)
    }

    @Test func aMoveIntoAGroupThatDoesNotExistWaitsForThePass() {
        var p = Passes(F.twoGroups)
        p.run(Observation(at: 0, processes: [], groupCgroups: .value([F.b])), answer: { step in
            if case .createGroup = step { return failedEACCES }
            return .done
        })
        let plan = p.r.decideChanges(ProcessChanges(changed: [F.process(10, "burn", in: "/user.slice/u")]))
        #expect(plan.steps.isEmpty, "\(plan.targets)")
    }

    @Test func aPassWithoutAScanKeepsTheMembershipsAndStillCreatesMissingGroups() {
        var p = Self.started([F.process(10, "burn", in: "/user.slice/u")])
        let plan = p.run(Observation(at: 2 * F.second, processes: nil, groupCgroups: .value([F.b])))
        #expect(plan.creations == [F.a])
        #expect(plan.moves.isEmpty)
        #expect(p.r.member(pid: 10)?.group == F.a, "not scanned is not gone")
    }
}
