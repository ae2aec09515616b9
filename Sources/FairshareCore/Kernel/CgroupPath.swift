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

    private init(validated: [String]) {
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

/// The cgroup v2 interface files Fairshare touches, in one place.
public enum ControlFile: String, Sendable, CaseIterable {
    case procs = "cgroup.procs"
    case controllers = "cgroup.controllers"
    case subtreeControl = "cgroup.subtree_control"
    case events = "cgroup.events"
    case cpuWeight = "cpu.weight"
    /// 1: the group runs only on CPU time no sibling wants (SCHED_IDLE for a group; Linux 5.15+).
    case cpuIdle = "cpu.idle"
    case cpuStat = "cpu.stat"
    case cpuMax = "cpu.max"
    case cpuPressure = "cpu.pressure"
    case ioWeight = "io.weight"
    /// BFQ's weight (1...1000); present only while the bfq module is loaded.
    case ioBFQWeight = "io.bfq.weight"
    case ioStat = "io.stat"
    case cpusEffective = "cpuset.cpus.effective"
}
