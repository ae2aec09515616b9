/// The admin's share policy: agent settings and the groups, in file order (first match wins).
public struct Policy: Sendable, Equatable {
    public var agent: AgentSettings
    public var groups: [GroupPolicy]
    /// Where the policy was read from, for messages and `fairshare status`.
    public var sourcePath: String
    /// Things worth telling the admin that do not make the policy invalid
    /// (for example a user name that does not exist on this host).
    public var warnings: [PolicyWarning]

    public init(agent: AgentSettings = AgentSettings(), groups: [GroupPolicy], sourcePath: String = "<memory>", warnings: [PolicyWarning] = []) {
        self.agent = agent
        self.groups = groups
        self.sourcePath = sourcePath
        self.warnings = warnings
    }

    public func group(named name: GroupName) -> GroupPolicy? {
        groups.first { $0.name == name }
    }

    /// Levels of policy groups: a top-level group is level 1. A `per_user` group's users'
    /// subgroups are one level more, so a `per_user` group may be at level 3 at most and
    /// `GroupName.maxComponents` is one more than this.
    public static let maxDepth = 4

    /// The groups whose parent is `parent` (nil: the top-level groups), in file order.
    public func children(of parent: GroupName?) -> [GroupPolicy] {
        groups.filter { $0.parent == parent }
    }

    /// True for a group that holds no processes itself: it has child groups, or it is `per_user`
    /// (its processes live in its users' subgroups). cgroup v2 keeps processes in leaves only.
    public func isInterior(_ g: GroupPolicy) -> Bool {
        g.perUser != nil || groups.contains { $0.parent == g.name }
    }
}

/// The `[agent]` table.
public struct AgentSettings: Sendable, Equatable {
    /// Sample and enforce period, 100 ms ... 60 s.
    public var interval: Duration
    /// Period of the journal summary entry.
    public var reportInterval: Duration
    public var cgroupRoot: CgroupRootSetting
    /// How effective weights follow history: not at all (`instant`), or by decayed usage.
    public var fairness: FairnessMode
    /// With kernel events, the period of the full /proc rescan that catches whatever events
    /// missed (the safety net); without them every pass scans.
    public var rescanInterval: Duration
    /// `metrics_textfile`: where the agent writes its metrics (Prometheus text format, write +
    /// rename) every `report_interval` for node_exporter's textfile collector; written only
    /// while the file's directory exists. nil = not written (`metrics_textfile = ""`).
    public var metricsTextfile: String?
    /// `metrics_users`: how many users' series (of `per_user` groups) the metrics carry, the
    /// busiest first; 0 = none. Bounds the metrics' size whatever the number of users.
    public var metricsUsers: Int
    /// `mode`: `enforce` (default) or `observe` (classify, sample and decide, report what it
    /// would do, change nothing).
    public var mode: AgentMode

    public static let defaultMetricsTextfile = "/var/lib/prometheus/node-exporter/fairshare.prom"
    public static let defaultMetricsUsers = 100
    public static let metricsUsersRange: ClosedRange<Int> = 0...10000
    public static let intervalRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(60)
    public static let rescanIntervalRange: ClosedRange<Duration> = .seconds(1) ... .seconds(3600)

    public init(interval: Duration = .seconds(2), reportInterval: Duration = .seconds(60), cgroupRoot: CgroupRootSetting = .auto,
                fairness: FairnessMode = .instant, rescanInterval: Duration = .seconds(60),
                metricsTextfile: String? = AgentSettings.defaultMetricsTextfile, metricsUsers: Int = AgentSettings.defaultMetricsUsers,
                mode: AgentMode = .enforce) {
        self.mode = mode
        self.metricsTextfile = metricsTextfile
        self.metricsUsers = metricsUsers
        self.rescanInterval = rescanInterval
        self.interval = interval
        self.reportInterval = reportInterval
        self.cgroupRoot = cgroupRoot
        self.fairness = fairness
    }
}

/// `[agent] mode`. In `observe` the agent reads as it would to enforce (processes, usage, the
/// units) and decides every pass, but writes no cgroup file, moves no process and sets no unit
/// property: status, metrics and the journal say what enforcing would do. A site rolls a
/// policy out this way, then reloads with `enforce`.
public enum AgentMode: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case enforce
    case observe

    public var description: String { rawValue }
}

public enum CgroupRootSetting: Sendable, Equatable, CustomStringConvertible {
    /// The agent's own (delegated) cgroup, read from /proc/self/cgroup.
    case auto
    /// An absolute path on the cgroup2 mount, e.g. /sys/fs/cgroup/fairshare.
    case path(String)

    public var description: String {
        switch self {
        case .auto: "auto"
        case .path(let p): p
        }
    }
}

/// `[agent] fairness`: `instant` (default) uses the shares as they are; `decayed` multiplies each
/// group's weight by a factor from its exponentially decayed past usage against its entitlement,
/// bounded so that no two hungry groups' weights depart from their shares' ratio by more than
/// `maxBoost` (the anti-starvation rule: credit is capped).
public enum FairnessMode: Sendable, Equatable, CustomStringConvertible {
    case instant
    case decayed(halfLife: Duration, maxBoost: Double)

    public static let defaultHalfLife: Duration = .seconds(600)
    public static let defaultMaxBoost = 4.0
    public static let maxBoostRange: ClosedRange<Double> = 1...100
    public static let halfLifeRange: ClosedRange<Duration> = .seconds(1) ... .seconds(7 * 24 * 3600)

    public var description: String {
        switch self {
        case .instant: "instant"
        case .decayed(let h, let b): "decayed (half_life \(DurationText.format(h)), max_boost \(b))"
        }
    }
}

/// CPU capacity as a number of CPUs (`"1.5"`) or a percentage of the root's capacity (`"25%"`).
public enum CPUAmount: Sendable, Equatable, CustomStringConvertible {
    case cpus(Double)
    case percent(Double)

    /// "2", "1.5", "0.25", "25%", "12.5%". Nil for anything else, negative or non-finite values,
    /// and percentages above 100.
    public static func parse(_ text: String) -> CPUAmount? {
        let t = text.trimmingSpaces()
        if t.hasSuffix("%") {
            let number = t.dropLast()
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(number), v.isFinite,
                v > 0, v <= 100
            else { return nil }
            return .percent(v)
        }
        guard !t.isEmpty, t.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(t), v.isFinite, v > 0 else { return nil }
        return .cpus(v)
    }

    /// In CPUs, for a root with `capacity` CPUs.
    public func cpus(capacity: Double) -> Double {
        switch self {
        case .cpus(let c): c
        case .percent(let p): capacity * p / 100
        }
    }

    public var description: String {
        // Int(_:) traps beyond Int's range ("1e20" CPUs parses): only whole numbers well within it.
        func number(_ x: Double) -> String { abs(x) < 1e15 && x == x.rounded() ? String(Int(x)) : String(x) }
        switch self {
        case .cpus(let c): return number(c)
        case .percent(let p): return number(p) + "%"
        }
    }
}

/// One `[[group]]` entry.
public struct GroupPolicy: Sendable, Equatable {
    /// The group's path: its own `name` key for a top-level group; for a nested one its
    /// parent's path, "/" and its own name (`research/lab-a`). Unique in a policy, so everything
    /// keyed by `GroupName` tells nested groups apart; `shortName` is the `name` key.
    public var name: GroupName
    /// The parent group's path (`parent = "NAME"`); nil for a top-level group.
    public var parent: GroupName?
    public var shares: Shares
    public var ioShares: Shares
    public var match: MatchRule
    /// `min`: guaranteed CPU whenever the group wants it.
    public var floor: CPUAmount?
    /// `max`: ceiling, enforced through cpu.max.
    public var ceiling: CPUAmount?
    /// `borrow = true`: the ceiling gives way while other groups leave capacity unused.
    public var borrow: Bool
    /// `burst`: how far a borrowing group may go; nil = the whole capacity.
    public var burst: CPUAmount?
    /// `max_burst`: unused quota a capped group may bank for a short burst above its max
    /// (cpu.max.burst); nil = none.
    public var maxBurst: CPUAmount?
    /// `idle = true`: the group's cgroup gets cpu.idle = 1 (systemd's CPUWeight=idle): it runs
    /// only on CPU time no other group wants, and has no CPU weight of its own.
    public var idle: Bool
    /// `per_user = true`: the group's processes are shared out between its users, each user a
    /// subgroup of its own (fair between people, not processes); nil otherwise.
    public var perUser: PerUserPolicy?
    /// 1-based line of the `[[group]]` header in the source, for messages.
    public var line: Int

    /// The group's `name` key: the last component of its path.
    public var shortName: String { name.leaf }

    /// - Parameter parent: nil takes `name.parent` (nil for a one-component name), so a group
    ///   built from a path knows its parent.
    public init(
        name: GroupName, shares: Shares, ioShares: Shares? = nil, match: MatchRule, line: Int = 0,
        floor: CPUAmount? = nil, ceiling: CPUAmount? = nil, borrow: Bool = false, burst: CPUAmount? = nil,
        maxBurst: CPUAmount? = nil, idle: Bool = false, parent: GroupName? = nil, perUser: PerUserPolicy? = nil
    ) {
        self.parent = parent ?? name.parent
        self.perUser = perUser
        self.maxBurst = maxBurst
        self.idle = idle
        self.name = name
        self.shares = shares
        self.ioShares = ioShares ?? shares
        self.match = match
        self.line = line
        self.floor = floor
        self.ceiling = ceiling
        self.borrow = borrow
        self.burst = burst
    }
}

/// `per_user = true` in a `[[group]]`: the group's part is shared out between its users, each
/// in a subgroup of its own, by `shares` (weight `defaultShares` for a user not listed), within
/// the per-user limits. The limits mean what the group's own `min`, `max`, `borrow` and `burst`
/// mean, for each user's subgroup.
public struct PerUserPolicy: Sendable, Equatable {
    /// `user_shares`: a user's weight among the group's users, by name or uid. A uid entry
    /// comes before a name entry for the same user (see `shares(uid:name:)`).
    public var shares: [IDRef: Shares]
    /// `user_min`: guaranteed CPU for each user who wants it.
    public var floor: CPUAmount?
    /// `user_max`: each user's ceiling.
    public var ceiling: CPUAmount?
    /// `user_borrow = true`: a user's ceiling gives way while capacity is idle.
    public var borrow: Bool
    /// `user_burst`: how far a borrowing user may go; nil = the whole capacity.
    public var burst: CPUAmount?
    /// `max_users`: the most users' subgroups the agent makes in the group at once.
    public var maxUsers: Int

    /// Users share the group's part equally unless `user_shares` says otherwise.
    public static let defaultShares = Shares(1)!
    public static let defaultMaxUsers = 1024
    public static let maxUsersRange: ClosedRange<Int> = 1...65536

    public init(
        shares: [IDRef: Shares] = [:], floor: CPUAmount? = nil, ceiling: CPUAmount? = nil, borrow: Bool = false, burst: CPUAmount? = nil,
        maxUsers: Int = PerUserPolicy.defaultMaxUsers
    ) {
        self.shares = shares
        self.floor = floor
        self.ceiling = ceiling
        self.borrow = borrow
        self.burst = burst
        self.maxUsers = maxUsers
    }

    /// The weight of the user with `uid` (and `name`, when known): its uid's entry, else its
    /// name's, else `defaultShares`.
    public func shares(uid: UInt32, name: String?) -> Shares {
        shares[.id(uid)] ?? name.flatMap { shares[.name($0)] } ?? Self.defaultShares
    }
}

/// A group's name, or its path in the tree of groups: 1...`maxComponents` components joined by
/// "/", each `^[a-z][a-z0-9_-]{0,62}$`. Each component becomes a cgroup directory name, so the
/// pattern is what keeps paths beneath the root (no empty component, no `.`, no `..`).
/// Ordered by `rawValue`, so a group sorts before the groups beneath it.
public struct GroupName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// `Policy.maxDepth` levels of policy groups and one for a `per_user` group's users.
    public static let maxComponents = Policy.maxDepth + 1

    /// One component (a `name` key).
    public init?(_ raw: String) {
        guard GroupName.isValid(raw) else { return nil }
        rawValue = raw
    }

    /// A path such as `research/lab-a`: each component valid, 1...`maxComponents` of them.
    ///
    /// Generic only so that an unlabelled reference, `flatMap(GroupName.init)`, still means
    /// `init?(_:)` (the solver prefers a non-generic candidate); call it with a String.
    public init?(path: some StringProtocol) {
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard (1...GroupName.maxComponents).contains(parts.count), parts.allSatisfy({ GroupName.isValid($0) }) else { return nil }
        rawValue = String(path)
    }

    /// A path known to be valid (a prefix of a valid path).
    private init(validated: String) { rawValue = validated }

    /// Whether `raw` is one valid component.
    public static func isValid(_ raw: String) -> Bool { isValid(raw.utf8) }

    /// The same on bytes (a listing checks every user's subgroup name in every pass: no copies).
    static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        guard (1...63).contains(bytes.count), let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            return false
        }
        return bytes.dropFirst().allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }
    }

    public var components: [String] { rawValue.split(separator: "/").map(String.init) }
    /// The last component: the group's own `name` key. (These run for every group of every pass,
    /// users' subgroups included: no split, no validation again.)
    public var leaf: String {
        guard let slash = rawValue.utf8.lastIndex(of: UInt8(ascii: "/")) else { return rawValue }
        return String(rawValue[rawValue.index(after: slash)...])
    }
    /// The path without its last component; nil for one component.
    public var parent: GroupName? {
        guard let slash = rawValue.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return GroupName(validated: String(rawValue[..<slash]))
    }
    /// The number of components: 1 for a top-level group.
    public var depth: Int {
        var n = 1
        for b in rawValue.utf8 where b == UInt8(ascii: "/") { n += 1 }
        return n
    }

    /// This path and one more component; nil when `component` is not a valid component or the
    /// path would have more than `maxComponents`.
    public func appending(_ component: String) -> GroupName? {
        guard GroupName.isValid(component), depth < GroupName.maxComponents else { return nil }
        return GroupName(validated: rawValue + "/" + component)
    }

    /// True when `other` is beneath this path (a child, a grandchild, ...); false for itself.
    public func isAncestor(of other: GroupName) -> Bool {
        other.rawValue.utf8.count > rawValue.utf8.count && other.rawValue.hasPrefix(rawValue + "/")
    }

    public var description: String { rawValue }
    public static func < (a: GroupName, b: GroupName) -> Bool { a.rawValue < b.rawValue }
}

/// Relative share, 1 ... 10000 (the range of cgroup v2 `cpu.weight` and `io.weight`).
public struct Shares: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let range: ClosedRange<Int> = 1...10000
    public let value: Int

    public init?(_ value: Int) {
        guard Shares.range.contains(value) else { return nil }
        self.value = value
    }

    public var description: String { String(value) }
    public static func < (a: Shares, b: Shares) -> Bool { a.value < b.value }
}

/// `[group.match]`: every key given must match (AND); within a key's list any element may match (OR).
/// An empty rule (no keys) matches nothing: a group without a match table only collects
/// processes that are placed in it by inheritance.
public struct MatchRule: Sendable, Equatable {
    public var users: [IDRef]
    public var groups: [IDRef]
    public var comm: [String]
    public var exe: [Glob]
    public var cmdline: [Pattern]
    public var cgroup: [Glob]
    /// systemd units (names or globs) whose processes form the group where they are: a group with
    /// `units` is unit-backed and has no other keys.
    public var units: [UnitPattern]

    public init(users: [IDRef] = [], groups: [IDRef] = [], comm: [String] = [], exe: [Glob] = [], cmdline: [Pattern] = [], cgroup: [Glob] = [],
                units: [UnitPattern] = []) {
        self.users = users
        self.groups = groups
        self.comm = comm
        self.exe = exe
        self.cmdline = cmdline
        self.cgroup = cgroup
        self.units = units
    }

    public var isEmpty: Bool {
        users.isEmpty && groups.isEmpty && comm.isEmpty && exe.isEmpty && cmdline.isEmpty && cgroup.isEmpty && units.isEmpty
    }
}

/// A user or group given by name or by number. Names are resolved to ids at load time
/// (the agent's edge does that); an unknown name matches nothing and is a warning.
public enum IDRef: Sendable, Hashable, CustomStringConvertible {
    case id(UInt32)
    case name(String)

    public var description: String {
        switch self {
        case .id(let n): String(n)
        case .name(let s): s
        }
    }
}

/// Where in a policy file something is: 1-based line and column.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

public struct PolicyWarning: Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): warning: \(message)" }
}

/// A policy that can not be used, with every problem found (not just the first).
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var location: SourceLocation
        public var message: String

        public init(location: SourceLocation, message: String) {
            self.location = location
            self.message = message
        }

        public var description: String { "\(location): error: \(message)" }
    }

    public var problems: [Problem]

    public init(problems: [Problem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
