import FairshareCore
import FairshareEdge
@testable import FairshareLinux
import Foundation
import Synchronization
import NIOConcurrencyHelpers
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The namespace and capability checks, as a table: each fact that silences the connector
/// gives its own reason.
@Suite struct ProcessEventsAccessTests {
    static let initial = ProcessEventsAccess(
        pidNamespace: ProcessEventsAccess.initialPIDNamespace,
        userNamespace: ProcessEventsAccess.initialUserNamespace,
        netNamespace: 4026531840, initNetNamespace: 4026531840,
        effectiveCapabilities: 0x000001ff_ffffffff)

    static func with(_ change: (inout ProcessEventsAccess) -> Void) -> ProcessEventsAccess {
        var access = initial
        change(&access)
        return access
    }

    @Test(arguments: [
        ("host root", initial, nil),
        ("only CAP_NET_ADMIN", with { $0.effectiveCapabilities = 1 << 12 }, nil),
        // PID 1's net namespace unreadable: the listen request tells (ECONNREFUSED elsewhere).
        ("init net unknown", with { $0.initNetNamespace = nil }, nil),
        ("container pid ns", with { $0.pidNamespace = 4026532201 }, "not in the initial PID namespace"),
        ("user ns", with { $0.userNamespace = 4026532202 }, "not in the initial user namespace"),
        ("PrivateNetwork", with { $0.netNamespace = 4026532300 }, "not in the initial network namespace"),
        ("no CAP_NET_ADMIN", with { $0.effectiveCapabilities = 0x000001ff_ffffefff }, "no CAP_NET_ADMIN"),
        ("no capabilities", with { $0.effectiveCapabilities = 0 }, "no CAP_NET_ADMIN"),
        ("status unreadable", with { $0.effectiveCapabilities = nil }, "CapEff"),
        ("ns unreadable", with { $0.pidNamespace = nil }, "/proc/self/ns/pid"),
        // The PID namespace is named first: in a container the rest says nothing.
        ("container, no caps", with { $0.pidNamespace = 1; $0.effectiveCapabilities = 0 }, "PID namespace"),
    ] as [(String, ProcessEventsAccess, String?)])
    func check(name: String, access: ProcessEventsAccess, reason: String?) {
        do {
            try access.check()
            #expect(reason == nil, "\(name): passed")
        } catch {
            #expect(reason != nil && error.reason.contains(reason!), "\(name): \(error.reason)")
        }
    }

    @Test func readsInodesAndCapEffUnderTheGivenRoot() throws {
        let tree = try TempTree([
            "thread-self/status": "Name:\tfairshare\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000001000\n"
        ])
        let inodes = [
            "\(tree.path)/self/ns/pid": UInt64(0xEFFF_FFFC), "\(tree.path)/self/ns/user": 0xEFFF_FFFD,
            "\(tree.path)/self/ns/net": 7, "\(tree.path)/1/ns/net": 8,
        ]
        let access = ProcessEventsAccess.read(procRoot: tree.path) { inodes[$0] }
        #expect(access == ProcessEventsAccess(
            pidNamespace: 0xEFFF_FFFC, userNamespace: 0xEFFF_FFFD, netNamespace: 7, initNetNamespace: 8,
            effectiveCapabilities: 0x1000))
        #expect(throws: ProcessEventsUnavailable.self) { try access.check() }
    }

    @Test(arguments: [
        ("CapEff:\t0000003fffffffff\n", UInt64?.some(0x3f_ffff_ffff)),
        ("Name:\tx\nCapEff:\t0000000000000000\nCapBnd:\tffff\n", 0),
        ("Name:\tx\n", nil),
        ("CapEff:\tzz\n", nil),
    ])
    func parsesCapEff(status: String, expected: UInt64?) {
        #expect(ProcessEventsAccess.parseEffectiveCapabilities(status) == expected)
    }

    /// This machine (CI is this machine) runs in the initial namespaces with CAP_NET_ADMIN: the
    /// real /proc must say so, or the live tests below could not work either.
    @Test func thisHostPassesTheCheck() throws {
        let access = ProcessEventsAccess.read()
        #expect(access.pidNamespace == ProcessEventsAccess.initialPIDNamespace)
        #expect(access.userNamespace == ProcessEventsAccess.initialUserNamespace)
        // PID 1's namespace links may be closed to us (they are in this sandbox): then unknown.
        #expect(access.netNamespace != nil)
        #expect(access.initNetNamespace == nil || access.initNetNamespace == access.netNamespace)
        try access.check()
    }

    @Test func openRefusesBeforeTouchingTheKernelWhenTheCheckFails() {
        let source = NetlinkProcessEvents { Self.with { $0.userNamespace = 99 } }
        #expect { try source.open() } throws: { ($0 as? ProcessEventsUnavailable)?.reason.contains("user namespace") == true }
        #expect(source.receiveBufferBytes == 0)
        #expect(source.receive() == .closed("the process event source is closed"))
    }
}

/// Receives on its own thread until the source closes, keeping what it got.
final class EventCollector: Sendable {
    let events = NIOLockedValueBox<[ProcEvent]>([])
    let overflows = Atomic<Int>(0)
    let deliveries = Atomic<Int>(0)
    let end = NIOLockedValueBox<ProcessEventDelivery?>(nil)

    init(_ source: NetlinkProcessEvents) {
        let thread = Thread { [self] in
            while true {
                let delivery = source.receive()
                deliveries.add(1, ordering: .relaxed)
                switch delivery {
                case .events(let got, _): events.withLockedValue { $0 += got }
                case .overflow: overflows.add(1, ordering: .relaxed)
                case .closed: end.withLockedValue { $0 = delivery }; return
                }
            }
        }
        thread.start()
    }

    /// Waits up to `seconds` for `condition` over everything received so far.
    func wait(seconds: Double, until condition: ([ProcEvent]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if events.withLockedValue({ condition($0) }) { return true }
            usleep(10_000)
        }
        return events.withLockedValue { condition($0) }
    }

    func waitForEnd(seconds: Double) -> ProcessEventDelivery? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let done = end.withLockedValue({ $0 }) { return done }
            usleep(10_000)
        }
        return end.withLockedValue { $0 }
    }
}

/// posix_spawn of `path` with `arguments`; the child's pid.
func spawn(_ path: String, _ arguments: [String]) -> pid_t {
    var pid: pid_t = 0
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let rc = posix_spawn(&pid, path, nil, nil, argv, environ)
    precondition(rc == 0, "posix_spawn \(path): \(rc)")
    return pid
}

func reap(_ pid: pid_t) {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}

/// Reaps `pid` if it ends within `seconds`, else kills it first: a test never blocks a
/// concurrency-pool thread for good on a child that hangs (a fresh-clone run hung here, the
/// burst's /bin/sh asleep in its `wait`, and with it every test waiting for a pool thread).
func reap(_ pid: pid_t, within seconds: Double) {
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid || (r < 0 && errno != EINTR) { return }
        usleep(10_000)
    }
    kill(pid, SIGKILL)
    reap(pid)
}

/// The real connector of this host's kernel.
@Suite(.serialized) struct NetlinkProcessEventsLiveTests {
    @Test func seesForkExecAndExitOfASpawnedProcess() throws {
        let source = NetlinkProcessEvents()
        try source.open()
        defer { source.close() }
        print("proc connector: receive buffer \(source.receiveBufferBytes) bytes (SO_RCVBUFFORCE \(source.receiveBufferForced ? "granted" : "refused"))")
        #expect(source.receiveBufferForced)
        #expect(source.receiveBufferBytes >= 2 * Int(NetlinkProcessEvents.defaultSocketBuffer))
        let collector = EventCollector(source)

        let me = getpid()
        let child = spawn("/bin/true", [])
        reap(child)
        let expected: [ProcEvent] = [
            .fork(parentTGID: me, childPID: child, childTGID: child),
            .exec(pid: child, tgid: child),
            .exit(pid: child, tgid: child),
        ]
        let seen = collector.wait(seconds: 5) { events in expected.allSatisfy(events.contains) }
        let mine = collector.events.withLockedValue { $0.filter { Self.concerns($0, child) } }
        #expect(seen, "events of pid \(child): \(mine)")
        // In the kernel's order.
        #expect(mine.filter(expected.contains) == expected)
    }

    @Test func closeFromAnotherThreadEndsABlockedReceive() throws {
        let source = NetlinkProcessEvents()
        try source.open()
        // Subscribed, but the kernel (6.6 on) filters everything out for this socket: only
        // close can end the receive, not the host's other processes' events.
        source.ignoreEvents()
        let collector = EventCollector(source)
        usleep(300_000)  // it takes what came before the ignore (the host is busy), then blocks
        let before = collector.deliveries.load(ordering: .relaxed)
        usleep(300_000)
        #expect(collector.deliveries.load(ordering: .relaxed) == before, "the receive did not block")
        #expect(collector.end.withLockedValue { $0 } == nil)
        source.close()
        #expect(collector.waitForEnd(seconds: 2) == .closed("the process event source is closed"))
        // Closed for good: a later receive says so at once, and open does not reopen.
        #expect(source.receive() == .closed("the process event source is closed"))
        #expect(throws: ProcessEventsUnavailable.self) { try source.open() }
    }

    /// A receive buffer too small for a burst overflows: ENOBUFS comes as `.overflow`, and the
    /// source keeps delivering events afterwards.
    @Test func overflowIsReportedAndReceivingGoesOn() throws {
        // The kernel's minimum (SOCK_MIN_RCVBUF, ~2.3 KB): a handful of datagrams.
        let source = NetlinkProcessEvents(socketBuffer: 1)
        try source.open()
        defer { source.close() }
        #expect(source.receiveBufferBytes < 8192)
        // Nobody reads while 50 processes start and end: far more than the buffer holds.
        for _ in 0..<50 { reap(spawn("/bin/true", [])) }
        var sawOverflow = false
        for _ in 0..<20 where !sawOverflow {
            if source.receive() == .overflow { sawOverflow = true }
        }
        #expect(sawOverflow)
        // Events keep coming after it. (Not necessarily ours: a buffer this small overflows
        // again whenever the host is busy, so start processes until something arrives.)
        let collector = EventCollector(source)
        var received = false
        for _ in 0..<50 where !received {
            reap(spawn("/bin/true", []))
            received = collector.wait(seconds: 0.1) { !$0.isEmpty }
        }
        #expect(received)
    }

    /// A burst of forks (a shell starting `FAIRSHARE_BURST_FORKS`, default 2,000, background
    /// subshells) while a reader drains, as the agent does: every fork and exit arrives, no
    /// overflow with the default buffer. Prints the figures.
    @Test func burstOfForksArrivesWhole() throws {
        let forks = getenv("FAIRSHARE_BURST_FORKS").flatMap { Int(String(cString: $0)) } ?? 2000
        let source = NetlinkProcessEvents()
        try source.open()
        defer { source.close() }
        let collector = EventCollector(source)
        let started = Date()
        let shell = spawn("/bin/sh", ["-c", "i=0; while [ $i -lt \(forks) ]; do ( : ) & i=$((i+1)); done; wait"])
        let done = collector.wait(seconds: 30) { Self.burst($0, shell: shell).exits >= forks }
        reap(shell, within: 5)
        let elapsed = Date().timeIntervalSince(started)
        let all = collector.events.withLockedValue { $0 }
        let burst = Self.burst(all, shell: shell)
        print("burst: \(forks) forks from pid \(shell) in \(String(format: "%.2f", elapsed)) s: \(burst.forks) forks and \(burst.exits) exits of them seen, \(all.count) events in \(collector.deliveries.load(ordering: .relaxed)) deliveries (host-wide), \(collector.overflows.load(ordering: .relaxed)) overflows, receive buffer \(source.receiveBufferBytes) bytes")
        #expect(collector.overflows.load(ordering: .relaxed) == 0)
        #expect(done)
        #expect(burst.forks == forks)
    }

    /// Forks by `shell` and exits of those children (in any order: events of different CPUs
    /// are not ordered with each other).
    static func burst(_ events: [ProcEvent], shell: pid_t) -> (forks: Int, exits: Int) {
        var children = Set<Int32>()
        for case .fork(let parent, let pid, let tgid) in events where parent == shell && pid == tgid {
            children.insert(pid)
        }
        var exits = 0
        for case .exit(let pid, let tgid) in events where pid == tgid && children.contains(pid) { exits += 1 }
        return (children.count, exits)
    }

    static func concerns(_ event: ProcEvent, _ pid: pid_t) -> Bool {
        switch event {
        case .fork(_, let child, let tgid): child == pid || tgid == pid
        case .exec(let p, let t), .exit(let p, let t), .uid(let p, let t, _, _), .gid(let p, let t, _, _),
            .comm(let p, let t, _):
            p == pid || t == pid
        case .ack, .other: false
        }
    }
}
