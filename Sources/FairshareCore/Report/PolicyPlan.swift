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
    public static let outside = "(outside)"
    /// The pair label of processes given back to the cgroup they came from (the "to" side).
    public static let origin = "(origin)"
    /// How the new groups' demand is estimated (also in every report, for the reader).
    public static let demandRule = "demand under the new policy is estimated from where each group's processes are now: "
        + "each current group's last measured CPU usage is split evenly over its processes and follows them; "
        + "a process from a hungry group makes its new group hungry; processes from outside any group bring no "
        + "measured usage (a group with only such processes is assumed to want its share, as the controller "
        + "assumes for a new group)"

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

    enum CodingKeys: String, CodingKey {
        case backing, shares, members, hungry, demand, idle
        case cpuWeight = "cpu_weight"
        case ioWeight = "io_weight"
        case cpuMax = "cpu_max"
        case allocationCPUs = "allocation_cpus"
        case usageCPUs = "usage_cpus"
    }
}

/// Computes a `PlanReport`: what `Reconciler.replacePolicy` followed by the next pass's `decide`
/// would do, on copies (the reconciler's state is a value; nothing here reads or writes the
/// machine). Memberships come from the same Enforcer planning a pass runs; weights and cpu.max
/// from a copy of the reconciler's Controller (its fairness ledger and floor corrections
/// included) deciding the new policy on the estimated demand (`PlanReport.demandRule`).
public enum PolicyPlan {
    /// - Parameters:
    ///   - current: the agent's reconciler (policy, members, applied values, last decision).
    ///   - next: the new, validated policy.
    ///   - classifier: the new policy's classifier.
    ///   - processes: a full scan, with the details the new policy's rules need.
    ///   - listedUnits: systemd's running units for the new policy's unit patterns (nil: the last listing).
    ///   - capacity: CPUs available to the root.
    ///   - interval: the pass interval in seconds (the controller's interval when no rate says).
    public static func evaluate(current: Reconciler, next: Policy, classifier: Classifier, processes: [ProcessInfo],
                                listedUnits: [UnitInfo]?, capacity: Double, interval: Double, path: String) -> PlanReport {
        var classifier = classifier
        let root = current.enforcer.root
        let listing = listedUnits ?? current.listedUnits
        let units = UnitCgroups(placements: UnitPlacement.assign(units: listing.map { ($0.name, $0.controlGroup) }, policy: next),
                                excluded: root.isRoot ? nil : root.description)
        classifier.units = units

        // Memberships: as the first pass after the reload (Reconciler.decide) plans them.
        var enforcer = current.enforcer
        enforcer.forget(allBut: Set(processes.map(\.identity)))
        enforcer.forgetStrays(processes)
        var verdicts = ClassificationCache()
        let steps = enforcer.plan(policy: next, classifier: classifier, processes: processes, existingGroups: current.knownGroups,
                                  cache: &verdicts)

        let byIdentity = Dictionary(processes.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        let groupOf = { (p: ProcessInfo) -> GroupName? in current.enforcer.managedGroup(ofCgroup: p.cgroup).flatMap(GroupName.init) }

        // Where each process in a group ends up: moved, given back, or staying.
        var destination: [ProcessIdentity: GroupName?] = [:]
        var pairs: [PairKey: [PlanProcess]] = [:]
        var pairCounts: [PairKey: Int] = [:]
        for step in steps {
            switch step {
            case .move(let id, let comm, let to, _, _):
                destination[id] = .some(to)
                let from = byIdentity[id].flatMap(groupOf)?.rawValue ?? PlanReport.outside
                let key = PairKey(from: from, to: to.rawValue)
                pairCounts[key, default: 0] += 1
                pairs[key, default: []].append(PlanProcess(pid: id.pid, comm: comm))
            case .restore(let id, let comm, let from, _):
                destination[id] = .some(nil)
                let key = PairKey(from: from.rawValue, to: PlanReport.origin)
                pairCounts[key, default: 0] += 1
                pairs[key, default: []].append(PlanProcess(pid: id.pid, comm: comm))
            default:
                break
            }
        }
        // The largest pairs, shown in name order.
        let listed = pairCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(PlanReport.maxMoves).map(\.key)
        let notListed = pairCounts.values.reduce(0, +) - listed.reduce(0) { $0 + pairCounts[$1]! }
        let moves = listed.sorted().map { key in
            PlanMove(from: key.from, to: key.to, count: pairCounts[key]!,
                     processes: Array(pairs[key]!.sorted { $0.pid < $1.pid }.prefix(PlanReport.pidsPerMove)))
        }

        // Demand: each current group's measured usage split over its processes, carried along.
        let rates = current.sampler.rates
        let lastDecision = current.lastDecision
        var scanned: [GroupName: Int] = [:]
        for p in processes { if let g = groupOf(p) { scanned[g, default: 0] += 1 } }
        var usageAfter: [GroupName: Double] = [:]
        var measuredAfter: [GroupName: Int] = [:]
        var hungryAfter: Set<GroupName> = []
        var sourcesAfter: [GroupName: Set<String>] = [:]
        for p in processes {
            let from = groupOf(p)
            let to: GroupName? = destination[p.identity] ?? from
            guard let to else { continue }
            sourcesAfter[to, default: []].insert(from?.rawValue ?? PlanReport.outside)
            guard let from, let rate = rates[from], let n = scanned[from], n > 0 else { continue }
            usageAfter[to, default: 0] += rate.cpus / Double(n)
            measuredAfter[to, default: 0] += 1
            if lastDecision?.decision(for: from)?.hungry == true { hungryAfter.insert(to) }
        }

        let membersBefore = current.memberCounts()
        let membersAfter = enforcer.memberCounts(after: steps)
        var unitMembersAfter: [GroupName: Int] = [:]
        for p in processes where !p.isKernelThread {
            if let u = units.placement(containing: p.cgroup) { unitMembersAfter[u.group, default: 0] += 1 }
        }

        // The controller's decision under the new policy, on a copy.
        var controller = current.controller
        let observations = next.agentGroups.map { g -> Controller.Observation in
            let measured = measuredAfter[g.name] ?? 0
            return Controller.Observation(group: g.name, usage: measured > 0 ? usageAfter[g.name] ?? 0 : nil, throttled: false,
                                          pressure: hungryAfter.contains(g.name) ? 1 : nil, hasMembers: (membersAfter[g.name] ?? 0) > 0)
        }
        let seconds = rates.values.map(\.seconds).max() ?? interval
        let decision: Controller.Decision? = next.agentGroups.isEmpty ? nil
            : controller.decide(policy: next, observations: observations, capacity: capacity, interval: seconds > 0 ? seconds : interval,
                                inForce: current.applied.cpuMax)

        let policy = current.policy
        let cpuBefore = policy.cpuWeights(), ioBefore = policy.ioWeights()
        let cpuAfter = next.cpuWeights(), ioAfter = next.ioWeights(), bfqAfter = next.bfqWeights().weights
        func before(_ g: GroupPolicy) -> PlanSide {
            if g.isUnitBacked {
                return PlanSide(backing: "unit", shares: g.shares.value, cpuWeight: cpuBefore[g.name]!.value, ioWeight: ioBefore[g.name]!.value,
                                cpuMax: nil, members: membersBefore[g.name] ?? 0)
            }
            let d = lastDecision?.decision(for: g.name)
            let cpu = g.idle ? nil : current.applied.cpuWeight[g.name] ?? d?.cpuWeight ?? cpuBefore[g.name]
            let io = current.applied.ioWeight[g.name] ?? d?.ioWeight ?? ioBefore[g.name]!
            let max = current.applied.cpuMax[g.name] ?? d?.cpuMaxValue ?? CPUMax(cpus: g.ceiling?.cpus(capacity: capacity))
            return PlanSide(backing: "agent", shares: g.shares.value, cpuWeight: cpu?.value, idle: g.idle ? true : nil, ioWeight: io.value,
                            cpuMax: max.description, members: membersBefore[g.name] ?? 0, allocationCPUs: d?.share.allocation,
                            usageCPUs: rates[g.name]?.cpus, hungry: d?.hungry, demand: d?.demandReason)
        }
        func after(_ g: GroupPolicy) -> PlanSide {
            if g.isUnitBacked {
                return PlanSide(backing: "unit", shares: g.shares.value, cpuWeight: cpuAfter[g.name]!.value, ioWeight: ioAfter[g.name]!.value,
                                cpuMax: nil, members: unitMembersAfter[g.name] ?? 0)
            }
            // What the reload's weight steps would write (the same rule).
            let d = decision?.decision(for: g.name)
            let want = Reconciler.wanted(g, decision: d, cpuWeights: cpuAfter, ioWeights: ioAfter, bfqWeights: bfqAfter, capacity: capacity,
                                         kernelLacksCPUIdle: current.applied.kernelLacksCPUIdle)
            let members = membersAfter[g.name] ?? 0
            let sources = (sourcesAfter[g.name] ?? []).sorted().joined(separator: ", ")
            let estimate: String
            if members == 0 {
                estimate = "no members"
            } else if (measuredAfter[g.name] ?? 0) == 0 {
                estimate = "no measured usage (processes from \(sources)): assumed to want its share"
            } else {
                estimate = "estimated \(fmt(usageAfter[g.name] ?? 0)) CPUs from \(sources)" + (hungryAfter.contains(g.name) ? ", hungry" : "")
            }
            return PlanSide(backing: "agent", shares: g.shares.value, cpuWeight: want.cpuWeight?.value, idle: g.idle ? true : nil,
                            ioWeight: want.ioWeight.value, cpuMax: want.cpuMax.description, members: members, allocationCPUs: d?.share.allocation,
                            usageCPUs: (measuredAfter[g.name] ?? 0) > 0 ? usageAfter[g.name] : nil,
                            hungry: d?.hungry, demand: estimate)
        }

        var groups: [PlanGroup] = []
        let nextByName = Dictionary(next.groups.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let currentNames = Set(policy.groups.map(\.name))
        for g in policy.groups {
            let n = nextByName[g.name]
            groups.append(PlanGroup(name: g.name.rawValue, change: n == nil ? .removed : .kept, before: before(g), after: n.map(after)))
        }
        for g in next.groups where !currentNames.contains(g.name) {
            groups.append(PlanGroup(name: g.name.rawValue, change: .added, before: nil, after: after(g)))
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
