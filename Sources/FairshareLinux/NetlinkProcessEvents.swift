import FairshareCore
import FairshareEdge
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What decides whether the kernel's process connector will talk to this process. The kernel
/// gives no error for most of these: it ignores a listen request from a PID or user namespace
/// other than the initial one, and multicasts only into the initial network namespace, so a
/// listener there would wait for events that never come. Read first, then `check()`.
public struct ProcessEventsAccess: Sendable, Equatable {
    /// Inode numbers of this process's namespaces (nil: the file could not be read).
    public var pidNamespace: UInt64?
    public var userNamespace: UInt64?
    public var netNamespace: UInt64?
    /// PID 1's network namespace (nil: unreadable, e.g. without ptrace access to PID 1; the
    /// listen request then tells, since the connector refuses it outside the initial one).
    public var initNetNamespace: UInt64?
    /// CapEff of this thread (nil: unreadable).
    public var effectiveCapabilities: UInt64?

    /// PROC_PID_INIT_INO and PROC_USER_INIT_INO (include/linux/proc_ns.h): fixed for the
    /// initial namespaces.
    public static let initialPIDNamespace: UInt64 = 0xEFFF_FFFC
    public static let initialUserNamespace: UInt64 = 0xEFFF_FFFD
    public static let capNetAdmin: UInt64 = 12

    public init(
        pidNamespace: UInt64?, userNamespace: UInt64?, netNamespace: UInt64?,
        initNetNamespace: UInt64?, effectiveCapabilities: UInt64?
    ) {
        self.pidNamespace = pidNamespace
        self.userNamespace = userNamespace
        self.netNamespace = netNamespace
        self.initNetNamespace = initNetNamespace
        self.effectiveCapabilities = effectiveCapabilities
    }

    /// Reads the facts under `procRoot`; `inode` (stat's st_ino of a path, nil on error) is a
    /// parameter so tests can give namespace inodes a temp dir can not have.
    public static func read(
        procRoot: String = "/proc",
        inode: (String) -> UInt64? = ProcessEventsAccess.statInode
    ) -> ProcessEventsAccess {
        ProcessEventsAccess(
            pidNamespace: inode("\(procRoot)/self/ns/pid"),
            userNamespace: inode("\(procRoot)/self/ns/user"),
            netNamespace: inode("\(procRoot)/self/ns/net"),
            initNetNamespace: inode("\(procRoot)/1/ns/net"),
            effectiveCapabilities: (try? readWholeFile("\(procRoot)/thread-self/status", shortReadIsEOF: true))
                .flatMap(parseEffectiveCapabilities))
    }

    public static func statInode(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// The `CapEff:` line of /proc/PID/status (hex).
    public static func parseEffectiveCapabilities(_ status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingWhitespace(), radix: 16)
        }
        return nil
    }

    /// Throws the first reason events would not arrive, in words for the journal.
    public func check() throws(ProcessEventsUnavailable) {
        guard let pid = pidNamespace, let user = userNamespace else {
            throw ProcessEventsUnavailable(
                "can not read /proc/self/ns/pid or /proc/self/ns/user to tell whether this is the initial PID and user namespace (the kernel ignores listeners elsewhere)")
        }
        guard pid == Self.initialPIDNamespace else {
            throw ProcessEventsUnavailable(
                "not in the initial PID namespace (pid namespace inode \(pid), the initial one is \(Self.initialPIDNamespace)): the kernel ignores process-event listeners in containers; run the agent on the host")
        }
        guard user == Self.initialUserNamespace else {
            throw ProcessEventsUnavailable(
                "not in the initial user namespace (user namespace inode \(user), the initial one is \(Self.initialUserNamespace)): the kernel ignores process-event listeners there (PrivateUsers= or a container)")
        }
        if let net = netNamespace, let initNet = initNetNamespace, net != initNet {
            throw ProcessEventsUnavailable(
                "not in the initial network namespace (net namespace inode \(net), PID 1's is \(initNet)): the kernel sends process events only there (PrivateNetwork=yes or a container)")
        }
        guard let caps = effectiveCapabilities else {
            throw ProcessEventsUnavailable("can not read CapEff from /proc/thread-self/status to check for CAP_NET_ADMIN")
        }
        guard caps & (1 << Self.capNetAdmin) != 0 else {
            throw ProcessEventsUnavailable(
                "no CAP_NET_ADMIN in the effective capability set: kernels before 6.6 refuse the listen request, and the receive buffer can not be sized for bursts (SO_RCVBUFFORCE); grant CAP_NET_ADMIN to the agent")
        }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return s
    }
}

/// The kernel's process connector as a `ProcessEventSource`: a NETLINK_CONNECTOR socket bound
/// to CN_IDX_PROC, subscribed with PROC_CN_MCAST_LISTEN.
///
/// One thread calls `receive()` at a time; `close()` may come from any thread and wakes a
/// blocked `receive` through a pipe (the socket is closed by whoever finishes last, so a
/// `receive` never polls a descriptor number that was closed and reused).
public final class NetlinkProcessEvents: ProcessEventSource {
    /// Datagrams drained per `receive` at most: the source, not the sender, bounds a delivery.
    public static let maxDatagramsPerReceive = 4096
    /// One datagram is one message of 76 bytes today; room for any future growth and for a
    /// kernel that batches (anything longer is counted as malformed, never read past).
    public static let receiveBufferSize = 8192
    /// Asked of SO_RCVBUFFORCE by default. The kernel doubles it (32 MiB) and charges about
    /// 840 bytes per 76-byte datagram: measured on 6.18, it holds the ~40,000 events (fork and
    /// exit) of a 20,000-fork burst even when nobody reads during the burst. Kernel memory,
    /// used only while events wait.
    public static let defaultSocketBuffer: Int32 = 16 << 20
    public static let ackTimeoutMilliseconds = 1000
    /// Events kept while `open` waits for its ack.
    static let maxPendingAtOpen = 65536

    /// Touched only under `state`'s lock, but for `buffer`, which the one receive in progress
    /// (`receiving`) uses outside it: hence unchecked.
    private struct State: @unchecked Sendable {
        var socket: Int32 = -1
        var wakeRead: Int32 = -1
        var wakeWrite: Int32 = -1
        var buffer: UnsafeMutableRawBufferPointer?
        var receiving = false
        var closeRequested = false
        /// Events that arrived while `open` waited for its ack.
        var pending: [ProcEvent] = []
        var pendingMalformed = 0
        /// An overflow met after a drain had events: reported by the next `receive`.
        var pendingOverflow = false
        var portID: UInt32 = 0
    }

    // A pthread mutex (NIOLockedValueBox), not Synchronization's Mutex: ThreadSanitizer does not
    // see the latter's futex on Linux and reports every access under it as a race.
    private let state = NIOLockedValueBox(State())
    private let readAccess: @Sendable () -> ProcessEventsAccess
    private let socketBufferBytes = Atomic<Int>(0)
    private let socketBufferForced = Atomic<Bool>(false)
    private let requestedSocketBuffer: Int32

    /// `access` reads the namespace and capability facts (tests inject their own);
    /// `socketBuffer` is what to ask of SO_RCVBUFFORCE (tests make it small to overflow it).
    public init(
        socketBuffer: Int32 = NetlinkProcessEvents.defaultSocketBuffer,
        access: @escaping @Sendable () -> ProcessEventsAccess = { ProcessEventsAccess.read() }
    ) {
        requestedSocketBuffer = socketBuffer
        readAccess = access
    }

    deinit {
        state.withLockedValue { Self.release(&$0) }
    }

    /// The socket's receive buffer as the kernel reports it (SO_RCVBUF, doubled by the kernel),
    /// after `open`; and whether SO_RCVBUFFORCE set it (else SO_RCVBUF, capped by rmem_max).
    public var receiveBufferBytes: Int { socketBufferBytes.load(ordering: .relaxed) }
    public var receiveBufferForced: Bool { socketBufferForced.load(ordering: .relaxed) }

    public func open() throws(ProcessEventsUnavailable) {
        try readAccess().check()
        let opened: Result<Void, ProcessEventsUnavailable> = state.withLockedValue { s in
            guard !s.closeRequested else { return .failure(ProcessEventsUnavailable("the process event source was closed")) }
            guard s.socket < 0 else { return .success(()) }
            do throws(ProcessEventsUnavailable) {
                try openLocked(&s)
                return .success(())
            } catch {
                Self.release(&s)
                return .failure(error)
            }
        }
        try opened.get()
    }

    private func openLocked(_ s: inout State) throws(ProcessEventsUnavailable) {
        let fd = Glibc.socket(
            AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Netlink.connectorProtocol)
        guard fd >= 0 else {
            let e = errno
            if e == EPROTONOSUPPORT || e == EAFNOSUPPORT {
                throw ProcessEventsUnavailable("the kernel has no process connector (socket(AF_NETLINK, NETLINK_CONNECTOR): \(Self.describe(e)); needs CONFIG_CONNECTOR and CONFIG_PROC_EVENTS)")
            }
            throw ProcessEventsUnavailable("socket(AF_NETLINK, NETLINK_CONNECTOR) failed: \(Self.describe(e))")
        }
        s.socket = fd
        s.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.receiveBufferSize, alignment: 8)

        var size = requestedSocketBuffer
        let sizeLength = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, Netlink.soRcvBufForce, &size, sizeLength) == 0 {
            socketBufferForced.store(true, ordering: .relaxed)
        } else {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeLength)
        }
        var got: Int32 = 0
        var gotLength = sizeLength
        if getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gotLength) == 0 {
            socketBufferBytes.store(Int(got), ordering: .relaxed)
        }

        var address = Netlink.Address(groups: ProcConnectorFormat.procIndex)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<Netlink.Address>.size))
            }
        }
        guard bound == 0 else {
            throw ProcessEventsUnavailable("bind to the process connector's multicast group (CN_IDX_PROC) failed: \(Self.describe(errno))")
        }
        var local = Netlink.Address(groups: 0)
        var localLength = socklen_t(MemoryLayout<Netlink.Address>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
        }
        s.portID = local.pid

        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            throw ProcessEventsUnavailable("pipe for the process event source failed: \(Self.describe(errno))")
        }
        s.wakeRead = pipeEnds[0]
        s.wakeWrite = pipeEnds[1]
        for end in pipeEnds {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }

        let nonce = UInt32(truncatingIfNeeded: getpid()) &* 2_654_435_761 &+ UInt32(truncatingIfNeeded: fd)
        switch Self.send(.listen, socket: fd, nonce: nonce, portID: s.portID) {
        case 0: break
        case ECONNREFUSED:
            throw ProcessEventsUnavailable("the process connector refused the listen request (ECONNREFUSED): this is not the initial network namespace (PrivateNetwork=yes or a container), where the kernel's connector lives")
        case let e:
            throw ProcessEventsUnavailable("sending the listen request to the process connector failed: \(Self.describe(e))")
        }
        try awaitAck(&s, nonce: nonce)
    }

    /// Waits (bounded) for the kernel's answer to the listen request; events that arrive first
    /// are kept for the first `receive`, so nothing after the subscription is lost.
    private func awaitAck(_ s: inout State, nonce first: UInt32) throws(ProcessEventsUnavailable) {
        // An overflow while waiting may have dropped the ack: ask again (LISTEN twice is
        // harmless), and take the answer to any of the requests.
        var nonces = [first]
        let deadline = Self.monotonicMilliseconds() + Self.ackTimeoutMilliseconds
        guard let buffer = s.buffer else { return }
        while true {
            let left = deadline - Self.monotonicMilliseconds()
            guard left > 0 else {
                throw ProcessEventsUnavailable("the process connector did not answer the listen request within \(Self.ackTimeoutMilliseconds) ms (a kernel without CONFIG_PROC_EVENTS, or a PID/user namespace that is not the initial one)")
            }
            var poller = pollfd(fd: s.socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(left))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let n = recv(s.socket, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC))
            if n < 0 {
                let e = errno
                if e == EINTR || e == EAGAIN { continue }
                if e == ENOBUFS {
                    s.pendingOverflow = true
                    if nonces.count < 8 {
                        let again = nonces[nonces.count - 1] &+ 2
                        if Self.send(.listen, socket: s.socket, nonce: again, portID: s.portID) == 0 { nonces.append(again) }
                    }
                    continue
                }
                throw ProcessEventsUnavailable("receiving the listen request's answer failed: \(Self.describe(e))")
            }
            guard n <= buffer.count else { s.pendingMalformed += 1; continue }
            // Our ack ends the wait; the rest (events, other listeners' acks) is kept for the
            // first receive, up to a bound (beyond it, report an overflow: a rescan covers it).
            var answer: UInt32?
            var arrived: [ProcEvent] = []
            let malformed = ProcConnectorFormat.decode(UnsafeRawBufferPointer(rebasing: buffer[..<n])) { header, event in
                if case .ack(let err) = event, nonces.contains(header.ack &- 1) { answer = err } else { arrived.append(event) }
            }
            s.pendingMalformed += malformed
            if s.pending.count + arrived.count <= Self.maxPendingAtOpen {
                s.pending += arrived
            } else {
                s.pendingOverflow = true
            }
            if let err = answer {
                guard err == 0 else {
                    if err == UInt32(EPERM) {
                        throw ProcessEventsUnavailable("the process connector refused the listen request: EPERM (no CAP_NET_ADMIN)")
                    }
                    throw ProcessEventsUnavailable("the process connector refused the listen request: \(Self.describe(Int32(bitPattern: err)))")
                }
                return
            }
        }
    }

    public func receive() -> ProcessEventDelivery {
        enum Start {
            case deliver(ProcessEventDelivery)
            case poll(socket: Int32, wake: Int32, buffer: UnsafeMutableRawBufferPointer)
        }
        let start: Start = state.withLockedValue { s in
            if s.closeRequested || s.socket < 0 { return .deliver(.closed("the process event source is closed")) }
            if s.receiving { return .deliver(.closed("receive called while another receive was running")) }
            if !s.pending.isEmpty || s.pendingMalformed > 0 {
                defer { s.pending = []; s.pendingMalformed = 0 }
                return .deliver(.events(s.pending, malformed: s.pendingMalformed))
            }
            if s.pendingOverflow {
                s.pendingOverflow = false
                return .deliver(.overflow)
            }
            s.receiving = true
            return .poll(socket: s.socket, wake: s.wakeRead, buffer: s.buffer!)
        }
        let socket: Int32, wake: Int32, buffer: UnsafeMutableRawBufferPointer
        switch start {
        case .deliver(let delivery): return delivery
        case .poll(let s, let w, let b): (socket, wake, buffer) = (s, w, b)
        }
        var overflowAfter = false
        let delivery = Self.pollAndDrain(socket: socket, wake: wake, buffer: buffer, overflowAfter: &overflowAfter)
        return state.withLockedValue { s in
            s.receiving = false
            if overflowAfter { s.pendingOverflow = true }
            if s.closeRequested {
                Self.release(&s)
                return .closed("the process event source is closed")
            }
            if case .closed = delivery {
                // Failed for good: later receives say closed at once.
                s.closeRequested = true
                Self.release(&s)
            }
            return delivery
        }
    }

    /// Blocks until the socket or the wake pipe is readable, then drains up to
    /// `maxDatagramsPerReceive` datagrams without blocking.
    private static func pollAndDrain(
        socket: Int32, wake: Int32, buffer: UnsafeMutableRawBufferPointer, overflowAfter: inout Bool
    ) -> ProcessEventDelivery {
        var events: [ProcEvent] = []
        var malformed = 0
        while true {
            // Two pollfds on the stack: no allocation per wait.
            let (ready, e, socketEvents, wakeEvents) = withUnsafeTemporaryAllocation(of: pollfd.self, capacity: 2) { fds in
                fds[0] = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                fds[1] = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
                let ready = poll(fds.baseAddress, 2, -1)
                return (ready, ready < 0 ? errno : 0, fds[0].revents, fds[1].revents)
            }
            if ready < 0 {
                if e == EINTR { continue }
                return .closed("poll on the process connector socket failed: \(describe(e))")
            }
            if wakeEvents != 0 { return .closed("the process event source is closed") }
            if socketEvents & Int16(POLLNVAL) != 0 { return .closed("the process connector socket is not open") }
            var sender = Netlink.Address(groups: 0)
            for _ in 0..<maxDatagramsPerReceive {
                var senderLength = socklen_t(MemoryLayout<Netlink.Address>.size)
                let n = withUnsafeMutablePointer(to: &sender) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(socket, buffer.baseAddress, buffer.count,
                                 Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC), $0, &senderLength)
                    }
                }
                if n < 0 {
                    let e = errno
                    if e == EINTR { continue }
                    if e == EAGAIN || e == EWOULDBLOCK { break }
                    if e == ENOBUFS {
                        // Events were dropped; the kernel reports it once and keeps queueing.
                        if events.isEmpty && malformed == 0 { return .overflow }
                        overflowAfter = true
                        break
                    }
                    return .closed("receiving from the process connector failed: \(describe(e))")
                }
                // Longer than the buffer (MSG_TRUNC gives the real length), or not from the
                // kernel (port 0): skipped and counted, never read past.
                guard n <= buffer.count, sender.pid == 0 else {
                    malformed += 1
                    continue
                }
                malformed += ProcConnectorFormat.decode(UnsafeRawBufferPointer(rebasing: buffer[..<n]), into: &events)
            }
            // Nothing decodable (a wake-up without a datagram): wait again.
            if !events.isEmpty || malformed > 0 { return .events(events, malformed: malformed) }
        }
    }

    /// Sends PROC_CN_MCAST_IGNORE but keeps the socket: on kernels from 6.6 on, the kernel then
    /// filters every event out for this socket. For tests that need a receive that nothing but
    /// `close` can end.
    func ignoreEvents() {
        state.withLockedValue { s in
            if s.socket >= 0 { _ = Self.send(.ignore, socket: s.socket, nonce: 0, portID: s.portID) }
        }
    }

    public func close() {
        state.withLockedValue { s in
            guard !s.closeRequested else { return }
            s.closeRequested = true
            if s.receiving {
                var one: UInt8 = 1
                _ = write(s.wakeWrite, &one, 1)
            } else {
                Self.release(&s)
            }
        }
    }

    /// Unsubscribes (best effort: kernels before 6.6 count listeners globally and only an
    /// IGNORE lowers the count) and frees everything.
    private static func release(_ s: inout State) {
        if s.socket >= 0 {
            _ = send(.ignore, socket: s.socket, nonce: 0, portID: s.portID)
            _ = Glibc.close(s.socket)
            s.socket = -1
        }
        for fd in [s.wakeRead, s.wakeWrite] where fd >= 0 { _ = Glibc.close(fd) }
        s.wakeRead = -1
        s.wakeWrite = -1
        s.buffer?.deallocate()
        s.buffer = nil
        s.pending = []
    }

    /// Sends a multicast-control request to the kernel; 0 or errno.
    private static func send(_ op: ProcConnectorFormat.MulticastOp, socket: Int32, nonce: UInt32, portID: UInt32) -> Int32 {
        let request = ProcConnectorFormat.listenRequest(op, nonce: nonce, portID: portID)
        var kernel = Netlink.Address(groups: 0)
        let sent = request.withUnsafeBytes { bytes in
            withUnsafePointer(to: &kernel) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT),
                           $0, socklen_t(MemoryLayout<Netlink.Address>.size))
                }
            }
        }
        return sent == request.count ? 0 : (sent < 0 ? errno : EIO)
    }

    private static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }

    static func describe(_ e: Int32) -> String {
        "\(String(cString: strerror(e))) (errno \(e))"
    }
}

/// The netlink bits Glibc's Swift module does not carry (linux/netlink.h).
enum Netlink {
    static let connectorProtocol: Int32 = 11  // NETLINK_CONNECTOR
    static let soRcvBufForce: Int32 = 33  // SO_RCVBUFFORCE (asm-generic/socket.h)

    /// struct sockaddr_nl: family u16, pad u16, pid u32, groups u32 (12 bytes).
    struct Address {
        var family = UInt16(AF_NETLINK)
        var pad: UInt16 = 0
        var pid: UInt32 = 0
        var groups: UInt32

        init(groups: UInt32) { self.groups = groups }
    }
}
