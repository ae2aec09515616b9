/// The groups the agent owns form a tree under its root: a nested group's cgroup lies in its
/// parent's (`research/lab-a`), and a per_user group holds one subgroup per user
/// (`logins/user-1001`). Every stage keys a group by its path (`GroupName`), so a user's subgroup
/// is a group like any other once the reconciler has put it in the tree (`Policy.withUsers`).

/// A user's subgroup of a per_user group. Its cgroup name comes from the uid, never from a name
/// a user could choose.
public enum UserNode: Sendable, Hashable, Comparable, CustomStringConvertible {
    case user(UInt32)
    /// Every user beyond the group's `max_users` shares this one.
    case overflow

    public static let prefix = "user-"
    public static let overflowName = "overflow"

    public var component: String {
        switch self {
        case .user(let uid): Self.prefix + String(uid)
        case .overflow: Self.overflowName
        }
    }

    /// "user-1001" (canonical decimal: no sign, no leading zero) or "overflow"; nil for anything else.
    public init?(component: some StringProtocol) {
        self.init(bytes: component.utf8)
    }

    /// The same for a String (every listed name in every pass): no generic dispatch.
    public init?(component: String) {
        self.init(bytes: component.utf8)
    }

    private static let prefixBytes = Array(prefix.utf8)
    private static let overflowBytes = Array(overflowName.utf8)

    /// The same on bytes: every stage asks it of every group in every pass, so no copies.
    init?(bytes: some Collection<UInt8>) {
        if bytes.elementsEqual(Self.overflowBytes) {
            self = .overflow
            return
        }
        guard bytes.starts(with: Self.prefixBytes) else { return nil }
        let digits = bytes.dropFirst(Self.prefixBytes.count)
        guard !digits.isEmpty, digits.count <= 10, digits.count == 1 || digits.first != UInt8(ascii: "0") else { return nil }
        var uid: UInt64 = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            uid = uid * 10 + UInt64(d - UInt8(ascii: "0"))
        }
        guard uid < UInt64(UInt32.max) else { return nil }
        self = .user(UInt32(uid))
    }

    public var uid: UInt32? {
        if case .user(let u) = self { u } else { nil }
    }

    public var description: String { component }

    public static func < (a: UserNode, b: UserNode) -> Bool {
        switch (a, b) {
        case (.user(let x), .user(let y)): x < y
        case (.user, .overflow): true
        default: false
        }
    }
}

extension GroupName {
    /// The subgroup of this per_user group for one user (a per_user group is at most
    /// `Policy.maxDepth - 1` deep, so the path always fits).
    public func user(_ node: UserNode) -> GroupName {
        guard let path = appending(node.component) else { preconditionFailure("a per_user group too deep for its users: \(self)") }
        return path
    }

    /// An order that puts every group after its children (the deepest first, then by name):
    /// what rmdir and turning controllers off need.
    public static func childrenFirst(_ a: GroupName, _ b: GroupName) -> Bool {
        a.depth != b.depth ? a.depth > b.depth : a < b
    }

    /// The user this group is the subgroup of, if it is one (the policy says whose parent is per_user).
    public var userNode: UserNode? {
        let bytes = rawValue.utf8
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return UserNode(bytes: bytes[bytes.index(after: slash)...])
    }
}

extension Policy {
    /// `max_users` of each per_user group.
    public var perUserLimits: [GroupName: Int] {
        var limits: [GroupName: Int] = [:]
        for g in groups { if let u = g.perUser { limits[g.name] = u.maxUsers } }
        return limits
    }

    /// Counts per group with each group's descendants' added in (a parent's members are its
    /// children's: it holds none itself).
    public func subtreeCounts(_ counts: [GroupName: Int]) -> [GroupName: Int] {
        var total = counts
        // The deepest first, as positions (sorting the groups copied each, with a group per user).
        let depths = groups.map(\.name.depth)
        for i in groups.indices.sorted(by: { depths[$0] > depths[$1] }) {
            if let parent = groups[i].parent, let n = total[groups[i].name], n > 0 { total[parent, default: 0] += n }
        }
        return total
    }

    /// The policy with the users of its per_user groups as child groups: each takes the group's
    /// `user_*` keys as its own `min`, `max`, `borrow` and `burst`, and its shares from
    /// `user_shares` (resolved to uids: `userShares`), 1 otherwise. Users are listed right after
    /// their group, in uid order (the overflow last).
    public func withUsers(_ users: [GroupName: Set<UserNode>], userShares: [GroupName: [UInt32: Shares]] = [:]) -> Policy {
        guard !users.isEmpty else { return self }
        var tree = self
        tree.groups = []
        for g in groups {
            tree.groups.append(g)
            guard let perUser = g.perUser, let nodes = users[g.name] else { continue }
            for node in nodes.sorted() {
                let shares = node.uid.flatMap { userShares[g.name]?[$0] } ?? PerUserPolicy.defaultShares
                var u = GroupPolicy(name: g.name.user(node), shares: shares, match: MatchRule(), line: g.line, floor: perUser.floor,
                                    ceiling: perUser.ceiling, borrow: perUser.borrow, burst: perUser.burst)
                u.parent = g.name
                tree.groups.append(u)
            }
        }
        return tree
    }
}

/// Where a group sits in the tree, for the enforcer: which groups hold processes, and which
/// per_user group a user's subgroup belongs to.
public struct GroupLayout: Sendable {
    /// Agent groups that hold processes themselves (no children, not per_user).
    public let leaves: Set<GroupName>
    /// Agent groups that hold only subgroups.
    public let interior: Set<GroupName>
    /// `max_users` of each per_user group.
    public let perUser: [GroupName: Int]

    public init(_ policy: Policy) {
        let agent = policy.agentGroups
        let parents = Set(agent.compactMap(\.parent))
        let perUser = policy.perUserLimits
        let interior = Set(agent.map(\.name).filter { parents.contains($0) || perUser[$0] != nil })
        self.perUser = perUser
        self.interior = interior
        leaves = Set(agent.map(\.name)).subtracting(interior)
    }

    /// The per_user group whose user's subgroup this is. (Asked of every user in several stages
    /// of every pass: the name is checked first, the parent looked up only then.)
    public func perUserGroup(of g: GroupName) -> GroupName? {
        guard !perUser.isEmpty, g.userNode != nil, let parent = g.parent, perUser[parent] != nil else { return nil }
        return parent
    }

    /// A group that may hold processes: a leaf of the policy or a user's subgroup.
    public func holdsProcesses(_ g: GroupName) -> Bool {
        leaves.contains(g) || perUserGroup(of: g) != nil
    }

    /// The users' subgroups among these groups, per per_user group.
    public func userNodes(among groups: Set<GroupName>) -> [GroupName: Set<UserNode>] {
        var nodes: [GroupName: Set<UserNode>] = [:]
        for g in groups {
            if let group = perUserGroup(of: g), let node = g.userNode { nodes[group, default: []].insert(node) }
        }
        return nodes
    }

    /// A cgroup the policy has a place for: one of its groups or a user's subgroup.
    public func isWanted(_ g: GroupName) -> Bool {
        leaves.contains(g) || interior.contains(g) || perUserGroup(of: g) != nil
    }
}

/// The users' subgroups of each per_user group during one plan: the ones that exist, and the
/// ones this plan gives to users seen for the first time, up to the group's `max_users`; a user
/// beyond it goes to the group's overflow subgroup. One lookup per process: the cost of a pass
/// does not grow with the number of users.
public struct UserSlots: Sendable {
    public private(set) var nodes: [GroupName: Set<UserNode>]
    private let limits: [GroupName: Int]
    /// The subgroups this plan needs that did not exist.
    public private(set) var added: Set<GroupName> = []

    public init(existing: Set<GroupName>, layout: GroupLayout) {
        nodes = layout.userNodes(among: existing)
        limits = layout.perUser
    }

    /// The subgroup of `group` that a process of `uid` belongs in.
    public mutating func node(for uid: UInt32, in group: GroupName) -> GroupName {
        let have = nodes[group, default: []]
        if have.contains(.user(uid)) { return group.user(.user(uid)) }
        let users = have.count - (have.contains(.overflow) ? 1 : 0)
        let node: UserNode = users < (limits[group] ?? PerUserPolicy.defaultMaxUsers) ? .user(uid) : .overflow
        if nodes[group, default: []].insert(node).inserted { added.insert(group.user(node)) }
        return group.user(node)
    }
}

extension CgroupPath {
    /// A group's cgroup below this root (every component of a group path is a valid one).
    public func appending(group: GroupName) -> CgroupPath {
        CgroupPath(validated: components + group.components)
    }
}
