/// The decide step: from what was observed (processes, the groups that exist) and the policy,
/// the actions that bring the cgroup tree in line; and the memory of what the agent did
/// (which processes it moved, from where). Pure: the agent performs the actions and reports
/// each outcome back through `record`.
public struct Enforcer: Sendable {
    /// Why a process sits in a group.
    public enum Reason: String, Sendable, Equatable {
        /// Its own attributes matched the group's rule.
        case matched
        /// It was born inside the group (a child of a member) or found there; it stays while the
        /// group exists and it matches no other group.
        case inherited
    }

    public struct Membership: Sendable, Equatable {
        public var group: GroupName
        /// The cgroup the process came from (relative to the cgroup2 mount); where it goes back.
        public var origin: String
        public var reason: Reason

        public init(group: GroupName, origin: String, reason: Reason) {
            self.group = group
            self.origin = origin
            self.reason = reason
        }
    }

    /// The managed root, relative to the cgroup2 mount, e.g. "/fairshare".
    public let root: CgroupPath
    public private(set) var members: [ProcessIdentity: Membership] = [:]
    /// The member with each pid, kept in step with `members` (`setMember`): an event about one
    /// pid costs one lookup, not a walk of every member.
    private var identityOfPID: [Int32: ProcessIdentity] = [:]
    /// Members per group, kept in step with `members` (`setMember`): every pass asks for them,
    /// and with a group per user a count from scratch is a walk of every member.
    private var counts: [GroupName: Int] = [:]

    public init(root: CgroupPath) {
        self.root = root
    }

    /// For tests and benchmarks: `root` must be a valid absolute cgroup path.
    public init(root: String) {
        guard let path = CgroupPath(root) else { preconditionFailure("not a cgroup path: \(root)") }
        self.init(root: path)
    }

    /// Memberships recorded by an earlier run (the origin ledger): a restarted agent adopts its
    /// processes where they are and knows where each goes back. Entries of processes that have
    /// gone are dropped by the next `forget`.
    public mutating func seed(_ recorded: [ProcessIdentity: Membership]) {
        for (id, m) in recorded where members[id] == nil { setMember(id, m) }
    }

    /// The only ways one membership changes: they keep the pid index in step.
    private mutating func setMember(_ id: ProcessIdentity, _ m: Membership?) {
        if let m {
            // The pid was reused: the old process is no member any more.
            if let old = identityOfPID[id.pid], old != id, let gone = members.removeValue(forKey: old) { Self.count(&counts, gone.group, -1) }
            if let before = members.updateValue(m, forKey: id) { Self.count(&counts, before.group, -1) }
            Self.count(&counts, m.group, 1)
            identityOfPID[id.pid] = id
        } else if let before = members.removeValue(forKey: id) {
            Self.count(&counts, before.group, -1)
            if identityOfPID[id.pid] == id { identityOfPID[id.pid] = nil }
        }
    }

    private static func count(_ counts: inout [GroupName: Int], _ g: GroupName, _ delta: Int) {
        let n = (counts[g] ?? 0) + delta
        counts[g] = n > 0 ? n : nil
    }

    /// The membership of the process with this pid, if it is a member.
    public func member(pid: Int32) -> Membership? {
        identityOfPID[pid].flatMap { members[$0] }
    }

    /// A process exited (the kernel said so): its membership goes.
    public mutating func forget(pid: Int32) {
        if let id = identityOfPID[pid] { setMember(id, nil) }
    }

    /// The memberships as they will be once every move in `actions` is done: what the origin
    /// ledger must say *before* any of them is carried out (write-ahead). A crash between a move
    /// and the next ledger write then never leaves a moved process whose origin is unrecorded; an
    /// intent whose move never happened is dropped by `forgetStrays` once the process is seen
    /// outside every group.
    public func membersAfterMoves(_ actions: [Step]) -> [ProcessIdentity: Membership] {
        var result = members
        for case .move(let id, _, let g, let origin, _) in actions {
            result[id] = Membership(group: g, origin: origin, reason: .matched)
        }
        return result
    }

    /// Forgets the memberships of processes observed outside every group: an intent recorded
    /// before a move that failed or never ran (the agent died first), or a process given back
    /// whose ledger entry a crash kept. Call with a scan taken before this pass's actions.
    public mutating func forgetStrays(_ processes: [ProcessInfo]) {
        for p in processes where members[p.identity] != nil && managedGroup(ofCgroup: p.cgroup) == nil {
            setMember(p.identity, nil)
        }
    }

    /// Where below the root a cgroup path lies ("research/lab-a", "_agent"), nil when it lies
    /// outside the root's children.
    public func managedGroup(ofCgroup path: String) -> String? {
        // A prefix test, not a parse of the whole path: this runs for every process on every pass.
        let prefix = root.isRoot ? "/" : root.description + "/"
        guard path.hasPrefix(prefix) else { return nil }
        let below = path.dropFirst(prefix.count)
        guard let first = below.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first,
              CgroupPath.isValidComponent(first)
        else { return nil }
        return String(below)
    }

    /// The group whose cgroup a path is, when it is one (a valid group path below the root).
    public func group(ofCgroup path: String) -> GroupName? {
        managedGroup(ofCgroup: path).flatMap { GroupName(path: $0) }
    }

    /// Where a process of unknown origin found inside a group goes back to: the origin of its
    /// nearest known ancestor among those born in groups too (a grandchild born while no agent
    /// ran goes where its grandparent came from), else the root's parent. The walk visits each
    /// process at most once, so a pid cycle or a deep tree costs at most the number of processes.
    func inferredOrigin(for p: ProcessInfo, byPID: (Int32) -> Membership?, processes: [Int32: ProcessInfo]) -> String {
        var visited: Set<Int32> = [p.pid]
        var q = p
        while true {
            if let m = byPID(q.parentPID) { return m.origin }
            guard let parent = processes[q.parentPID], visited.insert(parent.pid).inserted,
                  managedGroup(ofCgroup: parent.cgroup) != nil
            else { break }
            q = parent
        }
        return (root.parent ?? .root).description
    }

    /// The membership steps for one pass: groups to create, processes to move, adopt or give
    /// back, groups to remove. `existingGroups` are the child cgroups of the root that are valid
    /// group names (whatever their origin: a previous run may have left them).
    public func plan(policy: Policy, classifier: Classifier, processes: [ProcessInfo], existingGroups: Set<GroupName>) -> [Step] {
        var cache = ClassificationCache()
        return plan(policy: policy, classifier: classifier, processes: processes, existingGroups: existingGroups, cache: &cache)
    }

    /// As above, with the rules' verdicts remembered in `cache` from pass to pass (only new and
    /// changed processes are matched); the cache keeps the processes of this pass only.
    public func plan(policy: Policy, classifier: Classifier, processes: [ProcessInfo], existingGroups: Set<GroupName>,
                     cache: inout ClassificationCache) -> [Step] {
        defer { cache.retain(only: Set(processes.map(\.identity))) }
        var users = UserSlots(existing: existingGroups, layout: GroupLayout(policy))
        let memberships = membershipSteps(policy: policy, classifier: classifier, processes: processes, users: &users, cache: &cache)
        return creations(policy: policy, existingGroups: existingGroups, users: users.added)
            + memberships
            + removals(policy: policy, existingGroups: existingGroups, after: memberships)
    }

    /// Group cgroups the policy no longer has, and users' subgroups left without members once
    /// `steps` are done; a child before its parent (rmdir needs an empty cgroup).
    public func removals(policy: Policy, existingGroups: Set<GroupName>, after steps: [Step] = []) -> [Step] {
        let layout = GroupLayout(policy)
        let counts = memberCounts(after: steps)
        // Filtered before sorted: a pass usually removes nothing of its many users' subgroups.
        return existingGroups.filter { g in
            // A user's subgroup is wanted while it has members; any other group while the policy has it.
            layout.perUserGroup(of: g) != nil ? (counts[g] ?? 0) == 0 : !layout.isWanted(g)
        }.sorted(by: GroupName.childrenFirst).map { .removeGroup($0) }
    }

    /// The policy's groups that are missing and the users' subgroups this plan needs, a parent
    /// before its children. Unit-backed groups have no cgroup of the agent's: systemd owns their
    /// units' cgroups.
    public func creations(policy: Policy, existingGroups: Set<GroupName>, users: Set<GroupName> = []) -> [Step] {
        let missing = Set(policy.agentGroups.map(\.name)).union(users).subtracting(existingGroups)
        return missing.sorted().map { .createGroup($0) }
    }

    /// Moves, adoptions and give-backs for these processes only (all of them on a scan; the
    /// ones kernel events named otherwise).
    /// A process matched by a per_user group goes to its user's subgroup (`users` hands them out).
    public func membershipSteps(policy: Policy, classifier: Classifier, processes: [ProcessInfo], users: inout UserSlots,
                                cache: inout ClassificationCache) -> [Step] {
        var actions: [Step] = []
        let layout = GroupLayout(policy)
        let byPID = member(pid:)
        let processByPID = Dictionary(processes.map { ($0.pid, $0) }, uniquingKeysWith: { a, _ in a })
        for p in processes {
            let id = p.identity
            let current = managedGroup(ofCgroup: p.cgroup)
            if current == CgroupTreeNames.agentLeaf { continue }
            let known = members[id]
            // Outside every group the process's own cgroup is its origin, whatever was recorded.
            let origin = current == nil ? p.cgroup : known?.origin ?? inferredOrigin(for: p, byPID: byPID, processes: processByPID)
            let currentGroup = current.flatMap { GroupName(path: $0) }

            switch classifier.classify(p, originCgroup: origin, cache: &cache) {
            case .matched(let matched, let keys):
                let target = layout.perUser[matched] != nil ? users.node(for: p.uid, in: matched) : matched
                if currentGroup == target {
                    if known?.group != target || known?.reason != .matched {
                        actions.append(.adopt(id, group: target, origin: origin, reason: .matched))
                    }
                } else {
                    actions.append(.move(id, comm: p.comm, to: target, origin: origin, keys: keys))
                }
            case .unmatched, .exempt, .inUnit:
                // .inUnit is never inside a group: the agent's subtree is no unit's.
                guard let here = currentGroup else { continue }
                if !layout.holdsProcesses(here) || known?.reason == .matched {
                    // Its group left the policy (or holds only subgroups now), or it was moved by
                    // a rule that no longer holds.
                    actions.append(.restore(id, comm: p.comm, from: here, to: origin))
                } else if known == nil {
                    actions.append(.adopt(id, group: here, origin: origin, reason: .inherited))
                }
            }
        }
        return actions
    }

    /// The actions that give every managed process back and remove the groups (shutdown).
    public func planRelease(processes: [ProcessInfo], existingGroups: Set<GroupName>) -> [Step] {
        let byPID = member(pid:)
        let processByPID = Dictionary(processes.map { ($0.pid, $0) }, uniquingKeysWith: { a, _ in a })
        var actions: [Step] = []
        for p in processes {
            guard let here = group(ofCgroup: p.cgroup) else { continue }
            let origin = members[p.identity]?.origin ?? inferredOrigin(for: p, byPID: byPID, processes: processByPID)
            actions.append(.restore(p.identity, comm: p.comm, from: here, to: origin))
        }
        // A child before its parent: rmdir needs an empty cgroup.
        for g in existingGroups.sorted(by: GroupName.childrenFirst) { actions.append(.removeGroup(g)) }
        return actions
    }

    /// Takes note of what a membership step did (other steps are not the Enforcer's).
    public mutating func record(_ step: Step, _ outcome: StepOutcome) {
        switch (step, outcome) {
        case (.move(let id, _, let g, let origin, _), .done):
            setMember(id, Membership(group: g, origin: origin, reason: .matched))
        case (.adopt(let id, let g, let origin, let reason), .done):
            setMember(id, Membership(group: g, origin: origin, reason: reason))
        case (.restore(let id, _, _, _), .done), (.restore(let id, _, _, _), .gone), (.move(let id, _, _, _, _), .gone):
            setMember(id, nil)
        default:
            break
        }
    }

    /// Forgets processes that no longer exist (pid gone or reused); members whose pid is in
    /// `keepingPIDs` (they could not be read) stay as they are.
    public mutating func forget(allBut alive: Set<ProcessIdentity>, keepingPIDs kept: Set<Int32> = []) {
        for id in members.keys where !alive.contains(id) && !kept.contains(id.pid) { setMember(id, nil) }
    }

    /// Members per group, as the agent believes; with `steps`, as they will be once the plan's
    /// moves, adoptions and give-backs are done.
    /// The counts kept in step with the members, changed by the steps' memberships only (the
    /// moves first, as `membersAfterMoves` takes them, then give-backs and adoptions in order).
    public func memberCounts(after steps: [Step] = []) -> [GroupName: Int] {
        var changed: [ProcessIdentity: Membership?] = [:]
        for case .move(let id, _, let g, let origin, _) in steps { changed[id] = .some(Membership(group: g, origin: origin, reason: .matched)) }
        for step in steps {
            switch step {
            case .restore(let id, _, _, _): changed[id] = .some(nil)
            case .adopt(let id, let g, let origin, let reason): changed[id] = .some(Membership(group: g, origin: origin, reason: reason))
            default: break
            }
        }
        guard !changed.isEmpty else { return counts }
        var after = counts
        for (id, membership) in changed {
            if let before = members[id] { Self.count(&after, before.group, -1) }
            if let m = membership { Self.count(&after, m.group, 1) }
        }
        return after
    }
}

/// Names in the managed subtree that are not groups.
public enum CgroupTreeNames {
    /// The agent's own leaf under the root (an underscore: never a valid group name).
    public static let agentLeaf = "_agent"
}
