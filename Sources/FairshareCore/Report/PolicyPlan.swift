/// What `fairshare plan` prints and the control socket returns for `plan`: what a reload of a
/// new policy would do on the live machine, computed without writing anything. Field names are
/// snake_case and stable: new fields may be added, none renamed or removed while
/// `schema_version` stays 1.
public struct PlanReport: Codable, Sendable, Equatable {
    public static let schemaVersion = 1
    /// PIDs listed per pair of groups (the count covers them all).
    public static let pidsPerMove = 5
    /// Pairs listed at most (the largest); pairs are at most (groups + 1)^2, and a policy may
    /// have many groups: the answer stays small whatever the policy and the machine.
    public static let maxMoves = 256
    /// The pair label of processes outside every group (the "from" side).
    public static let outside = DemandEstimate.outside
    /// The pair label of processes given back to the cgroup they came from (the "to" side).
    public static let origin = "(origin)"
    /// How the new groups' demand is estimated (also in every report, for the reader).
    public static let demandRule = DemandEstimate.rule

    public var schemaVersion: Int
    /// The new policy's file, as the client named it.
    public var policyPath: String
    /// The policy in force now.
    public var currentPolicyPath: String
    /// CPUs available to the root.
    public var cpus: Double
    /// Processes that would change group, per (from, to) pair, sorted by from then to.
    public var moves: [PlanMove]
    /// Processes in the pairs left out beyond `maxMoves` (nil when none were).
    public var movesNotListed: Int?
    /// Every group of either policy: the current policy's order, then the new groups.
    public var groups: [PlanGroup]
    public var demandEstimate: String
    /// The new policy's warnings, and what the plan can not foresee.
    public var notes: [String]

    public init(policyPath: String, currentPolicyPath: String, cpus: Double, moves: [PlanMove], movesNotListed: Int? = nil,
                groups: [PlanGroup], notes: [String]) {
        self.movesNotListed = movesNotListed
        self.schemaVersion = Self.schemaVersion
        self.policyPath = policyPath
        self.currentPolicyPath = currentPolicyPath
        self.cpus = cpus
        self.moves = moves
        self.groups = groups
        self.demandEstimate = Self.demandRule
        self.notes = notes
    }

    /// Every process that would change group, the pairs not listed included.
    public var processesMoving: Int { moves.reduce(0) { $0 + $1.count } + (movesNotListed ?? 0) }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case policyPath = "policy_path"
        case currentPolicyPath = "current_policy_path"
        case demandEstimate = "demand_estimate"
        case movesNotListed = "moves_not_listed"
        case cpus, moves, groups, notes
    }
}

public struct PlanMove: Codable, Sendable, Equatable {
    /// A group's name, or `PlanReport.outside`.
    public var from: String
    /// A group's name, or `PlanReport.origin` (given back where it came from).
    public var to: String
    public var count: Int
    /// The first `PlanReport.pidsPerMove` of them, by PID.
    public var processes: [PlanProcess]

    public init(from: String, to: String, count: Int, processes: [PlanProcess]) {
        self.from = from
        self.to = to
        self.count = count
        self.processes = processes
    }
}

public struct PlanProcess: Codable, Sendable, Equatable {
    public var pid: Int32
    public var comm: String

    public init(pid: Int32, comm: String) {
        self.pid = pid
        self.comm = comm
    }
}

public struct PlanGroup: Codable, Sendable, Equatable {
    public enum Change: String, Codable, Sendable {
        case kept, added, removed
    }

    public var name: String
    public var change: Change
    /// nil when the group is not in that policy.
    public var before: PlanSide?
    public var after: PlanSide?
}

/// One group's values under one policy.
public struct PlanSide: Codable, Sendable, Equatable {
    /// "agent" (the agent's cgroup) or "unit" (systemd units: not moved, weights set through systemd).
    public var backing: String
    public var shares: Int
    /// nil for an idle group (cpu.idle = 1 takes the place of a weight; `idle` is then true).
    public var cpuWeight: Int?
    public var idle: Bool?
    public var ioWeight: Int
    /// cpu.max as the kernel writes it ("max 100000"); nil for unit-backed groups.
    public var cpuMax: String?
    public var members: Int
    /// CPUs the controller allocates (before: its last decision; after: on the estimated demand).
    public var allocationCPUs: Double?
    /// CPU usage: measured (before) or estimated (after); nil when unknown.
    public var usageCPUs: Double?
    public var hungry: Bool?
    /// Why it counts as hungry or satisfied.
    public var demand: String?
    /// Every file of the group's cgroup the agent writes, as the kernel holds it (before) or would
    /// be given it (after): "cpu.max" -> "50000 100000". Agent groups only.
    public var cgroupFiles: [String: String]?

    enum CodingKeys: String, CodingKey {
        case backing, shares, members, hungry, demand, idle
        case cgroupFiles = "cgroup_files"
        case cpuWeight = "cpu_weight"
        case ioWeight = "io_weight"
        case cpuMax = "cpu_max"
        case allocationCPUs = "allocation_cpus"
        case usageCPUs = "usage_cpus"
    }
}

/// Computes a `PlanReport` from the reconciler's `preview`: what `replacePolicy` followed by the
/// next pass's `decide` would do, decided by that same code on a copy (nothing here reads or
/// writes the machine, and nothing of the pass is done again here). Memberships, weights, cpu.max
/// and every other group file are the preview's plan and the state it would leave; the
/// controller's demand is `DemandEstimate`.
public enum PolicyPlan {
    /// - Parameters:
    ///   - preview: `Reconciler.preview` of the new policy on a full scan.
    ///   - next: the new, validated policy.
    ///   - processes: the scan the preview decided on.
    ///   - root: the managed root (which group a process is in now).
    ///   - capacity: CPUs available to the root.
    public static func evaluate(_ preview: Reconciler.Preview, next: Policy, processes: [ProcessInfo], root: CgroupPath, capacity: Double,
                                path: String) -> PlanReport {
        let before = preview.before, after = preview.after
        let placement = Enforcer(root: root)
        let groupOf = { (p: ProcessInfo) -> GroupName? in placement.group(ofCgroup: p.cgroup) }
        let byIdentity = Dictionary(processes.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })

        // Processes that would change group, per (from, to) pair.
        var pairs: [PairKey: [PlanProcess]] = [:]
        var pairCounts: [PairKey: Int] = [:]
        for step in preview.plan.steps {
            let key: PairKey, process: PlanProcess
            switch step {
            case .move(let id, let comm, let to, _, _):
                key = PairKey(from: byIdentity[id].flatMap(groupOf)?.rawValue ?? PlanReport.outside, to: to.rawValue)
                process = PlanProcess(pid: id.pid, comm: comm)
            case .restore(let id, let comm, let from, _):
                key = PairKey(from: from.rawValue, to: PlanReport.origin)
                process = PlanProcess(pid: id.pid, comm: comm)
            default:
                continue
            }
            pairCounts[key, default: 0] += 1
            pairs[key, default: []].append(process)
        }
        // The largest pairs, shown in name order.
        let listed = pairCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(PlanReport.maxMoves).map(\.key)
        let notListed = pairCounts.values.reduce(0, +) - listed.reduce(0) { $0 + pairCounts[$1]! }
        let moves = listed.sorted().map { key in
            PlanMove(from: key.from, to: key.to, count: pairCounts[key]!,
                     processes: Array(pairs[key]!.sorted { $0.pid < $1.pid }.prefix(PlanReport.pidsPerMove)))
        }

        // The trees: nested groups and users' subgroups (those that exist now, and those the
        // reload would make) are groups of the plan like any other.
        let policy = before.tree
        let nextTree = after.tree
        let cpuBefore = policy.cpuWeights(), ioBefore = policy.ioWeights()
        let cpuAfter = nextTree.cpuWeights(), ioAfter = nextTree.ioWeights()
        func files(_ s: ReconcilerSnapshot, _ g: GroupName) -> [String: String] {
            Dictionary(uniqueKeysWithValues: s.applied.all(of: g).map { ($0.key.rawValue, $0.value.fileText) })
        }
        func side(_ g: GroupPolicy) -> PlanSide {
            // The values the agent wrote, as far as it did; else the decision's, else the shares'.
            let d = before.decision?.decision(for: g.name)
            let cpu = g.idle ? nil : before.applied.value(.cpuWeight, of: g.name, as: CPUWeight.self) ?? d?.cpuWeight ?? cpuBefore[g.name]
            let io = before.applied.value(.ioWeight, of: g.name, as: IOWeight.self) ?? d?.ioWeight ?? ioBefore[g.name]!
            let max = before.applied.value(.cpuMax, of: g.name, as: CPUMax.self) ?? d?.cpuMaxValue ?? CPUMax(cpus: g.ceiling?.cpus(capacity: capacity))
            return PlanSide(backing: "agent", shares: g.shares.value, cpuWeight: cpu?.value, idle: g.idle ? true : nil, ioWeight: io.value,
                            cpuMax: max.description, members: before.memberCounts[g.name] ?? 0, allocationCPUs: d?.share.allocation,
                            usageCPUs: before.rates[g.name]?.cpus, hungry: d?.hungry, demand: d?.demandReason, cgroupFiles: files(before, g.name))
        }
        func beforeSide(_ g: GroupPolicy) -> PlanSide {
            guard !g.isUnitBacked else {
                return PlanSide(backing: "unit", shares: g.shares.value, cpuWeight: cpuBefore[g.name]!.value, ioWeight: ioBefore[g.name]!.value,
                                cpuMax: nil, members: before.memberCounts[g.name] ?? 0)
            }
            return side(g)
        }
        func afterSide(_ g: GroupPolicy) -> PlanSide {
            let members = after.memberCounts[g.name] ?? 0
            guard !g.isUnitBacked else {
                return PlanSide(backing: "unit", shares: g.shares.value, cpuWeight: cpuAfter[g.name]!.value, ioWeight: ioAfter[g.name]!.value,
                                cpuMax: nil, members: members)
            }
            // What the reload's steps would leave in the group's files.
            let d = after.decision?.decision(for: g.name)
            let applied = after.applied
            return PlanSide(backing: "agent", shares: g.shares.value, cpuWeight: applied.value(.cpuWeight, of: g.name, as: CPUWeight.self)?.value,
                            idle: g.idle ? true : nil, ioWeight: applied.value(.ioWeight, of: g.name, as: IOWeight.self)?.value ?? ioAfter[g.name]!.value,
                            cpuMax: (applied.value(.cpuMax, of: g.name) ?? GroupFiles.cpuMax.kernelDefault).description, members: members,
                            allocationCPUs: d?.share.allocation, usageCPUs: preview.estimate.usageCPUs(g.name), hungry: d?.hungry,
                            demand: preview.estimate.describe(g.name, members: members), cgroupFiles: files(after, g.name))
        }

        var groups: [PlanGroup] = []
        let nextByName = Dictionary(nextTree.groups.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let currentNames = Set(policy.groups.map(\.name))
        for g in policy.groups {
            let n = nextByName[g.name]
            groups.append(PlanGroup(name: g.name.rawValue, change: n == nil ? .removed : .kept, before: beforeSide(g), after: n.map(afterSide)))
        }
        for g in nextTree.groups where !currentNames.contains(g.name) {
            groups.append(PlanGroup(name: g.name.rawValue, change: .added, before: nil, after: afterSide(g)))
        }

        var notes = next.warnings.map(\.description)
        if !next.unitGroups.isEmpty {
            notes.append("unit-backed groups are not moved: their units' CPUWeight=/IOWeight= are set through systemd")
        }
        if case .decayed = next.agent.fairness {
            notes.append("fairness = \"decayed\": the weights after include the fairness factors as of now; they drift with usage")
        }
        return PlanReport(policyPath: path, currentPolicyPath: policy.sourcePath, cpus: capacity, moves: moves,
                          movesNotListed: notListed > 0 ? notListed : nil, groups: groups, notes: notes)
    }

    struct PairKey: Hashable, Comparable {
        var from: String
        var to: String
        static func < (a: PairKey, b: PairKey) -> Bool { (a.from, a.to) < (b.from, b.to) }
    }
}
