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
    /// hold, or whose ancestors it does not hold, is left out. One index of the snapshot serves
    /// every path, so asking for all groups at once costs the snapshot's size plus the paths'
    /// depths, not their product.
    public static func fractions(of paths: [String], in snapshot: HierarchySnapshot) -> [String: Double] {
        let competition = Competition(snapshot)
        var out: [String: Double] = [:]
        for path in paths {
            if let f = fraction(of: path, in: snapshot, competition: competition) { out[path] = f }
        }
        return out
    }

    public static func fraction(of path: String, in snapshot: HierarchySnapshot) -> Double? {
        fractions(of: [path], in: snapshot)[path]
    }

    /// Per parent, what its children that compete weigh together: the sum of the weights of the
    /// populated ones (left out: the idle-by-design leaves) that have a cpu.weight, and how many
    /// have none (each of those counts as the asking sibling's own weight).
    struct Competition {
        var weighed: [String: Double] = [:]
        var unweighed: [String: Int] = [:]

        init(_ snapshot: HierarchySnapshot) {
            for (path, node) in snapshot.nodes {
                guard let parent = HierarchySnapshot.parent(of: path), MachineShare.competes(path, node) else { continue }
                if let w = node.weight {
                    weighed[parent, default: 0] += effective(w)
                } else {
                    unweighed[parent, default: 0] += 1
                }
            }
        }
    }

    /// Populated, and not one of the leaves that are idle by design.
    static func competes(_ path: String, _ node: HierarchySnapshot.Node) -> Bool {
        node.populated && !idleByDesign.contains(String(HierarchySnapshot.name(of: path)))
    }

    static func fraction(of path: String, in snapshot: HierarchySnapshot, competition: Competition) -> Double? {
        if path == "/" { return 1 }
        var share = 1.0
        var node = path
        while let parent = HierarchySnapshot.parent(of: node) {
            guard let me = snapshot.nodes[node] else { return nil }
            if let weight = me.weight {
                // The node itself always counts, populated or not (its share if it were busy).
                let own = effective(weight)
                let total = (competition.weighed[parent] ?? 0) + Double(competition.unweighed[parent] ?? 0) * own
                    + (competes(node, me) ? 0 : own)
                share *= own / total
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
