/// What `fairshare status --json` prints and the control socket returns for `status`.
/// Field names are snake_case and stable: new fields may be added, none are renamed or removed
/// while `schema_version` stays 1.
public struct StatusReport: Codable, Sendable, Equatable {
    public static let schemaVersion = 1

    public var schemaVersion: Int
    public var agent: AgentStatus
    public var policy: PolicyStatus
    public var groups: [GroupStatus]
    /// Per disk: whether io shares are in force and through what (io.cost, BFQ); absent before
    /// the agent first read the disks.
    public var ioDevices: [IODeviceStatus]?
    /// What each file in `cgroup_files` holds while the agent has not written it: the kernel's
    /// default for a new cgroup, and what a group left behind at stop is given back.
    public var cgroupFileDefaults: [String: String]?
    /// In observe mode (`[agent] mode = "observe"`): what enforcing this policy would do now,
    /// decided every pass as `fairshare plan` decides a new policy. Absent when enforcing.
    public var would: PlanReport?

    public init(agent: AgentStatus, policy: PolicyStatus, groups: [GroupStatus]) {
        self.schemaVersion = StatusReport.schemaVersion
        self.agent = agent
        self.policy = policy
        self.groups = groups
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case agent, policy, groups
        case ioDevices = "io_devices"
        case cgroupFileDefaults = "cgroup_file_defaults"
        case would
    }
}

public struct AgentStatus: Codable, Sendable, Equatable {
    public var pid: Int32
    /// Seconds since the Unix epoch.
    public var startedAt: Double
    public var uptimeSeconds: Double
    /// Absolute path of the managed cgroup root.
    public var cgroupRoot: String
    public var intervalSeconds: Double
    /// CPUs available to the root (from cpuset.cpus.effective).
    public var cpus: Double
    /// Enforcement passes done so far.
    public var ticks: Int
    /// Duration of the last pass, and the median of the last `PassTimes.window` passes (nil before
    /// the first).
    public var lastPassSeconds: Double?
    public var passSecondsMedian: Double?
    /// Reads and writes that keep failing, each once per (target, cause), with how often it
    /// failed since when (retried every pass). Empty when all is well.
    public var failures: [FailureBook.Failure]?
    /// Failures not tracked because the list was full.
    public var untrackedFailures: Int?
    /// Where the agent hears of new processes, and how that goes.
    public var events: EventStatus?
    /// `[agent] mode`: "enforce", or "observe" (nothing is written, moved or set; `would` in
    /// the report says what enforcing would do).
    public var mode: String?

    public init(pid: Int32, startedAt: Double, uptimeSeconds: Double, cgroupRoot: String, intervalSeconds: Double, cpus: Double, ticks: Int,
                lastPassSeconds: Double? = nil, passSecondsMedian: Double? = nil,
                failures: [FailureBook.Failure]? = nil, untrackedFailures: Int? = nil, events: EventStatus? = nil) {
        self.events = events
        self.failures = failures
        self.untrackedFailures = untrackedFailures
        self.lastPassSeconds = lastPassSeconds
        self.passSecondsMedian = passSecondsMedian
        self.pid = pid
        self.startedAt = startedAt
        self.uptimeSeconds = uptimeSeconds
        self.cgroupRoot = cgroupRoot
        self.intervalSeconds = intervalSeconds
        self.cpus = cpus
        self.ticks = ticks
    }

    enum CodingKeys: String, CodingKey {
        case pid
        case startedAt = "started_at"
        case uptimeSeconds = "uptime_seconds"
        case cgroupRoot = "cgroup_root"
        case intervalSeconds = "interval_seconds"
        case cpus, ticks
        case lastPassSeconds = "last_pass_seconds"
        case passSecondsMedian = "pass_seconds_median"
        case failures
        case untrackedFailures = "untracked_failures"
        case events, mode
    }
}

/// The latest values of a figure, at most `capacity` of them: the memory and the cost of a
/// quantile do not grow with the uptime or with how often the figure is recorded. They are kept
/// in order too, so that a quantile costs nothing: status reads the event latencies' in every
/// pass (sorting 1,024 of them each time was a measurable part of a pass after many moves).
public struct RecentSamples: Sendable, Equatable {
    public let capacity: Int
    /// In the order recorded (a ring: `next` is the oldest once full).
    private var samples: [Double] = []
    private var next = 0
    /// The same values, ascending.
    public private(set) var ascending: [Double] = []
    public private(set) var last: Double?

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// NaN is not recorded (it has no place in the order).
    public mutating func record(_ value: Double) {
        guard !value.isNaN else { return }
        if samples.count < capacity {
            samples.append(value)
        } else {
            let oldest = samples[next]
            samples[next] = value
            ascending.remove(at: Self.firstIndex(notBelow: oldest, in: ascending))
        }
        ascending.insert(value, at: Self.firstIndex(notBelow: value, in: ascending))
        next = (next + 1) % capacity
        last = value
    }

    public var count: Int { samples.count }

    /// The values kept, in no particular order.
    public var values: [Double] { samples }

    /// The q-quantile (0...1) by nearest rank, nil without samples.
    public func quantile(_ q: Double) -> Double? {
        guard !ascending.isEmpty else { return nil }
        let rank = Int((q * Double(ascending.count)).rounded(.up))
        return ascending[min(max(rank, 1), ascending.count) - 1]
    }

    public var median: Double? {
        guard !ascending.isEmpty else { return nil }
        let mid = ascending.count / 2
        return ascending.count % 2 == 1 ? ascending[mid] : (ascending[mid - 1] + ascending[mid]) / 2
    }

    /// Binary search: the first position whose value is >= `value` (its count when none).
    private static func firstIndex(notBelow value: Double, in sorted: [Double]) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// The durations of the most recent passes, for status: bounded, whatever the uptime.
public struct PassTimes: Sendable, Equatable {
    public static let window = 32
    private var recent = RecentSamples(capacity: PassTimes.window)

    public init() {}

    public mutating func record(nanoseconds: UInt64) {
        recent.record(Double(nanoseconds) / 1e9)
    }

    public var last: Double? { recent.last }

    public var median: Double? { recent.median }
}

public struct PolicyStatus: Codable, Sendable, Equatable {
    public var path: String
    /// Seconds since the Unix epoch when the policy in force was loaded.
    public var loadedAt: Double
    /// The last reload attempt, if any: whether it was applied and, if not, why.
    public var lastReload: ReloadOutcome?
    /// Reload requests handled since the start (applied or not). Optional: absent from agents
    /// older than this field.
    public var reloads: Int?

    public init(path: String, loadedAt: Double, lastReload: ReloadOutcome?, reloads: Int? = nil) {
        self.path = path
        self.loadedAt = loadedAt
        self.lastReload = lastReload
        self.reloads = reloads
    }

    enum CodingKeys: String, CodingKey {
        case path
        case loadedAt = "loaded_at"
        case lastReload = "last_reload"
        case reloads
    }
}

public struct ReloadOutcome: Codable, Sendable, Equatable {
    public var applied: Bool
    public var at: Double
    /// The validation error(s), one per line, when the new policy was rejected.
    public var error: String?

    public init(applied: Bool, at: Double, error: String?) {
        self.applied = applied
        self.at = at
        self.error = error
    }
}

public struct GroupStatus: Codable, Sendable, Equatable {
    /// The group's path under the root: `research/lab-a` for a nested group, `logins/user-1001`
    /// for a user's subgroup of a per_user group.
    public var name: String
    /// The group it lies in (null at the top level): the list is flat, a tree by this field.
    public var parent: String?
    /// A user's subgroup: the uid, and the user's name where it resolves.
    public var uid: UInt32?
    public var user: String?
    public var shares: Int
    public var ioShares: Int
    /// The weights in force: for an agent group, as last written (null, with the reason in
    /// `unavailable`, until a write succeeded); for a unit-backed group, what the agent sets on
    /// its units through systemd.
    public var cpuWeight: Int?
    public var ioWeight: Int?
    public var members: Int
    /// CPU used over the last interval, in CPUs (1.0 = one CPU busy); null when cpu.stat could
    /// not be read (`unavailable` says why), 0 before the first interval.
    public var cpuUsageCPUs: Double?
    /// The same as a percentage of the root's capacity.
    public var cpuUsagePercent: Double?
    /// shares / sum of the shares of the groups that have members, as a percentage.
    public var cpuTargetPercent: Double
    /// cpu.stat's counters as last read; null when it could not be read.
    public var usageUsec: UInt64?
    public var nrThrottled: UInt64?
    public var throttledUsec: UInt64?
    /// io.stat's rates; null when io.stat could not be read.
    public var ioReadBytesPerSecond: Double?
    public var ioWriteBytesPerSecond: Double?
    /// For each field that is null because something could not be read: what and why.
    public var unavailable: [String: String]?
    /// Redistribution (issue 3); nil before the first decision and for unit-backed groups.
    public var redistribution: GroupRedistribution?
    /// "agent": a cgroup of the agent's, processes moved into it; "unit": systemd units whose
    /// CPUWeight/IOWeight the agent sets through systemd, processes left where they are.
    public var backing: String?
    /// For a unit-backed group: its units that are running, each with its cgroup.
    public var units: [UnitStatus]?
    /// The share of the whole machine (percent) that follows from the cgroup hierarchy if the
    /// group and every populated cgroup beside it at every level were busy; nil when unknown.
    public var machineSharePercent: Double?
    /// True for an `idle = true` group (cpu.idle = 1; its cpu_weight is null); absent otherwise.
    public var idle: Bool?
    /// cpu.pressure's "some total" as last read (microseconds some task waited for a CPU);
    /// absent without PSI and for unit-backed groups. The metrics' waiting-seconds counter.
    public var pressureTotalUsec: UInt64?
    /// io.bfq.weight as written while some disk uses BFQ; null otherwise (and for unit-backed
    /// groups, whose units' BFQ weight systemd derives from IOWeight= itself).
    public var ioBFQWeight: Int?
    /// Every file of the group's cgroup the agent writes (a row of GroupFiles), as the kernel was
    /// last given it: "cpu.max" -> "50000 100000". A file not written yet is absent (the kernel
    /// holds its default, `cgroup_file_defaults`). Agent groups only.
    public var cgroupFiles: [String: String]?

    public init(
        name: String, shares: Int, ioShares: Int, cpuWeight: Int?, ioWeight: Int?, members: Int,
        cpuUsageCPUs: Double?, cpuUsagePercent: Double?, cpuTargetPercent: Double,
        usageUsec: UInt64?, nrThrottled: UInt64?, throttledUsec: UInt64?,
        ioReadBytesPerSecond: Double?, ioWriteBytesPerSecond: Double?
    ) {
        self.name = name
        self.shares = shares
        self.ioShares = ioShares
        self.cpuWeight = cpuWeight
        self.ioWeight = ioWeight
        self.members = members
        self.cpuUsageCPUs = cpuUsageCPUs
        self.cpuUsagePercent = cpuUsagePercent
        self.cpuTargetPercent = cpuTargetPercent
        self.usageUsec = usageUsec
        self.nrThrottled = nrThrottled
        self.throttledUsec = throttledUsec
        self.ioReadBytesPerSecond = ioReadBytesPerSecond
        self.ioWriteBytesPerSecond = ioWriteBytesPerSecond
        self.redistribution = nil
    }

    enum CodingKeys: String, CodingKey {
        case name, parent, uid, user, shares, members
        case ioShares = "io_shares"
        case cpuWeight = "cpu_weight"
        case ioWeight = "io_weight"
        case cpuUsageCPUs = "cpu_usage_cpus"
        case cpuUsagePercent = "cpu_usage_pct"
        case cpuTargetPercent = "cpu_target_pct"
        case usageUsec = "usage_usec"
        case nrThrottled = "nr_throttled"
        case throttledUsec = "throttled_usec"
        case ioReadBytesPerSecond = "io_read_bps"
        case ioWriteBytesPerSecond = "io_write_bps"
        case redistribution
        case backing, units
        case machineSharePercent = "machine_share_pct"
        case unavailable
        case idle
        case pressureTotalUsec = "pressure_total_usec"
        case ioBFQWeight = "io_bfq_weight"
        case cgroupFiles = "cgroup_files"
    }

    /// Readings print as null when unavailable (rather than vanish), so a reader sees the field
    /// and, in `unavailable`, why it has no value.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(parent, forKey: .parent)
        try c.encodeIfPresent(uid, forKey: .uid)
        try c.encodeIfPresent(user, forKey: .user)
        try c.encode(shares, forKey: .shares)
        try c.encode(ioShares, forKey: .ioShares)
        try c.encode(cpuWeight, forKey: .cpuWeight)
        try c.encode(ioWeight, forKey: .ioWeight)
        try c.encode(ioBFQWeight, forKey: .ioBFQWeight)
        try c.encode(members, forKey: .members)
        try c.encode(cpuUsageCPUs, forKey: .cpuUsageCPUs)
        try c.encode(cpuUsagePercent, forKey: .cpuUsagePercent)
        try c.encode(cpuTargetPercent, forKey: .cpuTargetPercent)
        try c.encode(usageUsec, forKey: .usageUsec)
        try c.encode(nrThrottled, forKey: .nrThrottled)
        try c.encode(throttledUsec, forKey: .throttledUsec)
        try c.encode(ioReadBytesPerSecond, forKey: .ioReadBytesPerSecond)
        try c.encode(ioWriteBytesPerSecond, forKey: .ioWriteBytesPerSecond)
        try c.encodeIfPresent(redistribution, forKey: .redistribution)
        try c.encodeIfPresent(backing, forKey: .backing)
        try c.encodeIfPresent(units, forKey: .units)
        try c.encodeIfPresent(machineSharePercent, forKey: .machineSharePercent)
        try c.encodeIfPresent(unavailable, forKey: .unavailable)
        try c.encodeIfPresent(idle, forKey: .idle)
        try c.encodeIfPresent(pressureTotalUsec, forKey: .pressureTotalUsec)
        try c.encodeIfPresent(cgroupFiles, forKey: .cgroupFiles)
    }
}

/// A unit of a unit-backed group, in `fairshare status`.
public struct UnitStatus: Codable, Sendable, Equatable {
    public var name: String
    /// Relative to the cgroup2 mount, e.g. "/system.slice/postgresql.service".
    public var cgroup: String

    public init(name: String, cgroup: String) {
        self.name = name
        self.cgroup = cgroup
    }
}

/// The controller's view of a group for the last interval: what it was allotted and why.
public struct GroupRedistribution: Codable, Sendable, Equatable {
    /// CPUs the allocator gave the group, and the same as a percentage of the capacity.
    public var allocationCPUs: Double
    public var allocationPercent: Double
    /// CPUs above its max, from idle capacity.
    public var borrowedCPUs: Double
    public var hungry: Bool
    /// Why it counts as hungry or satisfied.
    public var demand: String
    /// What bounds its allocation: share, floor, demand, ceiling, borrowing, burst.
    public var limit: String
    /// Share of the interval in which some task waited for a CPU (percent); nil without PSI.
    public var pressurePercent: Double?
    public var fairnessFactor: Double
    /// The cpu.max written ("max 100000" = no limit).
    public var cpuMax: String
    /// Why cpu.weight is what it is.
    public var weightReason: String
    /// Configured limits, as written in the policy (nil where not set).
    public var min: String?
    public var max: String?
    public var burst: String?
    public var borrow: Bool
    /// With fairness = "decayed": the group's exponentially decayed usage and entitlement, in
    /// CPUs (their ratio gives the fairness factor, before the max_boost clamp); nil otherwise.
    public var decayedUsageCPUs: Double?
    public var entitlementCPUs: Double?

    public init(allocationCPUs: Double, allocationPercent: Double, borrowedCPUs: Double, hungry: Bool, demand: String, limit: String,
                pressurePercent: Double?, fairnessFactor: Double, cpuMax: String, weightReason: String,
                min: String?, max: String?, burst: String?, borrow: Bool) {
        self.allocationCPUs = allocationCPUs
        self.allocationPercent = allocationPercent
        self.borrowedCPUs = borrowedCPUs
        self.hungry = hungry
        self.demand = demand
        self.limit = limit
        self.pressurePercent = pressurePercent
        self.fairnessFactor = fairnessFactor
        self.cpuMax = cpuMax
        self.weightReason = weightReason
        self.min = min
        self.max = max
        self.burst = burst
        self.borrow = borrow
    }

    enum CodingKeys: String, CodingKey {
        case allocationCPUs = "allocation_cpus"
        case allocationPercent = "allocation_pct"
        case borrowedCPUs = "borrowed_cpus"
        case hungry, demand, limit
        case pressurePercent = "pressure_pct"
        case fairnessFactor = "fairness_factor"
        case cpuMax = "cpu_max"
        case weightReason = "weight_reason"
        case min, max, burst, borrow
        case decayedUsageCPUs = "decayed_usage_cpus"
        case entitlementCPUs = "entitlement_cpus"
    }
}
