/// A reading from the edge: a value, or why there is none. Never a zero standing in for an error.
public enum Reading<Value: Sendable>: Sendable {
    case value(Value)
    /// What could not be read and why, e.g. "reading /sys/fs/cgroup/fairshare/a/cpu.stat:
    /// Permission denied (errno 13)".
    case unavailable(String)

    public var value: Value? {
        if case .value(let v) = self { v } else { nil }
    }

    public var unavailableReason: String? {
        if case .unavailable(let why) = self { why } else { nil }
    }

    public func map<T>(_ transform: (Value) -> T) -> Reading<T> {
        switch self {
        case .value(let v): .value(transform(v))
        case .unavailable(let why): .unavailable(why)
        }
    }
}

extension Reading: Equatable where Value: Equatable {}

/// One cgroup's counters, each read on its own: one failing file does not hide the others.
public struct CgroupStats: Sendable, Equatable {
    public var cpu: Reading<CPUStat>
    public var io: Reading<IOStat>
    /// Unavailable where PSI is compiled out or disabled (psi=0): demand then goes by
    /// throttling and allowance alone.
    public var pressure: Reading<PressureStat>

    public init(cpu: Reading<CPUStat>, io: Reading<IOStat>, pressure: Reading<PressureStat>) {
        self.cpu = cpu
        self.io = io
        self.pressure = pressure
    }

    /// Why a user's subgroup has no io.stat, or (while the user is quiet) no cpu.pressure
    /// reading: not a failure, a choice (each read costs a system call per user per pass); the
    /// group's own readings cover all its users.
    public static let notReadForUsers = "not read for a user's subgroup (io.stat never, cpu.pressure only while its cpu.stat moves, so that a pass costs little more with many idle users; the group's own io.stat and cpu.pressure cover its users)"

    /// Every reading worked or was not made by design (a user's io.stat and cpu.pressure).
    public var allAsIntended: Bool {
        func fine<T>(_ r: Reading<T>) -> Bool {
            switch r {
            case .value: true
            case .unavailable(let why): why == Self.notReadForUsers
            }
        }
        return fine(cpu) && fine(io) && fine(pressure)
    }

    /// A user's subgroup: cpu.stat, and cpu.pressure when it was read (a busy user's).
    public static func user(cpu: Reading<CPUStat>, pressure: Reading<PressureStat>? = nil) -> CgroupStats {
        CgroupStats(cpu: cpu, io: .unavailable(notReadForUsers), pressure: pressure ?? .unavailable(notReadForUsers))
    }
}

/// systemd's answer for the units of unit-backed groups in one pass.
public struct UnitsObservation: Sendable, Equatable {
    /// The running units that match the policy's patterns; unavailable when systemd could not be
    /// asked (the reason names the D-Bus method and error).
    public var listing: Reading<[UnitInfo]>
    /// CPUWeight=/IOWeight= of listed units whose own weights were not known yet, read before the
    /// agent's first write to them.
    public var originals: [String: Reading<UnitWeights>] = [:]
    /// Per unit: its cgroup's counters.
    public var stats: [String: CgroupStats] = [:]
    /// Set once a call found systemd unreachable (timeout, no connection): the pass makes no
    /// further calls.
    public var unreachable: String?

    public init(listing: Reading<[UnitInfo]>, originals: [String: Reading<UnitWeights>] = [:], stats: [String: CgroupStats] = [:],
                unreachable: String? = nil) {
        self.listing = listing
        self.originals = originals
        self.stats = stats
        self.unreachable = unreachable
    }

    /// A policy without unit-backed groups asks systemd nothing.
    public static let none = UnitsObservation(listing: .value([]))
}

/// One walk of /proc: every process that could be read, and the pids whose files could not be
/// read for another reason than the process having exited (EMFILE in a descriptor storm, ENOMEM,
/// an unparsable /proc/PID/cgroup). Those are left exactly as they are: a member keeps its
/// membership (it is neither forgotten nor given back) until it can be read again.
public struct ProcessScan: Sendable, Equatable {
    public var processes: [ProcessInfo]
    public var unreadable: Set<Int32>
    /// What went wrong with the first of them, with its file and errno, for the report.
    public var firstProblem: String?

    public init(_ processes: [ProcessInfo], unreadable: Set<Int32> = [], firstProblem: String? = nil) {
        self.processes = processes
        self.unreadable = unreadable
        self.firstProblem = firstProblem
    }
}

/// Everything one pass saw, read before anything is decided.
public struct Observation: Sendable {
    /// Monotonic clock, nanoseconds, when the pass began.
    public var at: UInt64
    /// The /proc scan, when the pass scanned (unavailable when /proc could not be listed); nil
    /// when it did not (kernel events keep the memberships current between rescans, and the pass
    /// only samples and decides).
    public var processScan: Reading<ProcessScan>?
    /// The processes the scan read; nil without a scan, or when /proc could not be read.
    public var processes: [ProcessInfo]? { processScan?.value?.processes }
    /// The root's children that are valid group names, whoever made them.
    public var groupCgroups: Reading<Set<GroupName>>
    /// Counters of the agent's groups that exist. A user's subgroup is left out when it was
    /// quiet and not read this pass (`UserReadSchedule`): its counters stand as last read.
    public var groupStats: [GroupName: CgroupStats]
    public var units: UnitsObservation
    /// The disks and io.cost's settings, read every few passes (nil when not read this pass;
    /// unavailable when they could not be read).
    public var disks: Reading<IODisks>?
    /// The agent's descriptor reserve: the descriptors held, or why they were given up (the
    /// descriptor table was full); nil without a reserve.
    public var descriptorReserve: Reading<Int>?

    public init(at: UInt64, processScan: Reading<ProcessScan>?, groupCgroups: Reading<Set<GroupName>>, groupStats: [GroupName: CgroupStats] = [:],
                units: UnitsObservation = .none, disks: Reading<IODisks>? = nil) {
        self.disks = disks
        self.at = at
        self.processScan = processScan
        self.groupCgroups = groupCgroups
        self.groupStats = groupStats
        self.units = units
    }

    /// A pass whose scan read every process (or that did not scan: nil).
    public init(at: UInt64, processes: [ProcessInfo]?, groupCgroups: Reading<Set<GroupName>>, groupStats: [GroupName: CgroupStats] = [:],
                units: UnitsObservation = .none, disks: Reading<IODisks>? = nil) {
        self.init(at: at, processScan: processes.map { .value(ProcessScan($0)) }, groupCgroups: groupCgroups, groupStats: groupStats,
                  units: units, disks: disks)
    }
}

/// What kernel events said since the last pass: processes that exited, and processes to classify
/// again (after an exec, a change of user, group or name, or born to a member), as read just now.
public struct ProcessChanges: Sendable, Equatable {
    public var exited: [Int32]
    public var changed: [ProcessInfo]

    public init(exited: [Int32] = [], changed: [ProcessInfo] = []) {
        self.exited = exited
        self.changed = changed
    }
}
