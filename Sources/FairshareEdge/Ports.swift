import FairshareCore

#if canImport(Glibc)
import Glibc
#endif

// The edge's ports: what the agent needs from the kernel, systemd and the clock, as small
// protocols. The adapters live in FairshareLinux (cgroup files, /proc) and FairshareSystemd
// (sd_notify, the journal, D-Bus); the fakes in FairshareTestSupport. Nothing here links
// libsystemd, so neither the agent nor its tests do.

/// The one choke point for cgroup file access. Paths are `CgroupPath`s (validated components)
/// joined beneath `mountPoint`; nothing else builds a cgroup path.
public protocol CgroupFilesystem: Sendable {
    /// Where the cgroup2 hierarchy is mounted, e.g. "/sys/fs/cgroup" (or a temp dir in tests).
    var mountPoint: String { get }
    func read(_ file: ControlFile, of cgroup: CgroupPath) throws(CgroupError) -> String
    func write(_ value: String, to file: ControlFile, of cgroup: CgroupPath) throws(CgroupError)
    /// Creates the cgroup; an existing one is fine.
    func create(_ cgroup: CgroupPath) throws(CgroupError)
    func remove(_ cgroup: CgroupPath) throws(CgroupError)
    func exists(_ cgroup: CgroupPath) -> Bool
    /// Names of the child cgroups.
    func children(of cgroup: CgroupPath) throws(CgroupError) -> [String]
}

extension CgroupFilesystem {
    public func absolutePath(_ cgroup: CgroupPath) -> String {
        cgroup.isRoot ? mountPoint : mountPoint + cgroup.description
    }

    public func absolutePath(_ file: ControlFile, of cgroup: CgroupPath) -> String {
        absolutePath(cgroup) + "/" + file.rawValue
    }
}


/// Where the agent learns which processes exist. The /proc scan is the first source; an
/// event-driven one can sit behind the same protocol.
public protocol ProcessSource: Sendable {
    /// Every process readable right now. Processes that vanish during the scan are skipped;
    /// those whose files fail for another reason are listed as unreadable (never dropped as if
    /// they had exited); a /proc that can not be listed is `.unavailable`, never an empty list.
    /// Only the optional attributes in `details` are read (each costs syscalls per process).
    func scan(details: ProcessDetails) -> Reading<ProcessScan>
    /// One process with only the optional attributes in `details`: found, gone (it does not
    /// exist, or vanished while being read), or unreadable (and why).
    func lookup(_ pid: Int32, details: ProcessDetails) -> ProcessLookup
    /// Whatever is remembered of the process is stale (the agent just moved it).
    func invalidate(_ pid: Int32)
}

/// What reading one process found.
public enum ProcessLookup: Sendable, Equatable {
    case found(ProcessInfo)
    /// It does not exist (any more).
    case gone
    /// Its files could not be read, for a reason other than its having exited (what, where, errno).
    case unreadable(String)

    public var process: ProcessInfo? {
        if case .found(let p) = self { p } else { nil }
    }
}

extension ProcessSource {
    public func invalidate(_ pid: Int32) {}
    /// One process with every attribute; nil when it is gone or could not be read.
    public func process(_ pid: Int32) -> ProcessInfo? { lookup(pid, details: .all).process }
    public func process(_ pid: Int32, details: ProcessDetails) -> ProcessInfo? { lookup(pid, details: details).process }
}

/// Optional process attributes: read only when some rule of the policy looks at them.
public struct ProcessDetails: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// /proc/PID/exe
    public static let exe = ProcessDetails(rawValue: 1)
    /// /proc/PID/cmdline
    public static let argv = ProcessDetails(rawValue: 2)
    /// /proc/PID/status (real uid and gid): without it they read as 0 and mean nothing.
    public static let ids = ProcessDetails(rawValue: 4)
    public static let all: ProcessDetails = [.exe, .argv, .ids]

    /// What a policy's rules need.
    public init(for policy: Policy) {
        self = []
        if policy.groups.contains(where: { !$0.match.exe.isEmpty }) { insert(.exe) }
        if policy.groups.contains(where: { !$0.match.cmdline.isEmpty }) { insert(.argv) }
        // The largest of the files a process costs: read only when a rule looks at its ids, or
        // a per_user group places its members by their uid.
        if policy.groups.contains(where: { !$0.match.users.isEmpty || !$0.match.groups.isEmpty || $0.perUser != nil }) { insert(.ids) }
    }
}


/// The service manager's side channel (READY=1, RELOADING=1, STOPPING=1, STATUS=...).
public protocol ServiceNotifier: Sendable {
    func notify(_ state: String)
}


/// Monotonic time for rates and wall time for reports.
public protocol AgentClock: Sendable {
    /// Nanoseconds from an arbitrary start; never goes back.
    func monotonicNanoseconds() -> UInt64
    /// Seconds since the Unix epoch.
    func wallSeconds() -> Double
}

public struct SystemClock: AgentClock {
    public init() {}

    public func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public func wallSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}


/// Where the origin ledger lives between runs of the agent.
public protocol OriginStore: Sendable {
    /// The ledger's text, or nil when there is none.
    func load() throws -> String?
    func save(_ text: String) throws
}


/// The machine's disks and the root's io.cost settings, for judging where io shares count.
/// Read-only: the agent never writes io.cost.model or io.cost.qos (the machine's owner does).
public protocol IODiskSource: Sendable {
    /// The disks, or why they could not be read (the file and the errno): never "no disks" for
    /// a directory that could not be listed.
    func read() -> Reading<IODisks>
}
