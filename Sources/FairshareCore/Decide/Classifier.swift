/// Decides which group a process belongs to: groups are tried in policy order, the first whose
/// every given key matches wins. Pure: user and group names were resolved to ids beforehand.
public struct Classifier: Sendable {
    public struct Compiled: Sendable {
        public var policy: GroupPolicy
        var uids: Set<UInt32>
        var gids: Set<UInt32>
    }

    public let groups: [Compiled]
    public let agentPID: Int32
    /// `user_shares` of each per_user group, names resolved to uids (a name that does not exist
    /// gives no one shares).
    public let userShares: [GroupName: [UInt32: Shares]]
    /// Which policy (and name resolution) this classifier was built from: a verdict cache
    /// throws its verdicts away when it meets a classifier of another generation.
    let generation = Generation()

    final class Generation: Sendable {}
    /// The cgroups of the unit-backed groups' units, as systemd last reported them (the agent
    /// refreshes this every pass): processes in there are never moved.
    public var units: UnitCgroups = .none

    /// - Parameters:
    ///   - resolveUser / resolveGroup: name -> id; nil for a name that does not exist (matches nothing).
    public init(
        policy: Policy, agentPID: Int32,
        resolveUser: (String) -> UInt32?, resolveGroup: (String) -> UInt32?
    ) {
        self.agentPID = agentPID
        var userShares: [GroupName: [UInt32: Shares]] = [:]
        for g in policy.groups {
            guard let perUser = g.perUser else { continue }
            var byUID: [UInt32: Shares] = [:]
            for (ref, shares) in perUser.shares {
                if let uid = Classifier.resolve(ref, resolveUser) { byUID[uid] = shares }
            }
            userShares[g.name] = byUID
        }
        self.userShares = userShares
        self.groups = policy.groups.map { g in
            Compiled(
                policy: g,
                uids: Set(g.match.users.compactMap { Classifier.resolve($0, resolveUser) }),
                gids: Set(g.match.groups.compactMap { Classifier.resolve($0, resolveGroup) })
            )
        }
    }

    private static func resolve(_ ref: IDRef, _ lookup: (String) -> UInt32?) -> UInt32? {
        switch ref {
        case .id(let n): n
        case .name(let s): lookup(s)
        }
    }

    public enum Verdict: Sendable, Equatable {
        /// Never moved: kernel threads, PID 1, the agent itself.
        case exempt(reason: String)
        case matched(group: GroupName, keys: [MatchedKey])
        /// In the cgroup of a unit of a unit-backed group: never moved; the unit's weight is set
        /// through systemd.
        case inUnit(unit: String, group: GroupName)
        case unmatched
    }

    public struct MatchedKey: Sendable, Equatable, CustomStringConvertible {
        public var key: String
        /// The policy element that matched, e.g. `"burn_a"` or `"/usr/bin/python3*"`.
        public var pattern: String
        /// The process's value it matched against.
        public var value: String

        public init(key: String, pattern: String, value: String) {
            self.key = key
            self.pattern = pattern
            self.value = value
        }

        /// Values longer than this are cut in `description` (a journal line per move): a user's
        /// command line must not decide how much the agent logs.
        public static let describedValueCharacters = 200

        public var description: String {
            let shown = value.count <= Self.describedValueCharacters
                ? value : String(value.prefix(Self.describedValueCharacters)) + "... (\(value.utf8.count) bytes)"
            return "\(key) \(pattern) ~ \(shown)"
        }
    }

    /// - Parameter originCgroup: the process's cgroup before the agent moved it (its current one
    ///   if it was never moved); the `cgroup` key matches against this.
    public func classify(_ p: ProcessInfo, originCgroup: String? = nil) -> Verdict {
        exemption(p) ?? matchRules(p, originCgroup: originCgroup ?? p.cgroup)
    }

    /// As `classify(_:originCgroup:)`, with the rules' verdict taken from `cache` when the
    /// process and the attributes the rules look at are unchanged since it was last matched.
    public func classify(_ p: ProcessInfo, originCgroup: String? = nil, cache: inout ClassificationCache) -> Verdict {
        if let verdict = exemption(p) { return verdict }
        let origin = originCgroup ?? p.cgroup
        return cache.verdict(for: p, originCgroup: origin, classifier: self) { matchRules(p, originCgroup: origin) }
    }

    /// The verdicts that need no rule: never-moved processes and units' processes. Cheap, and
    /// `units` changes between passes, so these are never cached.
    private func exemption(_ p: ProcessInfo) -> Verdict? {
        if p.isKernelThread { return .exempt(reason: "kernel thread") }
        if p.pid == 1 { return .exempt(reason: "PID 1") }
        if p.pid == agentPID { return .exempt(reason: "the agent itself") }
        // Single writer: a unit's processes are systemd's to place, whatever another group's
        // rule would say about them. (The agent's own subtree is excluded from the units.)
        if let u = units.placement(containing: p.cgroup) { return .inUnit(unit: u.unit, group: u.group) }
        return nil
    }

    /// The first group whose rule matches: the part that runs patterns and globs.
    private func matchRules(_ p: ProcessInfo, originCgroup: String) -> Verdict {
        for g in groups {
            if let keys = g.match(p, originCgroup: originCgroup) {
                return .matched(group: g.policy.name, keys: keys)
            }
        }
        return .unmatched
    }
}

/// The rules' verdicts of the last pass, per process: a process is matched against the rules
/// when it appears or when something the rules look at changes (an exec changes comm, exe and
/// argv; setuid the uid; a move by another tool its cgroup), not on every pass. Dropped whole
/// when the classifier comes from another policy (a reload), pruned to the processes of the
/// latest pass. The agent owns one and hands it to `Enforcer.plan`.
public struct ClassificationCache: Sendable {
    /// What the rules read of a process. The argv is at most what the process source read
    /// (`ProcessInfo.cmdlineMatchBytes` and a byte, for /proc), so comparing it is bounded.
    struct Attributes: Equatable, Sendable {
        var uid: UInt32
        var gid: UInt32
        var comm: String
        var exe: String?
        var argv: [String]
        var originCgroup: String

        init(_ p: ProcessInfo, originCgroup: String) {
            uid = p.uid
            gid = p.gid
            comm = p.comm
            exe = p.exe
            argv = p.argv
            self.originCgroup = originCgroup
        }
    }

    private var entries: [ProcessIdentity: (attributes: Attributes, verdict: Classifier.Verdict)] = [:]
    private var generation: Classifier.Generation?
    /// Processes matched against the rules since the cache was made (cache misses).
    public private(set) var ruleEvaluations = 0

    public init() {}

    /// Processes with a remembered verdict.
    public var count: Int { entries.count }

    mutating func verdict(for p: ProcessInfo, originCgroup: String, classifier: Classifier, match: () -> Classifier.Verdict) -> Classifier.Verdict {
        if generation !== classifier.generation {
            entries.removeAll()
            generation = classifier.generation
        }
        let attributes = Attributes(p, originCgroup: originCgroup)
        if let hit = entries[p.identity], hit.attributes == attributes { return hit.verdict }
        ruleEvaluations += 1
        let verdict = match()
        entries[p.identity] = (attributes, verdict)
        return verdict
    }

    /// Forgets the processes not in `alive` (gone, or their pid reused).
    public mutating func retain(only alive: Set<ProcessIdentity>) {
        entries = entries.filter { alive.contains($0.key) }
    }
}

extension Classifier.Compiled {
    /// The keys that matched, or nil when any given key fails (or no key is given).
    func match(_ p: ProcessInfo, originCgroup: String) -> [Classifier.MatchedKey]? {
        let m = policy.match
        // An empty rule matches nothing; a unit-backed group's members are its units' processes.
        if m.isEmpty || !m.units.isEmpty { return nil }
        var keys: [Classifier.MatchedKey] = []
        if !m.users.isEmpty {
            guard uids.contains(p.uid) else { return nil }
            keys.append(.init(key: "users", pattern: m.users.map(\.description).joined(separator: ","), value: "uid \(p.uid)"))
        }
        if !m.groups.isEmpty {
            guard gids.contains(p.gid) else { return nil }
            keys.append(.init(key: "groups", pattern: m.groups.map(\.description).joined(separator: ","), value: "gid \(p.gid)"))
        }
        if !m.comm.isEmpty {
            guard let hit = m.comm.first(where: { $0 == p.comm }) else { return nil }
            keys.append(.init(key: "comm", pattern: hit, value: p.comm))
        }
        if !m.exe.isEmpty {
            guard let exe = p.exe, let hit = m.exe.first(where: { $0.matches(exe) }) else { return nil }
            keys.append(.init(key: "exe", pattern: hit.pattern, value: exe))
        }
        if !m.cmdline.isEmpty {
            let line = p.matchedCommandLine
            guard let hit = m.cmdline.first(where: { $0.matches(line) }) else { return nil }
            keys.append(.init(key: "cmdline", pattern: hit.source, value: line))
        }
        if !m.cgroup.isEmpty {
            guard let hit = m.cgroup.first(where: { $0.matches(originCgroup) }) else { return nil }
            keys.append(.init(key: "cgroup", pattern: hit.pattern, value: originCgroup))
        }
        return keys
    }
}
