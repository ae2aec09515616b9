import FairshareCore
import FairshareEdge
import FairshareLinux
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Everything the agent touches outside itself, injected: a test passes fakes for all of it.
public struct AgentEnvironment: Sendable {
    public var cgroups: CgroupTree
    public var processes: any ProcessSource
    public var clock: any AgentClock
    public var notifier: any ServiceNotifier
    /// Reads the policy file's text.
    public var readFile: @Sendable (String) throws -> String
    public var resolveUser: @Sendable (String) -> UInt32?
    public var resolveGroup: @Sendable (String) -> UInt32?
    /// uid -> user name, for the users' subgroups in status and metrics.
    public var userName: @Sendable (UInt32) -> String?
    public var agentPID: Int32
    /// CPUs available to the managed root.
    public var capacityCPUs: Int
    /// Where each moved process came from, kept across restarts; nil keeps it in memory only.
    public var origins: (any OriginStore)?
    /// systemd, for unit-backed groups (asked only when the policy has one).
    public var units: any UnitManager
    /// The kernel's process events, already subscribed; nil: every pass scans /proc.
    public var events: (any ProcessEventSource)?
    /// Why there are no events (journal and status say it), when subscribing failed.
    public var eventsUnavailable: String?
    /// Where `[agent] metrics_textfile` is written; nil writes none (tests that do not ask for it).
    public var metricsFiles: (any MetricsFiles)?
    /// The disks, read every few passes; nil reads none (no io.bfq.weight, no disks in status).
    public var disks: (any IODiskSource)?
    /// Descriptors held against a full descriptor table (given up on EMFILE/ENFILE, taken back
    /// when there is room); nil: none (tests, the CLI).
    public var descriptors: DescriptorReserve?
    /// How the cgroup tree is made ready for enforcing (the root, the agent's own leaf, the
    /// controllers: `CgroupTree.prepare`), when the agent does it itself: in observe mode it
    /// is left until the first enforcing pass. nil: the tree is ready (tests, or `fairshare run`
    /// having prepared it before an enforcing start).
    public var preparation: CgroupPreparation?

    public init(
        cgroups: CgroupTree, processes: any ProcessSource, clock: any AgentClock, notifier: any ServiceNotifier,
        readFile: @escaping @Sendable (String) throws -> String,
        resolveUser: @escaping @Sendable (String) -> UInt32? = AccountDatabase.uid(ofUser:),
        resolveGroup: @escaping @Sendable (String) -> UInt32? = AccountDatabase.gid(ofGroup:),
        userName: @escaping @Sendable (UInt32) -> String? = AccountDatabase.name(ofUID:),
        agentPID: Int32, capacityCPUs: Int,
        origins: (any OriginStore)? = nil, units: any UnitManager = UnavailableUnitManager(),
        events: (any ProcessEventSource)? = nil, eventsUnavailable: String? = nil, metricsFiles: (any MetricsFiles)? = nil,
        disks: (any IODiskSource)? = nil, descriptors: DescriptorReserve? = nil, preparation: CgroupPreparation? = nil
    ) {
        self.preparation = preparation
        self.descriptors = descriptors
        self.disks = disks
        self.metricsFiles = metricsFiles
        self.events = events
        self.eventsUnavailable = eventsUnavailable
        self.units = units
        self.cgroups = cgroups
        self.processes = processes
        self.clock = clock
        self.notifier = notifier
        self.readFile = readFile
        self.resolveUser = resolveUser
        self.resolveGroup = resolveGroup
        self.userName = userName
        self.agentPID = agentPID
        self.capacityCPUs = capacityCPUs
        self.origins = origins
    }
}

/// Reads a whole file as text, with errno in the error.
public struct FileReadError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32

    public init(path: String, errno: Int32) {
        self.path = path
        self.errno = errno
    }

    public var description: String { "cannot read \(path): \(String(cString: strerror(errno)))" }
}

public func readTextFile(_ path: String) throws -> String {
    guard let f = fopen(path, "r") else {
        DescriptorReserve.shared.note(openFailure: errno, path: path)
        throw FileReadError(path: path, errno: errno)
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n > 0 { bytes.append(contentsOf: buf[0..<n]) }
        if n < buf.count {
            if ferror(f) != 0 { throw FileReadError(path: path, errno: errno) }
            break
        }
        if bytes.count > 4 << 20 { throw FileReadError(path: path, errno: EFBIG) }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// What `CgroupTree.prepare` needs besides the tree (see `AgentEnvironment.preparation`).
public struct CgroupPreparation: Sendable {
    /// The agent's own cgroup (moved into a leaf of it when it is the root).
    public var agentCgroup: CgroupPath?
    /// false for a delegated root: its ancestors belong to systemd.
    public var configureAncestors: Bool

    public init(agentCgroup: CgroupPath?, configureAncestors: Bool) {
        self.agentCgroup = agentCgroup
        self.configureAncestors = configureAncestors
    }

    /// What `CgroupTree.prepare` did, to the journal: "warning: ..." notes as warnings, the
    /// rest as setup.
    public static func log(_ notes: [String], to logger: Logger) {
        for note in notes {
            if note.hasPrefix("warning: ") {
                logger.warning("\(note.dropFirst("warning: ".count))", metadata: ["event": "warning"])
            } else {
                logger.info("\(note)", metadata: ["event": "setup"])
            }
        }
    }
}
