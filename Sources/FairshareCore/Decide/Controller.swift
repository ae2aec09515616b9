#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The decide step of redistribution: from one interval's observations, each group's demand,
/// its allocation (Allocator), and the values that carry it into the kernel: an effective
/// cpu.weight (shares x fairness factor, raised where a floor needs it) and cpu.max (the
/// ceiling, raised while borrowing). Pure; the agent and the fluid simulator both drive it.
public struct Controller: Sendable {
    /// What was seen of a group over the last interval.
    public struct Observation: Sendable, Equatable {
        public var group: GroupName
        /// CPUs used on average over the interval.
        /// nil when it could not be measured (cpu.stat unreadable, or no interval yet): the
        /// controller then assumes nothing about it (see `demand`, `FairnessLedger.record`).
        public var usage: Double?
        /// nr_throttled grew: cpu.max stopped it.
        public var throttled: Bool
        /// Share of the interval in which some task of the group waited for a CPU (0...1), from
        /// the growth of cpu.pressure's "some total"; nil where PSI is not available.
        public var pressure: Double?
        public var hasMembers: Bool

        public init(group: GroupName, usage: Double?, throttled: Bool = false, pressure: Double? = nil, hasMembers: Bool = true) {
            self.group = group
            self.usage = usage
            self.throttled = throttled
            self.pressure = pressure
            self.hasMembers = hasMembers
        }
    }

    public struct GroupDecision: Sendable, Equatable {
        public var group: GroupName
        public var hungry: Bool
        /// Why it counts as hungry or satisfied, for `fairshare status`.
        public var demandReason: String
        public var share: Allocator.Share
        /// The fairness factor applied to the shares (1 with fairness = "instant").
        public var factor: Double
        /// nil for an idle group: cpu.idle = 1 takes the place of a weight (the kernel refuses
        /// cpu.weight writes while it is set).
        public var cpuWeight: CPUWeight?
        public var idle: Bool = false
        /// io.weight follows the fairness factor too (floors are CPU only).
        public var ioWeight: IOWeight
        /// cpu.max quota in CPUs; nil = "max" (no limit).
        public var cpuMax: Double?
        /// The same as cpu.max's value.
        public var cpuMaxValue: CPUMax { CPUMax(cpus: cpuMax) }
        /// Why the weight is what it is.
        public var weightReason: String
    }

    public struct Decision: Sendable, Equatable {
        public let groups: [GroupDecision]
        public let idle: Double
        /// Position of each group's decision in `groups`: status, the reconciler's weight steps
        /// and the plan look up every group (and the plan every process's group), so a search
        /// per lookup made each of them quadratic in the groups.
        private let index: [GroupName: Int]

        public init(groups: [GroupDecision], idle: Double) {
            self.groups = groups
            self.idle = idle
            index = Dictionary(groups.enumerated().map { ($1.group, $0) }, uniquingKeysWith: { first, _ in first })
        }

        /// With the positions known already (every group decided, in the policy's order).
        init(groups: [GroupDecision], idle: Double, index: [GroupName: Int]) {
            self.groups = groups
            self.idle = idle
            self.index = index
        }

        public func decision(for g: GroupName) -> GroupDecision? { index[g].map { groups[$0] } }
    }

    /// Hungry when some task waited for a CPU in more than this share of the interval.
    public static let pressureThreshold = 0.10
    /// Hungry when using at least this share of what cpu.max allowed.
    public static let atAllowance = 0.9

    public private(set) var ledger = FairnessLedger()
    /// Per floor-held group, a correction on its raised weight learnt from what it really got:
    /// the kernel places tasks per CPU, and with few tasks a weight buys a little less than its
    /// fluid share (measured under qemu: 0.93 CPU for a floor of 1). 1 = no correction.
    public private(set) var floorGain: [GroupName: Double] = [:]
    /// The floor allocation each floor-held group was given last interval.
    public private(set) var floorTarget: [GroupName: Double] = [:]
    /// The correction never exceeds this, so a floor can not grow into a takeover.
    public static let maxFloorGain = 2.0

    public init() {}

    /// The tree's shape as positions in the policy's groups: each group's position by name, its
    /// children, the top level, and an order with children before their parents. The same
    /// while the groups are (with a group per user, building it took a lookup by name per
    /// group and a sort in every pass); kept from the pass before and checked against the
    /// names and parents, which the reconciler hands over unchanged while its tree is.
    struct Shape: Sendable {
        var names: [GroupName] = []
        var parents: [GroupName?] = []
        var position: [GroupName: Int] = [:]
        var childrenOf: [[Int]] = []
        var top: [Int] = []
        var childrenFirst: [Int] = []

        init() {}

        init(_ groups: [GroupPolicy]) {
            let n = groups.count
            names = groups.map(\.name)
            parents = groups.map(\.parent)
            position.reserveCapacity(n)
            for (i, name) in names.enumerated() where position[name] == nil { position[name] = i }
            childrenOf = [[Int]](repeating: [], count: n)
            for (i, parent) in parents.enumerated() {
                if let p = parent {
                    if let pi = position[p] { childrenOf[pi].append(i) }
                } else {
                    top.append(i)
                }
            }
            let depths = names.map(\.depth)
            childrenFirst = Array(0..<n).sorted { depths[$0] != depths[$1] ? depths[$0] > depths[$1] : $0 < $1 }
        }

        func fits(_ groups: [GroupPolicy]) -> Bool {
            guard groups.count == names.count else { return false }
            for i in groups.indices where groups[i].name != names[i] || groups[i].parent != parents[i] { return false }
            return true
        }
    }
    private var shape = Shape()

    /// Decides for the agent-owned groups, level by level down the tree of groups (nested groups
    /// and the users of a per_user group are children of their group): the top level divides the
    /// capacity, each interior group's children divide what it was allocated, and each level's
    /// weights are set among its siblings only (as the kernel compares them). Unit-backed groups
    /// take no part: their cgroups are not siblings of the agent's groups and the agent writes
    /// none of their files. They count only for the top level's weight scale (WeightMapping's
    /// factor over all top-level groups).
    /// - Parameters:
    ///   - capacity: CPUs of the root; a `min`, `max` or `burst` in percent is a part of it at
    ///     every level.
    ///   - inForce: the cpu.max each group had over the interval, as written (not as last
    ///     decided: a write that failed left the old one), to judge "at its allowance".
    ///   - ioWeights: the policy's io weights (`Policy.ioWeights`), when the caller keeps them.
    public mutating func decide(policy: Policy, observations: [Observation], capacity: Double, interval: Double,
                                inForce: [GroupName: CPUMax] = [:], ioWeights: [GroupName: IOWeight]? = nil) -> Decision {
        // Every group by its position in the policy: one lookup by name per group and pass,
        // arrays after that (with a group per user, a pass decides hundreds of them).
        let groups = policy.agentGroups
        let n = groups.count
        if !shape.fits(groups) { shape = Shape(groups) }
        let position = shape.position
        // The reconciler lists the observations in the policy's order; anything else is matched by
        // name (the first of a name counts).
        var observed = [Observation?](repeating: nil, count: n)
        if observations.count == n, observations.indices.allSatisfy({ observations[$0].group == shape.names[$0] }) {
            for i in 0..<n { observed[i] = observations[i] }
        } else {
            for o in observations { if let i = position[o.group], observed[i] == nil { observed[i] = o } }
        }
        let childrenOf = shape.childrenOf
        let top = shape.top
        if case .decayed = policy.agent.fairness {
            ledger.retain(only: Set(groups.filter { !$0.idle }.map(\.name)), absentUsersOf: policy.perUserLimits)
        }
        // Users come and go: what is learnt of a group's floor goes with the group.
        if !floorGain.isEmpty || !floorTarget.isEmpty {
            floorGain = floorGain.filter { position[$0.key] != nil }
            floorTarget = floorTarget.filter { position[$0.key] != nil }
        }
        // Demand bottom-up: a leaf's from what it did, an interior group's from its children's.
        var demands = [Demand](repeating: Demand(cpus: 0, hungry: false, reason: "", hasMembers: false), count: n)
        // The deepest first (children before their parent).
        for i in shape.childrenFirst {
            let floor = groups[i].floor?.cpus(capacity: capacity) ?? 0
            if !childrenOf[i].isEmpty {
                // Its own cgroup's signs count too (its cpu.pressure covers every user beneath
                // whose own is not read).
                let own = observed[i].map { demand($0, allowance: inForce[$0.group]?.cpus) }
                var d = Self.aggregate(childrenOf[i].map { (groups[$0].ceiling, demands[$0]) }, capacity: capacity,
                                       ownHunger: own?.1 == true ? own?.2 : nil)
                d.floor = max(floor, d.floor)
                demands[i] = d
            } else {
                let o = observed[i] ?? Observation(group: shape.names[i], usage: 0, hasMembers: false)
                let d = demand(o, allowance: inForce[o.group]?.cpus)
                demands[i] = Demand(cpus: d.0, hungry: d.1, reason: d.2, hasMembers: o.hasMembers, floor: floor)
            }
        }
        // Allocation top-down: a level's capacity is what its parent was allocated.
        let ioBase = ioWeights ?? policy.ioWeights()
        var decisions: [GroupDecision] = []
        var decided: [Int] = []  // each decision's position
        var idle = 0.0
        var levels: [(parent: Int?, capacity: Double)] = [(nil, capacity)]
        var next = 0
        while next < levels.count {
            let (parent, available) = levels[next]
            next += 1
            let siblings = parent.map { childrenOf[$0] } ?? top
            guard !siblings.isEmpty else { continue }
            // The top level's weight scale counts the unit-backed groups too (one scale with systemd's).
            let scaleShares = parent == nil ? policy.groups.indices.filter { policy.groups[$0].parent == nil && !policy.groups[$0].idle }.map { policy.groups[$0].shares }
                : siblings.filter { !groups[$0].idle }.map { groups[$0].shares }
            let result = decideLevel(siblings, of: groups, demands: siblings.map { demands[$0] }, observed: siblings.map { observed[$0] }, available: available,
                                     machine: capacity, scaleShares: scaleShares, ioBase: ioBase, policy: policy, interval: interval)
            if parent == nil { idle = result.idle }
            decisions += result.decisions
            decided += siblings
            for (k, d) in result.decisions.enumerated() where !childrenOf[siblings[k]].isEmpty { levels.append((siblings[k], d.share.allocation)) }
        }
        decisions = Self.lendIdle(&idle, to: decisions, policy: policy, demand: { position[$0].map { demands[$0] } }, capacity: capacity)
        // In the policy's order.
        var ordered = [GroupDecision?](repeating: nil, count: n)
        for (k, d) in decisions.enumerated() { ordered[decided[k]] = d }
        let all = ordered.compactMap { $0 }
        // Every group decided and no name twice: positions are the shape's.
        if all.count == n, position.count == n { return Decision(groups: all, idle: idle, index: position) }
        return Decision(groups: all, idle: idle)
    }

    /// What the machine leaves unused after every level's allocation goes to the borrowing
    /// groups below the top (users with `user_borrow`, nested groups with `borrow`) that want
    /// more than their max, by shares, each up to its burst: a cap gives way only while the
    /// machine is idle, as it does for a top-level group. (The top level lends within its own
    /// allocation.)
    static func lendIdle(_ idle: inout Double, to decisions: [GroupDecision], policy: Policy, demand: (GroupName) -> Demand?,
                         capacity: Double) -> [GroupDecision] {
        guard idle > Allocator.epsilon else { return decisions }
        var borrowers: [(index: Int, weight: Double, room: Double)] = []
        // Only groups below the top with borrow and a max may borrow here.
        let byName = Dictionary(policy.groups.filter { $0.parent != nil && $0.borrow && $0.ceiling != nil && !$0.isUnitBacked }
            .map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard !byName.isEmpty else { return decisions }
        for (i, d) in decisions.enumerated() {
            guard let g = byName[d.group], g.parent != nil, g.borrow, let ceiling = g.ceiling?.cpus(capacity: capacity), !g.idle,
                  let want = demand(g.name), want.hungry
            else { continue }
            let burst = g.burst?.cpus(capacity: capacity) ?? capacity
            let room = min(want.cpus, burst) - max(d.share.allocation, ceiling)
            if room > Allocator.epsilon { borrowers.append((i, Double(g.shares.value) * d.factor, room)) }
        }
        guard !borrowers.isEmpty else { return decisions }
        var (_, extra) = Allocator.waterFill(weights: borrowers.map(\.weight), lower: borrowers.map { _ in 0 }, upper: borrowers.map(\.room),
                                             total: min(idle, borrowers.reduce(0) { $0 + $1.room }))
        // An ancestor's own cpu.max bounds everything beneath it: what its borrowers take
        // together stays within what it may still run (scaled down alike where it would not).
        let position = Dictionary(decisions.enumerated().map { ($1.group, $0) }, uniquingKeysWith: { a, _ in a })
        var ancestors = Set<GroupName>()
        for b in borrowers { var a = decisions[b.index].group.parent; while let p = a { ancestors.insert(p); a = p.parent } }
        for a in ancestors.sorted(by: GroupName.childrenFirst) {
            guard let i = position[a], let quota = decisions[i].cpuMax else { continue }
            let headroom = max(0, quota - decisions[i].share.allocation)
            let under = borrowers.indices.filter { a.isAncestor(of: decisions[borrowers[$0].index].group) }
            let taken = under.reduce(0) { $0 + extra[$1] }
            if taken > headroom + Allocator.epsilon { for k in under { extra[k] *= headroom / taken } }
        }
        var out = decisions
        for (k, b) in borrowers.enumerated() where extra[k] > Allocator.epsilon {
            let g = byName[out[b.index].group]!
            let ceiling = g.ceiling!.cpus(capacity: capacity)
            let burst = g.burst?.cpus(capacity: capacity) ?? capacity
            var share = out[b.index].share
            share.allocation = max(share.allocation, ceiling) + extra[k]
            share.borrowed = share.allocation - ceiling
            share.limit = share.allocation >= burst - Allocator.epsilon ? .burst : .borrowing
            out[b.index].share = share
            out[b.index].cpuMax = min(share.allocation, burst)
            idle -= extra[k]
        }
        return out
    }

    /// A group's demand: CPUs wanted (.infinity: all it can get), hungry or not and why.
    struct Demand {
        var cpus: Double
        var hungry: Bool
        var reason: String
        var hasMembers: Bool
        /// CPUs guaranteed beneath it: its own `min`, or its children's together (each within
        /// what it wants), whichever is more; what its level must set aside for it.
        var floor: Double = 0
    }

    /// An interior group wants what its children want, each within its max: a child borrows
    /// only capacity the whole machine leaves unused (`lendIdle`), never its parent's part
    /// while other groups want it. It is hungry when one of them is.
    /// - Parameter ownHunger: why the group's own cgroup shows hunger (its tasks wait for a
    ///   CPU, it is throttled or at its allowance), if it does: then every child wants all it
    ///   may reach.
    /// - Parameter children: each child's max and demand.
    static func aggregate(_ children: [(ceiling: CPUAmount?, demand: Demand)], capacity: Double, ownHunger: String? = nil) -> Demand {
        var total = 0.0, floors = 0.0
        var present = 0, hungry = 0
        for (ceiling, d) in children where d.hasMembers {
            present += 1
            if d.hungry { hungry += 1 }
            let cap = ceiling?.cpus(capacity: capacity) ?? .infinity
            total += min(ownHunger != nil ? .infinity : d.cpus, cap)
            floors += min(d.floor, d.cpus)
        }
        guard present > 0 else { return Demand(cpus: 0, hungry: false, reason: "no members", hasMembers: false) }
        if let why = ownHunger { return Demand(cpus: total, hungry: true, reason: why, hasMembers: true, floor: floors) }
        let reason = hungry > 0 ? "\(hungry) of its \(present) subgroups with members want more" : "its subgroups use \(fmt(total)) CPUs, want no more"
        return Demand(cpus: total, hungry: hungry > 0, reason: reason, hasMembers: true, floor: floors)
    }

    /// One level: siblings dividing `available` CPUs (the machine at the top, their parent's
    /// allocation below), with their fairness factors, floors, ceilings and borrowing.
    /// - Parameters:
    ///   - demands, observed: each sibling's, in the same order.
    ///   - level, all: the siblings' positions in the policy's groups (read in place: with a
    ///     group per user, copying each group's policy was a measurable part of a pass).
    private mutating func decideLevel(_ level: [Int], of all: [GroupPolicy], demands: [Demand], observed: [Observation?],
                                      available: Double, machine capacity: Double, scaleShares: [Shares], ioBase: [GroupName: IOWeight], policy: Policy,
                                      interval: Double) -> (decisions: [GroupDecision], idle: Double) {
        let groups = level.map { LevelMember(all[$0]) }
        // Fairness: decayed usage against entitlement (Slurm's fair-share rule, at every level of
        // the tree as in its fair tree). Every group is entitled to its shares' part of its
        // level's capacity all the time, members or not (a user who left keeps being counted
        // until the ledger's bound drops them): a group returning after any absence is favoured
        // alike, within max_boost. Idle groups have no CPU weight to adjust and take no part.
        if case .decayed(let halfLife, _) = policy.agent.fairness {
            let entitled = groups.filter { !$0.idle }
            var shares = Dictionary(uniqueKeysWithValues: entitled.map { ($0.name, Double($0.shares.value)) })
            if let parent = groups.first?.parent {
                for (absent, s) in ledger.absentUsers(under: parent) where shares[absent] == nil { shares[absent] = s }
            }
            let total = shares.values.reduce(0, +)
            var entitlement: [GroupName: Double] = [:]
            for (g, s) in shares { entitlement[g] = available * s / max(total, 1) }
            // A group whose usage is unknown this interval is left out of the ledger altogether:
            // recording its entitlement without its usage would count as credit.
            var unknown: Set<GroupName> = []
            var usage: [GroupName: Double] = [:]
            for (i, g) in groups.enumerated() where !g.idle {
                if let u = observed[i]?.usage { usage[g.name] = u } else { unknown.insert(g.name) }
            }
            ledger.record(usage: usage, entitlement: entitlement.filter { !unknown.contains($0.key) },
                          interval: interval, halfLife: halfLife.seconds, skipping: unknown,
                          shares: Dictionary(uniqueKeysWithValues: entitled.map { ($0.name, Double($0.shares.value)) }))
        }

        var claims: [Allocator.Claim] = []
        for (i, g) in groups.enumerated() {
            let d = demands[i]
            let factor = g.idle ? 1 : fairnessFactor(g.name, policy: policy)
            let ceiling = g.ceiling?.cpus(capacity: capacity) ?? .infinity
            let burst = g.borrow ? (g.burst?.cpus(capacity: capacity) ?? capacity) : ceiling
            claims.append(Allocator.Claim(group: g.name, weight: Double(g.shares.value) * factor, floor: d.floor,
                                          ceiling: ceiling, burst: burst, demand: d.cpus))
        }
        let result = Self.allocate(claims, idle: groups.map(\.idle), capacity: available)

        // Weights: shares x factor, a floor-held group raised to floor / level, then one common
        // scale into 1...10000 among the siblings (the same whole-factor idea as WeightMapping,
        // kept exact where nothing is boosted).
        let k = Double(WeightMapping.factor(for: scaleShares))
        var raw: [Double] = []
        var reasons: [String] = []
        let floorsTakeAll = !(result.level > 0 && result.level.isFinite) && claims.contains { $0.floor > 0 }
            && result.shares.contains { $0.allocation > 1e-9 }
        let allocated = result.shares.reduce(0) { $0 + $1.allocation }
        let allocationScale = allocated > 0 ? claims.reduce(0) { $0 + $1.weight } / allocated : 1
        for (i, g) in groups.enumerated() {
            let share = result.shares[i]
            if g.idle {
                // No weight: a placeholder that scaledIntoRange never lets set the scale.
                raw.append(0)
                reasons.append(Self.idleWeightReason)
                continue
            }
            var w = claims[i].weight
            var why = claims[i].weight == Double(g.shares.value) ? "shares" : "shares x fairness factor \(fmt(claims[i].weight / Double(g.shares.value)))"
            // Held above its weighted share by its floor, hungry or not: a group that wants a
            // little less than its floor is satisfied only because of the raise, so the raise
            // must stay while it holds (the fluid simulator found the oscillation otherwise).
            if floorsTakeAll {
                // Floors take the level's whole capacity (the water level is 0): the kernel gets
                // weights in the ratio of the allocations.
                w = max(share.allocation, 1e-6) * allocationScale
                why = "weighed by its allocation (\(fmt(share.allocation)) CPUs): the floors take all of its level's capacity"
                floorGain[g.name] = nil
                floorTarget[g.name] = nil
            } else if claims[i].floor > 0, result.level > 0, result.level.isFinite, share.allocation > w * result.level + 1e-9 {
                let gain = adjustFloorGain(g.name, allocation: share.allocation, observed: observed[i], hungry: demands[i].hungry)
                w = share.allocation / result.level * gain
                why = "raised to hold its floor (\(fmt(share.allocation)) CPUs)" + (gain > 1.005 ? ", x\(fmt(gain)) for what the kernel delivers" : "")
            } else if !floorGain.isEmpty || !floorTarget.isEmpty {
                floorGain[g.name] = nil
                floorTarget[g.name] = nil
            }
            raw.append(w * k)
            reasons.append(why)
        }
        let scaled: [CPUWeight] = WeightMapping.scaledIntoRange(raw)
        var decisions: [GroupDecision] = []
        for (i, g) in groups.enumerated() {
            let share = result.shares[i]
            var quota: Double?
            if g.ceiling != nil {
                quota = max(claims[i].ceiling, share.borrowed > 0 ? share.allocation : 0)
                if g.borrow { quota = min(quota!, claims[i].burst) }
            }
            let d = demands[i]
            let factor = g.idle ? 1 : claims[i].weight / Double(g.shares.value)
            decisions.append(GroupDecision(group: g.name, hungry: d.hungry, demandReason: d.reason, share: share,
                                           factor: factor, cpuWeight: g.idle ? nil : scaled[i],
                                           idle: g.idle,
                                           ioWeight: IOWeight(clamping: Double(ioBase[g.name]?.value ?? g.ioShares.value) * factor),
                                           cpuMax: quota, weightReason: reasons[i]))
        }
        return (decisions, result.idle)
    }

    /// What a level's decision reads of a group's policy: copied per group and pass instead of
    /// the whole policy (its match rule and the rest).
    struct LevelMember {
        let name: GroupName
        let parent: GroupName?
        let idle: Bool
        let shares: Shares
        let ioShares: Shares
        let ceiling: CPUAmount?
        let borrow: Bool
        let burst: CPUAmount?

        init(_ g: GroupPolicy) {
            (name, parent, idle, shares, ioShares) = (g.name, g.parent, g.idle, g.shares, g.ioShares)
            (ceiling, borrow, burst) = (g.ceiling, g.borrow, g.burst)
        }
    }

    public static let idleWeightReason = "idle group: cpu.idle = 1, no CPU weight"

    /// The capacity among the non-idle groups first, then what they leave among the idle ones
    /// alike (the kernel gives every idle sibling the same minimal weight): an idle group never
    /// takes from a group with a weight, however small. The result's level is the first phase's
    /// (floors are turned into weights against it); its idle capacity is what is left at the end.
    static func allocate(_ claims: [Allocator.Claim], idle: [Bool], capacity: Double) -> Allocator.Result {
        guard idle.contains(true) else { return Allocator.allocate(claims, capacity: capacity) }
        let normal = claims.indices.filter { !idle[$0] }
        let scavengers = claims.indices.filter { idle[$0] }
        let first = Allocator.allocate(normal.map { claims[$0] }, capacity: capacity)
        let leftover = normal.isEmpty ? capacity : first.idle
        let second = Allocator.allocate(scavengers.map { var c = claims[$0]; c.weight = 1; return c }, capacity: leftover)
        var shares = claims.map { Allocator.Share(group: $0.group, allocation: 0, borrowed: 0, limit: .demand) }
        for (k, i) in normal.enumerated() { shares[i] = first.shares[k] }
        for (k, i) in scavengers.enumerated() {
            var share = second.shares[k]
            // Wanted more than the others left it (none at all: the allocator's "demand" for an
            // empty capacity): what bounds it is being idle.
            let wanted = min(claims[i].demand, claims[i].burst)
            if share.limit == .share || (share.limit == .demand && share.allocation < wanted - 1e-9) { share.limit = .idle }
            shares[i] = share
        }
        return Allocator.Result(shares: shares, level: normal.isEmpty ? 0 : first.level, idle: second.idle)
    }

    /// Integral correction of a floor's weight: a hungry group that got less than the floor
    /// allocation in force over the last interval gets a proportionally larger weight (bounded),
    /// one that got clearly more gives some back. Satisfied groups keep the gain they have, and
    /// nothing is learnt from an interval in which the raise was not yet in force.
    mutating func adjustFloorGain(_ g: GroupName, allocation: Double, observed: Observation?, hungry: Bool) -> Double {
        var gain = floorGain[g] ?? 1
        defer { floorTarget[g] = allocation }
        if hungry, let target = floorTarget[g], let used = observed?.usage ?? nil, used > 0.05 {
            let ratio = target / used
            if ratio > 1.02 {
                gain *= min(ratio, 1.25)
            } else if ratio < 0.97 {
                gain *= max(ratio, 0.8)
            }
            gain = min(max(gain, 1), Self.maxFloorGain)
        }
        floorGain[g] = gain
        return gain
    }

    /// Demand: a group that uses clearly less than it may is satisfied (demand = usage); one
    /// that is throttled, waits for CPU, or runs at its allowance is hungry (unbounded demand:
    /// the allocation then follows from shares, floors and ceilings).
    func demand(_ o: Observation, allowance: Double?) -> (Double, Bool, String) {
        guard o.hasMembers else { return (0, false, "no members") }
        if o.throttled { return (.infinity, true, "throttled by cpu.max") }
        if let p = o.pressure, p > Self.pressureThreshold { return (.infinity, true, "waiting for CPU \(Int((p * 100).rounded()))% of the time") }
        // Unknown usage is taken as hungry: its allocation then follows its shares, floor and
        // ceiling, and nothing is taken from it (or given to others) on a guess.
        guard let usage = o.usage else { return (.infinity, true, "usage unknown (cpu.stat unreadable, or no interval yet): assumed to want its share") }
        if let a = allowance, usage >= a * Self.atAllowance { return (.infinity, true, "at its allowance") }
        return (usage, false, usage == 0 ? Self.usesNothing : "uses \(fmt(usage)) CPUs, wants no more")
    }

    /// The same words for an idle group (most users of a per_user group): formatted once.
    static let usesNothing = "uses \(fmt(0)) CPUs, wants no more"

    func fairnessFactor(_ g: GroupName, policy: Policy) -> Double {
        guard case .decayed(_, let maxBoost) = policy.agent.fairness else { return 1 }
        return ledger.factor(for: g, maxBoost: maxBoost)
    }
}

/// Long-term fairness without starvation. Each group's usage and entitlement decay
/// exponentially with the half-life; the factor is entitlement / usage, clamped to
/// [1/sqrt(maxBoost), sqrt(maxBoost)]. So for any two groups the factors' ratio, and so the
/// departure of their effective weights from their shares' ratio, is at most maxBoost however
/// long one of them was idle: credit is capped.
public struct FairnessLedger: Sendable, Equatable {
    public private(set) var usage: [GroupName: Double] = [:]
    public private(set) var entitlement: [GroupName: Double] = [:]
    /// Keeps the ratio finite for groups that used nothing yet (CPUs).
    public static let floorCPUs = 0.01

    public init() {}

    /// The shares each group had when last recorded: a user who left is still entitled to them.
    public private(set) var shares: [GroupName: Double] = [:]

    /// - Parameters:
    ///   - skipping: groups whose usage was not measured: their history stays as it is.
    ///   - shares: the shares of the groups present now (kept for when they are absent).
    public mutating func record(usage now: [GroupName: Double], entitlement due: [GroupName: Double], interval: Double, halfLife: Double,
                                skipping: Set<GroupName> = [], shares present: [GroupName: Double] = [:]) {
        let keep = pow2(-interval / halfLife)
        for g in Set(usage.keys).union(now.keys).union(due.keys) where !skipping.contains(g) {
            usage[g] = keep * (usage[g] ?? 0) + (1 - keep) * (now[g] ?? 0)
            entitlement[g] = keep * (entitlement[g] ?? 0) + (1 - keep) * (due[g] ?? 0)
        }
        shares.merge(present) { _, new in new }
    }

    public func factor(for g: GroupName, maxBoost: Double) -> Double {
        factor(for: g, bound: maxBoost.squareRoot())
    }

    /// Without the clamp: the unbounded-credit rule, for the simulator's contrast only.
    public func unboundedFactor(for g: GroupName) -> Double {
        factor(for: g, bound: .infinity)
    }

    /// Forgets the groups not in `groups` (a reload removed them): the ledger holds only the
    /// policy's groups, whatever reloads came before; and the users of a per_user group who left
    /// (their subgroup is gone), so that their history follows them when they come back: at most
    /// the group's `max_users` of them, those who used the most kept (a light user forgotten
    /// only loses a little credit; a heavy one forgotten would escape their history).
    public mutating func retain(only groups: Set<GroupName>, absentUsersOf perUser: [GroupName: Int] = [:]) {
        var keep = groups
        var absent: [GroupName: [GroupName]] = [:]
        for g in usage.keys where !groups.contains(g) {
            if let parent = g.parent, perUser[parent] != nil, UserNode(component: g.leaf) != nil { absent[parent, default: []].append(g) }
        }
        for (parent, users) in absent {
            let bound = perUser[parent]!
            let kept = users.count <= bound ? users : Array(users.sorted { (usage[$0] ?? 0, $1.rawValue) > (usage[$1] ?? 0, $0.rawValue) }.prefix(bound))
            keep.formUnion(kept)
        }
        usage = usage.filter { keep.contains($0.key) }
        entitlement = entitlement.filter { keep.contains($0.key) }
        shares = shares.filter { keep.contains($0.key) }
    }

    /// The users who left a per_user group and are still in the ledger, with their shares.
    public func absentUsers(under parent: GroupName) -> [(GroupName, Double)] {
        usage.keys.filter { $0.parent == parent && UserNode(component: $0.leaf) != nil }.map { ($0, shares[$0] ?? 1) }
    }

    func factor(for g: GroupName, bound: Double) -> Double {
        let e = (entitlement[g] ?? 0) + Self.floorCPUs
        let u = (usage[g] ?? 0) + Self.floorCPUs
        return min(max(e / u, 1 / bound), bound)
    }
}

func pow2(_ x: Double) -> Double {
    exp2(x)
}

func fmt(_ x: Double) -> String {
    FixedPoint.format(x, places: 2)
}
