/// The bounds of the control socket: how many clients it serves at once and how long each may
/// take. Every client is a local user, so none of them may hold more than its share of the
/// agent's file descriptors, memory or time; root always finds a free slot.
public struct ControlSocketLimits: Sendable, Equatable {
    /// At most this many connections at once, of all users together, counting those being
    /// refused: the server stops accepting at this many (clients then wait in the listen queue,
    /// which costs the agent nothing), so it bounds the agent's descriptors and request buffers.
    public static let defaultTotalConnections = 64
    /// At most this many connections at once from one uid: one user can not fill the server.
    /// `fairshare` opens one per command, so 8 leaves room for scripts running a few at once.
    public static let defaultConnectionsPerUser = 8
    /// Slots of the total that only root (uid 0) may use: however many users crowd the socket,
    /// root's `fairshare status` and `reload` get in. Equal to the per-user limit, so root can
    /// always hold as many connections as any one user may.
    public static let defaultReservedForRoot = 8
    /// From accept to a complete request line. `fairshare` sends its request at once; a client
    /// that trickles bytes (one a second) is cut off here however many it sends.
    public static let defaultReadDeadline = Duration.seconds(2)
    /// From the first byte of the answer to the last: a client that does not read its answer
    /// gives its slot back after this long.
    public static let defaultWriteDeadline = Duration.seconds(2)
    /// The longest request line (a request is a few dozen bytes of JSON).
    public static let defaultMaxRequestBytes = 4096
    /// The longest request line from root: `plan` sends a whole policy, up to
    /// `PolicyLimits.fileBytes`, JSON-escaped (a control character becomes `\u00XX`, 6 bytes for
    /// 1), plus the rest of the request. Root only: root holds at most `connectionsPerUser` slots,
    /// so the memory stays bounded (8 x 1.5 MiB); everyone else keeps `defaultMaxRequestBytes`.
    public static let defaultMaxRootRequestBytes = 6 * PolicyLimits.standard.fileBytes + 4096
    /// The listen queue: connections the kernel holds until the event loop accepts them (no
    /// descriptor of the agent's each). Twice the total, so a burst of clients queues briefly
    /// instead of being refused by the kernel, and over-limit clients are told why.
    public static let defaultListenBacklog: Int32 = 128

    public var totalConnections: Int
    public var connectionsPerUser: Int
    public var reservedForRoot: Int
    public var readDeadline: Duration
    public var writeDeadline: Duration
    public var maxRequestBytes: Int
    public var maxRootRequestBytes: Int
    public var listenBacklog: Int32

    public static let standard = ControlSocketLimits()

    public init(totalConnections: Int = defaultTotalConnections, connectionsPerUser: Int = defaultConnectionsPerUser,
                reservedForRoot: Int = defaultReservedForRoot, readDeadline: Duration = defaultReadDeadline,
                writeDeadline: Duration = defaultWriteDeadline, maxRequestBytes: Int = defaultMaxRequestBytes,
                listenBacklog: Int32 = defaultListenBacklog, maxRootRequestBytes: Int = defaultMaxRootRequestBytes) {
        precondition(connectionsPerUser >= 1 && reservedForRoot >= 0 && reservedForRoot < totalConnections,
                     "control socket limits: need 1 <= per user and 0 <= reserved for root < total")
        self.totalConnections = totalConnections
        self.connectionsPerUser = connectionsPerUser
        self.reservedForRoot = reservedForRoot
        self.readDeadline = readDeadline
        self.writeDeadline = writeDeadline
        self.maxRequestBytes = maxRequestBytes
        self.maxRootRequestBytes = max(maxRootRequestBytes, maxRequestBytes)
        self.listenBacklog = listenBacklog
    }

    /// The longest request line accepted from this uid.
    public func maxRequestBytes(uid: UInt32) -> Int { uid == 0 ? maxRootRequestBytes : maxRequestBytes }

    /// The slots users other than root share.
    public var sharedByOthers: Int { totalConnections - reservedForRoot }
}

/// Who holds which connection slots. Pure bookkeeping: the server asks `admit` once per accepted
/// connection, with the uid from SO_PEERCRED, and calls `release` when that connection closes.
public struct ConnectionBudget: Sendable, Equatable {
    public enum Admission: Sendable, Equatable {
        case admitted
        /// The one-line reason the client is told before the connection is closed.
        case refused(String)
    }

    public let limits: ControlSocketLimits
    public private(set) var total = 0
    public private(set) var byUID: [UInt32: Int] = [:]

    public init(limits: ControlSocketLimits) {
        self.limits = limits
    }

    /// Connections held by users other than root.
    public var heldByOthers: Int { total - (byUID[0] ?? 0) }

    public mutating func admit(uid: UInt32) -> Admission {
        let held = byUID[uid] ?? 0
        if held >= limits.connectionsPerUser {
            return .refused("too many connections from uid \(uid) (limit \(limits.connectionsPerUser))")
        }
        if total >= limits.totalConnections {
            return .refused("too many connections to the agent (limit \(limits.totalConnections))")
        }
        if uid != 0 && heldByOthers >= limits.sharedByOthers {
            return .refused("too many connections to the agent (limit \(limits.sharedByOthers) for users other than root; \(limits.reservedForRoot) more are kept for root)")
        }
        byUID[uid] = held + 1
        total += 1
        return .admitted
    }

    /// Gives back a slot that `admit` granted.
    public mutating func release(uid: UInt32) {
        guard let held = byUID[uid], held > 0 else {
            preconditionFailure("released a control socket slot uid \(uid) does not hold")
        }
        byUID[uid] = held == 1 ? nil : held - 1
        total -= 1
    }
}
