/// Kernel process events folded into what the next event pass must look at. Pure: the agent
/// feeds it what the listener received and reads /proc only for the pids it names.
public struct EventDigest: Sendable, Equatable {
    /// Processes to read and classify again, with when the first event about each was received
    /// (monotonic ns: the start of its classification latency).
    public private(set) var reread: [Int32: UInt64] = [:]
    /// Processes that ended (their leader exited), in order.
    public private(set) var exited: [Int32] = []
    public private(set) var counts = EventCounts()

    public init() {}

    /// - Parameter isMember: whether a pid is a member of a group (only a member's children need
    ///   reading when they are born: anyone else's child is where its parent is, and matches as
    ///   its parent did until it execs or changes user).
    public mutating func add(_ event: ProcEvent, receivedAt: UInt64, isMember: (Int32) -> Bool) {
        counts.count(event)
        switch event {
        case .fork(let parent, let child, let childTGID):
            guard child == childTGID, isMember(parent) || reread[parent] != nil else { return }
            mark(child, receivedAt)
        case .exec(_, let tgid), .uid(_, let tgid, _, _), .gid(_, let tgid, _, _), .comm(_, let tgid, _):
            mark(tgid, receivedAt)
        case .exit(let pid, let tgid):
            guard pid == tgid else { return }
            reread[pid] = nil
            exited.append(pid)
        case .ack, .other:
            break
        }
    }

    private mutating func mark(_ pid: Int32, _ at: UInt64) {
        if reread[pid] == nil { reread[pid] = at }
    }

    public var isEmpty: Bool { reread.isEmpty && exited.isEmpty }
}

/// Events received, by kind.
public struct EventCounts: Codable, Sendable, Equatable {
    public var fork = 0
    public var exec = 0
    public var uid = 0
    public var gid = 0
    public var comm = 0
    public var exit = 0
    /// Thread forks and exits: counted, not acted on.
    public var thread = 0
    public var other = 0

    public init() {}

    public var total: Int { fork + exec + uid + gid + comm + exit + thread + other }

    mutating func count(_ e: ProcEvent) {
        switch e {
        case .fork(_, let child, let tgid): if child == tgid { fork += 1 } else { thread += 1 }
        case .exec: exec += 1
        case .uid: uid += 1
        case .gid: gid += 1
        case .comm: comm += 1
        case .exit(let pid, let tgid): if pid == tgid { exit += 1 } else { thread += 1 }
        case .ack, .other: other += 1
        }
    }

    public mutating func add(_ o: EventCounts) {
        fork += o.fork; exec += o.exec; uid += o.uid; gid += o.gid
        comm += o.comm; exit += o.exit; thread += o.thread; other += o.other
    }
}

/// The latest classification latencies (event received -> move done): a fixed window, so the
/// figures cost the same whatever the uptime or the event rate.
public struct LatencyWindow: Sendable, Equatable {
    public static let capacity = 1024
    private var samples = RecentSamples(capacity: LatencyWindow.capacity)

    public init() {}

    public mutating func record(milliseconds: Double) {
        samples.record(milliseconds)
    }

    public var count: Int { samples.count }

    /// The q-quantile (0...1) by nearest rank, nil without samples.
    public func quantile(_ q: Double) -> Double? { samples.quantile(q) }
}

/// Why a pass scans all of /proc although events are on.
public enum RescanReason: String, Sendable, Equatable {
    /// The first pass (the subscription came first, so nothing is lost in between).
    case start
    case reload
    /// The kernel dropped events (the receive buffer was full).
    case overflow
    /// The safety net, every `rescan_interval`.
    case periodic
    /// A process the events named, or /proc itself, could not be read (not: had exited): the
    /// next pass scans, and goes on scanning until a scan reads everything.
    case unreadable
}

/// What the agent knows of its event source, for status and for deciding when to rescan.
public struct ProcessEventBook: Sendable, Equatable {
    /// nil while events arrive; why not, once the agent scans every pass instead.
    public private(set) var unavailable: String?
    public private(set) var counts = EventCounts()
    public private(set) var malformed = 0
    public private(set) var overflows = 0
    public private(set) var rescans = 0
    /// Processes periodic rescans moved or gave back: what events had missed (should stay 0).
    public private(set) var rescanFound = 0
    /// Processes that exited between their event and their move.
    public private(set) var races = 0
    public private(set) var eventMoves = 0
    public private(set) var latency = LatencyWindow()
    /// The rescan the next pass owes, if any.
    public private(set) var rescanOwed: RescanReason? = .start
    private var lastRescanAt: UInt64?

    public init(unavailable: String?) {
        self.unavailable = unavailable
    }

    public var listening: Bool { unavailable == nil }

    /// Events stopped (the source closed): every pass scans from now on.
    public mutating func fellBack(_ why: String) {
        unavailable = why
    }

    public mutating func received(_ c: EventCounts, malformed m: Int) {
        counts.add(c)
        malformed += m
    }

    public mutating func overflowed() {
        overflows += 1
        rescanOwed = .overflow
    }

    public mutating func reloaded() {
        if listening { rescanOwed = .reload }
    }

    /// Something could not be read: a rescan is owed (see `RescanReason.unreadable`).
    public mutating func unreadable() {
        if listening { rescanOwed = .unreadable }
    }

    /// Whether the pass starting at `now` scans /proc, and why (nil: it does not). Without
    /// events every pass scans (reason nil, scan true).
    public func scanDue(at now: UInt64, every: Duration) -> (scan: Bool, reason: RescanReason?) {
        guard listening else { return (true, nil) }
        if let owed = rescanOwed { return (true, owed) }
        guard let last = lastRescanAt else { return (true, .start) }
        let period = UInt64(every.milliseconds) * 1_000_000
        return now &- last >= period ? (true, .periodic) : (false, nil)
    }

    /// A rescan was done; `corrected` is what it moved or gave back.
    public mutating func rescanned(_ reason: RescanReason, at now: UInt64, corrected: Int) {
        rescans += 1
        lastRescanAt = now
        rescanOwed = nil
        if reason == .periodic { rescanFound += corrected }
    }

    public mutating func raced(_ n: Int) { races += n }

    public mutating func moved(latencyMilliseconds: Double) {
        eventMoves += 1
        latency.record(milliseconds: latencyMilliseconds)
    }

    public var status: EventStatus {
        EventStatus(source: listening ? "netlink" : "scan", fallbackReason: unavailable, received: counts, malformed: malformed,
                    overflows: overflows, rescans: rescans, rescanFound: rescanFound, races: races, eventMoves: eventMoves,
                    latencyMilliseconds: .init(p50: latency.quantile(0.5), p99: latency.quantile(0.99), samples: latency.count))
    }
}

/// `agent.events` in `fairshare status --json`.
public struct EventStatus: Codable, Sendable, Equatable {
    public struct Latency: Codable, Sendable, Equatable {
        public var p50: Double?
        public var p99: Double?
        public var samples: Int

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(p50, forKey: .p50)
            try c.encode(p99, forKey: .p99)
            try c.encode(samples, forKey: .samples)
        }
    }

    /// "netlink" (the kernel's proc connector) or "scan" (every pass reads /proc).
    public var source: String
    public var fallbackReason: String?
    public var received: EventCounts
    public var malformed: Int
    public var overflows: Int
    public var rescans: Int
    public var rescanFound: Int
    public var races: Int
    public var eventMoves: Int
    public var latencyMilliseconds: Latency

    enum CodingKeys: String, CodingKey {
        case source
        case fallbackReason = "fallback_reason"
        case received, malformed, overflows, rescans
        case rescanFound = "rescan_found"
        case races
        case eventMoves = "event_moves"
        case latencyMilliseconds = "latency_ms"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(fallbackReason, forKey: .fallbackReason)
        try c.encode(received, forKey: .received)
        try c.encode(malformed, forKey: .malformed)
        try c.encode(overflows, forKey: .overflows)
        try c.encode(rescans, forKey: .rescans)
        try c.encode(rescanFound, forKey: .rescanFound)
        try c.encode(races, forKey: .races)
        try c.encode(eventMoves, forKey: .eventMoves)
        try c.encode(latencyMilliseconds, forKey: .latencyMilliseconds)
    }
}
