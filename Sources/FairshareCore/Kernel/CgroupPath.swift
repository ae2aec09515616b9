/// A cgroup's place in the unified hierarchy, relative to the cgroup2 mount: "/" or "/a/b".
/// Every component is checked, so a path built from kernel or policy text can not leave the
/// mount ("..", ".", empty components and NUL are refused).
public struct CgroupPath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    public static let root = CgroupPath(validated: [])

    public init?(_ text: String) {
        guard text.hasPrefix("/") else { return nil }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.count == 1 && parts.first == "" {
            self.components = []
            return
        }
        var comps: [String] = []
        for p in parts {
            guard CgroupPath.isValidComponent(p) else { return nil }
            comps.append(String(p))
        }
        self.components = comps
    }

    /// Components known valid (a group path's: every component of a `GroupName` is one).
    init(validated: [String]) {
        self.components = validated
    }

    public static func isValidComponent(_ c: Substring) -> Bool {
        !c.isEmpty && c != "." && c != ".." && !c.contains("\0") && c.utf8.count <= 255
    }

    public func appending(_ component: String) -> CgroupPath? {
        guard CgroupPath.isValidComponent(Substring(component)), !component.contains("/") else { return nil }
        return CgroupPath(validated: components + [component])
    }

    public var parent: CgroupPath? {
        components.isEmpty ? nil : CgroupPath(validated: Array(components.dropLast()))
    }

    public var name: String { components.last ?? "/" }
    public var isRoot: Bool { components.isEmpty }

    /// True if `self` is `other` or lies beneath it.
    public func isWithin(_ other: CgroupPath) -> Bool {
        components.count >= other.components.count && Array(components.prefix(other.components.count)) == other.components
    }

    public var description: String { "/" + components.joined(separator: "/") }
}

/// A cgroup v2 interface file's name. The ones the agent writes in its groups are rows of
/// `GroupFiles` (Decide/GroupFiles.swift), where each row says everything about its file; the
/// constants here are the names the other stages use.
public struct ControlFile: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { self.rawValue = name }

    public static let procs = ControlFile("cgroup.procs")
    public static let controllers = ControlFile("cgroup.controllers")
    public static let subtreeControl = ControlFile("cgroup.subtree_control")
    public static let events = ControlFile("cgroup.events")
    public static let stat = ControlFile("cgroup.stat")
    public static let cpuWeight = ControlFile("cpu.weight")
    /// 1: the group runs only on CPU time no sibling wants (SCHED_IDLE for a group; Linux 5.15+).
    public static let cpuIdle = ControlFile("cpu.idle")
    public static let cpuStat = ControlFile("cpu.stat")
    public static let cpuMax = ControlFile("cpu.max")
    public static let cpuPressure = ControlFile("cpu.pressure")
    public static let ioWeight = ControlFile("io.weight")
    /// BFQ's weight (1...1000); present only while the bfq module is loaded.
    public static let ioBFQWeight = ControlFile("io.bfq.weight")
    public static let ioStat = ControlFile("io.stat")
    public static let cpusEffective = ControlFile("cpuset.cpus.effective")

    public static func < (a: ControlFile, b: ControlFile) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
}
