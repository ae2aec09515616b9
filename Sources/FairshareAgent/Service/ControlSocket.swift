import FairshareCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Errors of the control socket, on either side, saying which socket and why.
public struct ControlSocketError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for callers that act on it (`recover`, tests); `message` says it to people.
    public enum Kind: Sendable, Equatable {
        /// The server could not be set up (bind, path, another agent).
        case setup
        /// No socket file, or nothing listens on it.
        case notRunning
        case permissionDenied
        /// The agent's listen queue stayed full for the whole timeout.
        case busy
        /// The connection ended before a complete answer (the agent exited, restarted or crashed).
        case closedBeforeAnswer
        case timedOut
        /// An answer that is not one JSON response line.
        case badAnswer
        case other
    }

    public var path: String
    public var kind: Kind
    public var message: String

    public init(path: String, kind: Kind = .other, message: String) {
        self.path = path
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Who is on the other end of a connection (SO_PEERCRED).
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

/// `struct ucred` of <sys/socket.h>, which Swift's Glibc module does not export (it needs
/// _GNU_SOURCE): three 32-bit fields, the kernel's layout for SO_PEERCRED.
struct KernelUcred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = .max
    var gid: UInt32 = .max
}

/// The agent's end of the control socket: a unix socket served by a SwiftNIO event loop, one
/// request line per connection, one answer line, then close.
///
/// Every connection is bounded (`ControlSocketLimits`): how many at once in total and per uid
/// (with slots kept for root), how long the request may take to arrive and the answer to leave,
/// how long it may be. A client over its uid's bound, or over the slots users other than root
/// share, is told why in one line and closed at once; while the total is taken (root's own
/// slots too), new clients wait in the listen queue. No client holds a thread, so a slow or
/// silent one never delays another, nor the agent.
///
/// A `Service`: `run()` serves until graceful shutdown or cancellation, then closes the
/// listener, removes the socket file and closes open connections.
public final class ControlServer: Service, Sendable {
    public typealias Handler = @Sendable (ControlRequest, PeerCredentials) async -> ControlResponse

    /// The group whose members may connect (mode 0660 root:fairshare).
    public static let accessGroupName = "fairshare"
    public static let socketMode: mode_t = 0o660
    /// The user socket's (`fairshare status --mine`): anyone may connect; it answers each caller
    /// about themselves only (AgentServices.handleUser), within the same bounds.
    public static let userSocketMode: mode_t = 0o666
    /// A directory made for the socket when it does not exist (`fairshare run` by hand; under
    /// systemd it is RuntimeDirectory=): others may reach the socket but not list the origin ledger.
    public static let directoryMode: mode_t = 0o711

    public let path: String
    public let limits: ControlSocketLimits
    private let listener: any Channel
    private let registry: ConnectionRegistry
    /// The socket file this server created, so shutdown never removes another's.
    private let socketFile: FileIdentity
    private let files: FileCalls
    /// Set when the socket could not be handed to the access group: it serves root only (mode
    /// 0660, the agent's own group), which is safe but not what the admin asked for; the caller
    /// says so once.
    public let accessProblem: ControlSocketError?
    private let stopRequested = Atomic<Bool>(false)

    private init(path: String, limits: ControlSocketLimits, listener: any Channel, registry: ConnectionRegistry, socketFile: FileIdentity,
                 files: FileCalls, accessProblem: ControlSocketError?) {
        self.path = path
        self.limits = limits
        self.listener = listener
        self.registry = registry
        self.socketFile = socketFile
        self.files = files
        self.accessProblem = accessProblem
    }

    /// Which file a path is: stat(2)'s device and inode.
    public struct FileIdentity: Sendable, Equatable {
        public var device: UInt64
        public var inode: UInt64

        public init(device: UInt64, inode: UInt64) {
            self.device = device
            self.inode = inode
        }
    }

    /// The calls `bind` and `close` make on the socket file, as values so a test can make any of
    /// them fail. `changeMode` and `changeOwner` return 0 or the errno.
    public struct FileCalls: Sendable {
        public var changeMode: @Sendable (_ path: String, _ mode: mode_t) -> Int32
        public var changeOwner: @Sendable (_ path: String, _ uid: uid_t, _ gid: gid_t) -> Int32
        public var identify: @Sendable (_ path: String) -> Result<FileIdentity, SystemFileError>

        public init(changeMode: @escaping @Sendable (String, mode_t) -> Int32, changeOwner: @escaping @Sendable (String, uid_t, gid_t) -> Int32,
                    identify: @escaping @Sendable (String) -> Result<FileIdentity, SystemFileError>) {
            self.changeMode = changeMode
            self.changeOwner = changeOwner
            self.identify = identify
        }

        /// chmod(2), chown(2), stat(2).
        public static let system = FileCalls(
            changeMode: { path, mode in chmod(path, mode) == 0 ? 0 : errno },
            changeOwner: { path, uid, gid in chown(path, uid, gid) == 0 ? 0 : errno },
            identify: { path in
                var st = stat()
                guard stat(path, &st) == 0 else { return .failure(SystemFileError(.stat, path: path, errno: errno)) }
                return .success(FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
            })
    }

    /// The `fairshare` group's id, if the group exists.
    public static func fairshareGroupID() -> gid_t? {
        getgrnam(accessGroupName).map { $0.pointee.gr_gid }
    }

    /// Binds the socket (replacing a stale one, refusing a live one), mode 0660, group
    /// `accessGroup`, and starts accepting. Serving stops when `run()` is shut down, or `close()`.
    ///
    /// Fails, listening nowhere, when the directory can not be made, when what is at the path
    /// can not be told stale or can not be removed, when the socket's mode can not be set (it
    /// would keep the umask's, which may let anyone connect) or its file can not be identified
    /// (shutdown could not tell it from another agent's). A group that can not be set leaves a
    /// root-only socket: it serves, and `accessProblem` says why.
    public static func bind(path: String, limits: ControlSocketLimits = .standard, mode socketMode: mode_t = socketMode,
                            accessGroup: gid_t? = fairshareGroupID(),
                            files: FileCalls = .system, handler: @escaping Handler) async throws(ControlSocketError) -> ControlServer {
        _ = try socketAddress(path)
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !directory.isEmpty && access(directory, F_OK) != 0 && mkdir(directory, directoryMode) != 0 && errno != EEXIST {
            throw ControlSocketError(path: path, kind: .setup, message: "cannot create its directory \(directory): \(ErrnoText.describe(errno))")
        }
        // A socket file left by an earlier run that is not listening: remove it. One that is
        // listening means another agent runs: refuse to steal it. One that can not be told
        // either way is left alone.
        if try ControlClient.probe(path) == .listening {
            throw ControlSocketError(path: path, kind: .setup, message: "another fairshare agent is already listening here")
        }
        if unlink(path) != 0 && errno != ENOENT {
            throw ControlSocketError(path: path, kind: .setup, message: "cannot remove the stale file in the socket's place: \(ErrnoText.describe(errno))")
        }
        // The file is bound here, not by NIO: NIO's listener removes whatever socket file is at
        // its path when it closes, another agent's too. Until NIO takes the descriptor, it and
        // the file are this function's to clean up.
        let fd = try bindSocketFile(path)
        // Which file is this server's, before anything else: shutdown removes only that one.
        let socketFile: FileIdentity
        switch files.identify(path) {
        case .success(let identity):
            socketFile = identity
        case .failure(let error):
            Glibc.close(fd)
            throw ControlSocketError(path: path, kind: .setup,
                                     message: "\(error) right after binding it: without its inode, shutdown could not tell it from another agent's socket; not listening")
        }
        func removeOwnFile() {
            if case .success(let identity) = files.identify(path), identity == socketFile { unlink(path) }
        }
        // bind() made the file with the process umask; nobody can connect before listen(), so
        // the mode and group are in place first. Members of the `fairshare` group may read the status.
        let modeFailure = files.changeMode(path, socketMode)
        if modeFailure != 0 {
            Glibc.close(fd)
            removeOwnFile()
            throw ControlSocketError(path: path, kind: .setup,
                                     message: "cannot set its mode to 0\(String(socketMode, radix: 8)): \(ErrnoText.describe(modeFailure)); the umask's mode may let anyone connect, so not listening")
        }
        var accessProblem: ControlSocketError?
        if let accessGroup {
            let e = files.changeOwner(path, 0, accessGroup)
            if e != 0 {
                accessProblem = ControlSocketError(path: path, kind: .setup,
                                                   message: "cannot hand the socket to group \(accessGroupName) (gid \(accessGroup)): \(ErrnoText.describe(e)); only root can connect (the agent needs CAP_CHOWN)")
            }
        }
        let registry = ConnectionRegistry(limits: limits)
        let listener: any Channel
        do {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: limits.listenBacklog)
                // One accept per read, so the gate can stop accepting exactly at the bound.
                .serverChannelOption(.maxMessagesPerRead, value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            AcceptBackoffHandler(shouldForwardIOErrorCaught: false), AcceptGate(registry: registry))
                    }
                }
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                // Reads never take more than a request's worth of memory at a time.
                .childChannelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: limits.maxRequestBytes + 1))
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ControlConnectionHandler(registry: registry, limits: limits, handler: handler))
                    }
                }
                .withBoundSocket(fd)
                .get()
        } catch {
            // The descriptor is NIO's once handed over: not closed here.
            removeOwnFile()
            throw ControlSocketError(path: path, kind: .setup, message: "cannot listen: \(error)")
        }
        // NIO listened with its default queue (the backlog option applies to sockets it binds
        // itself); listen() again sets the limit's.
        if Glibc.listen(fd, limits.listenBacklog) != 0 {
            let e = errno
            try? await listener.close()
            removeOwnFile()
            throw ControlSocketError(path: path, kind: .setup, message: "cannot listen: listen(): \(ErrnoText.describe(e))")
        }
        return ControlServer(path: path, limits: limits, listener: listener, registry: registry, socketFile: socketFile, files: files,
                             accessProblem: accessProblem)
    }

    /// Connections open now (admitted, not yet closed).
    public var openConnections: Int { registry.openConnections }

    /// Who holds which slots now.
    public var connectionBudget: ConnectionBudget { registry.budget }

    /// Serves until graceful shutdown or task cancellation, then closes everything. Throws if
    /// the listener stopped by itself, so the service group shuts the agent down.
    public func run() async throws {
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await self.listener.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            self.stopRequested.store(true, ordering: .sequentiallyConsistent)
            self.listener.close(promise: nil)
        }
        let expected = stopRequested.load(ordering: .sequentiallyConsistent)
        await close()
        if !expected {
            throw ControlSocketError(path: path, kind: .setup, message: "the control socket stopped accepting connections")
        }
    }

    /// Stops accepting, removes the socket file (if it is still this server's) and closes every
    /// open connection. Safe to call more than once.
    public func close() async {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        try? await listener.close()
        // Gone, replaced or unknown (stat failed): not this server's to remove.
        if case .success(let identity) = files.identify(path), identity == socketFile { unlink(path) }
        for channel in registry.stop() {
            try? await channel.close()
        }
    }

    /// A unix stream socket bound to `path`, not listening yet.
    static func bindSocketFile(_ path: String) throws(ControlSocketError) -> Int32 {
        var addr = try socketAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlSocketError(path: path, kind: .setup, message: "cannot listen: socket(): \(ErrnoText.describe(errno))") }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else {
            let e = errno
            Glibc.close(fd)
            throw ControlSocketError(path: path, kind: .setup, message: "cannot listen: bind(): \(ErrnoText.describe(e))")
        }
        return fd
    }

    static func socketAddress(_ path: String) throws(ControlSocketError) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else {
            throw ControlSocketError(path: path, kind: .setup, message: "socket path longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }
}

/// The connection slots of one server, shared by its connections (on any event loop). Behind a
/// pthread mutex (NIOLockedValueBox), which ThreadSanitizer sees; it does not see the futex of
/// Synchronization's Mutex on Linux and reports every access under it as a race.
final class ConnectionRegistry: Sendable {
    private struct State {
        var budget: ConnectionBudget
        var open: [ObjectIdentifier: any Channel] = [:]
        /// Accepted and not yet closed, admitted or not: the descriptors the server holds.
        var accepted = 0
        var acceptingPaused = false
        var stopping = false
    }

    private let state: NIOLockedValueBox<State>

    init(limits: ControlSocketLimits) {
        state = NIOLockedValueBox(State(budget: ConnectionBudget(limits: limits)))
    }

    var openConnections: Int { state.withLockedValue { $0.budget.total } }
    var budget: ConnectionBudget { state.withLockedValue { $0.budget } }

    /// Counts a connection just accepted; true if accepting must pause (the bound is reached).
    func countAccepted() -> Bool {
        state.withLockedValue { s in
            s.accepted += 1
            guard s.accepted >= s.budget.limits.totalConnections, !s.acceptingPaused else { return false }
            s.acceptingPaused = true
            return true
        }
    }

    /// Counts a connection closed; true if accepting must resume.
    func countClosed() -> Bool {
        state.withLockedValue { s in
            s.accepted -= 1
            guard s.acceptingPaused, s.accepted < s.budget.limits.totalConnections else { return false }
            s.acceptingPaused = false
            return true
        }
    }

    func admit(_ channel: any Channel, uid: UInt32) -> ConnectionBudget.Admission {
        state.withLockedValue { s in
            if s.stopping { return .refused("the agent is stopping") }
            let admission = s.budget.admit(uid: uid)
            if admission == .admitted { s.open[ObjectIdentifier(channel)] = channel }
            return admission
        }
    }

    func release(_ channel: any Channel, uid: UInt32) {
        state.withLockedValue { s in
            s.budget.release(uid: uid)
            s.open[ObjectIdentifier(channel)] = nil
        }
    }

    /// Refuses every later connection and returns the open ones, to be closed.
    func stop() -> [any Channel] {
        state.withLockedValue { s in
            s.stopping = true
            return Array(s.open.values)
        }
    }
}

/// On the listener: holds the server's descriptors to the total bound. Connections refused by the
/// budget are accepted (their uid is only known then) and closed at once; while the bound's worth
/// of connections is open or being refused, accepting pauses and new clients wait in the
/// kernel's listen queue, which costs the agent no descriptor.
final class AcceptGate: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let registry: ConnectionRegistry

    init(registry: ConnectionRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let accepted = unwrapInboundIn(data)
        let listener = context.channel
        let registry = self.registry
        if registry.countAccepted() {
            try? listener.syncOptions?.setOption(.autoRead, value: false)
        }
        // The resume, if any, runs on the listener's loop after this pause (same loop, later).
        accepted.closeFuture.whenComplete { _ in
            if registry.countClosed() {
                listener.setOption(.autoRead, value: true).whenFailure { _ in }
            }
        }
        context.fireChannelRead(data)
    }
}

/// One connection, on its event loop: credentials, admission, one request line within the read
/// deadline, the handler, one answer line within the write deadline, close.
final class ControlConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Stage {
        /// Accepted; the peer's credentials are not known yet, so nothing it sent is read.
        case identifying
        case reading
        /// The request is with the handler.
        case handling
        /// The answer is written (or the connection is closing).
        case finished
    }

    private let registry: ConnectionRegistry
    private let limits: ControlSocketLimits
    private let handler: ControlServer.Handler
    private var stage = Stage.identifying
    private var peer: PeerCredentials?
    private var admitted = false
    private var received: ByteBuffer?
    /// How many of the received bytes are known to hold no newline.
    private var searched = 0
    private var inputClosed = false
    private var deadline: Scheduled<Void>?

    /// The read size for root's connections (others read at most a request's worth at a time).
    static let rootReadBytes = 64 * 1024

    init(registry: ConnectionRegistry, limits: ControlSocketLimits, handler: @escaping ControlServer.Handler) {
        self.registry = registry
        self.limits = limits
        self.handler = handler
    }

    func channelActive(context: ChannelHandlerContext) {
        // The read deadline counts from accept, whatever the client does.
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.readDeadline)) {
            self.answer(.failure("request timed out: no complete request line within \(milliseconds(self.limits.readDeadline)) ms of connecting"),
                        context: context)
        }
        guard let options = context.channel as? any SocketOptionProvider else {
            context.close(promise: nil)
            return
        }
        let credentials: EventLoopFuture<KernelUcred> = options.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel.socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        credentials.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let cred): self.identified(PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid), context: context)
            case .failure: context.close(promise: nil)
            }
        }
        context.fireChannelActive()
    }

    private func identified(_ peer: PeerCredentials, context: ChannelHandlerContext) {
        guard stage == .identifying else { return }
        self.peer = peer
        switch registry.admit(context.channel, uid: peer.uid) {
        case .refused(let reason):
            answer(.failure(reason), context: context)
        case .admitted:
            admitted = true
            stage = .reading
            if peer.uid == 0 {
                // Root may send a whole policy (`plan`): larger reads, a few dozen instead of hundreds.
                context.channel.setOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.rootReadBytes))
                    .whenFailure { _ in }
            }
            readRequest(context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard stage == .identifying || stage == .reading else { return }
        var bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        if stage == .reading { readRequest(context: context) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            if stage == .reading { readRequest(context: context) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Acts on what has arrived: a complete line, too many bytes, or the end of the input.
    private func readRequest(context: ChannelHandlerContext) {
        let bytes = received?.readableBytesView ?? ByteBuffer().readableBytesView
        // Only root may send a long line (a policy for `plan`); a peer not identified yet sends nothing.
        let limit = limits.maxRequestBytes(uid: peer?.uid ?? .max)
        // Only the bytes that arrived since the last look are searched: a long line arrives in
        // many reads, and searching it from its start each time would be quadratic. memchr, not
        // a generic search: unoptimized (sanitizer) builds took seconds over a 1.5 MiB line.
        let from = min(searched, bytes.count)
        let newline: Int? = received?.withUnsafeReadableBytes { raw -> Int? in
            guard let base = raw.baseAddress, raw.count > from,
                  let hit = memchr(base + from, Int32(UInt8(ascii: "\n")), raw.count - from) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        searched = bytes.count
        if let newline, newline <= limit {
            handle(Array(bytes[bytes.startIndex ..< bytes.startIndex + newline]), context: context)
        } else if bytes.count > limit {
            answer(.failure("request longer than \(limit) bytes"), context: context)
        } else if inputClosed {
            // A client that shut down its side after the request, without a newline, is served.
            if bytes.isEmpty {
                answer(.failure("empty request: send one JSON line such as {\"command\":\"status\"}"), context: context)
            } else {
                handle(Array(bytes), context: context)
            }
        }
    }

    private func handle(_ line: [UInt8], context: ChannelHandlerContext) {
        stage = .handling
        deadline?.cancel()
        received = nil
        // Nothing more is read from this client.
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
        guard let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line)), let peer else {
            answer(.failure("malformed request: expected one JSON line such as {\"command\":\"status\"}; commands: status, reload, explain, plan, metrics"),
                   context: context)
            return
        }
        let handler = self.handler
        context.eventLoop.makeFutureWithTask { await handler(request, peer) }
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let response): self.answer(response, context: context)
                case .failure(let error): self.answer(.failure("internal error: \(error)"), context: context)
                }
            }
    }

    /// Writes one answer line, then closes: when it is written, or at the write deadline.
    private func answer(_ response: ControlResponse, context: ChannelHandlerContext) {
        guard stage != .finished else { return }
        stage = .finished
        deadline?.cancel()
        received = nil
        var out = (try? JSONEncoder().encode(response)) ?? Data("{\"ok\":false,\"error\":\"cannot encode response\"}".utf8)
        out.append(UInt8(ascii: "\n"))
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.writeDeadline)) {
            context.close(promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: out)))
            .assumeIsolated()
            .whenComplete { _ in context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stage = .finished
        deadline?.cancel()
        received = nil
        if admitted, let peer {
            admitted = false
            registry.release(context.channel, uid: peer.uid)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or a failed write: nothing more can be said to this client.
        context.close(promise: nil)
    }
}

func milliseconds(_ d: Duration) -> Int64 {
    d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
}
