/// What the agent read of the cgroup hierarchy around the cgroups it reports on: every ancestor
/// of them up to the mount root, and every child of those ancestors, with its cpu.weight and
/// whether `cgroup.events` said it was populated.
public struct HierarchySnapshot: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        /// cpu.weight; nil where the file does not exist (the parent does not enable the cpu
        /// controller for its children, so they are not weighed against each other). 0 is what
        /// the kernel shows for cpu.idle = 1.
        public var weight: Int?
        public var populated: Bool

        public init(weight: Int?, populated: Bool) {
            self.weight = weight
            self.populated = populated
        }
    }

    /// By cgroup path relative to the mount ("/system.slice/cron.service").
    public var nodes: [String: Node]

    public init(nodes: [String: Node] = [:]) {
        self.nodes = nodes
    }

    /// "/a/b" -> "/a", "/a" -> "/", "/" -> nil.
    public static func parent(of path: String) -> String? {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func name(of path: String) -> Substring {
        path.split(separator: "/").last ?? ""
    }
}

/// The share of the whole machine a cgroup would get from the hierarchy if it, and every
/// populated cgroup beside it at every level, were busy: the product over the path from the
/// cgroup up to the mount root of weight(node) / sum of the weights of the node's populated
/// siblings, the node itself counted. Weights compare only among siblings, so a cgroup's weight
/// alone says nothing about its share of the machine; this does.
///
/// Left out of every sum: the agent's own leaf (`_agent`) and systemd's `.control`, which are
/// idle by design. A level whose children have no cpu.weight (cpu not enabled there) divides
/// nothing: the subtree competes as one. Pure: the agent reads the snapshot.
public enum MachineShare {
    /// Children never counted among the siblings.
    public static let idleByDesign: Set<String> = [CgroupTreeNames.agentLeaf, ".control"]
    /// cpu.weight reads 0 under cpu.idle = 1 (SCHED_IDLE): the scheduler then weighs the cgroup
    /// 3 against 1024 for weight 100, about 0.3 in cpu.weight's units.
    public static let idleWeight = 0.3

    /// Fractions (0...1) for each of `paths` found in the snapshot; a path the snapshot does not
    /// hold, or whose ancestors it does not hold, is left out.
    public static func fractions(of paths: [String], in snapshot: HierarchySnapshot) -> [String: Double] {
        var children: [String: [String]] = [:]
        for path in snapshot.nodes.keys {
            if let parent = HierarchySnapshot.parent(of: path) { children[parent, default: []].append(path) }
        }
        var out: [String: Double] = [:]
        for path in paths {
            if let f = fraction(of: path, in: snapshot, children: children) { out[path] = f }
        }
        return out
    }

    public static func fraction(of path: String, in snapshot: HierarchySnapshot) -> Double? {
        fractions(of: [path], in: snapshot)[path]
    }

    static func fraction(of path: String, in snapshot: HierarchySnapshot, children: [String: [String]]) -> Double? {
        if path == "/" { return 1 }
        var share = 1.0
        var node = path
        while let parent = HierarchySnapshot.parent(of: node) {
            guard let me = snapshot.nodes[node] else { return nil }
            if let weight = me.weight {
                let competing = (children[parent] ?? []).filter { sibling in
                    sibling == node
                        || (!idleByDesign.contains(String(HierarchySnapshot.name(of: sibling))) && snapshot.nodes[sibling]?.populated == true)
                }
                let total = competing.reduce(0.0) { $0 + effective(snapshot.nodes[$1]?.weight ?? weight) }
                share *= effective(weight) / total
            }
            node = parent
        }
        return share
    }

    static func effective(_ weight: Int) -> Double {
        weight == 0 ? idleWeight : Double(weight)
    }

    /// A group's share when it is several cgroups (a unit glob group): the sum over those not
    /// inside another of them (a nested one's share is part of its ancestor's).
    public static func fraction(ofAll paths: [String], in snapshot: HierarchySnapshot) -> Double? {
        let outermost = paths.filter { p in !paths.contains { q in q != p && UnitCgroups.isWithin(p, q) } }
        let found = fractions(of: Array(Set(outermost)), in: snapshot)
        guard !found.isEmpty else { return nil }
        return found.values.reduce(0, +)
    }
}

/// `cgroup.events`: "populated 0|1" and "frozen 0|1" lines.
public enum CgroupEvents {
    /// Whether the cgroup or any descendant has processes; nil when the text has no populated line.
    public static func populated(_ text: String) -> Bool? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == "populated" { return parts[1] == "1" }
        }
        return nil
    }
}
