import FairshareCore

/// What a group wants over simulated time: the CPUs it could use at each moment (its runnable
/// threads), or nil while it has no members. Piecewise traces keep scenarios readable.
public struct DemandTrace: Sendable {
    let wanted: @Sendable (Double) -> Double?

    public init(_ wanted: @escaping @Sendable (_ seconds: Double) -> Double?) {
        self.wanted = wanted
    }

    /// CPUs wanted at `t` seconds of simulated time; nil = no members.
    public func at(_ t: Double) -> Double? { wanted(t) }

    /// Always wants `cpus`.
    public static func constant(_ cpus: Double) -> DemandTrace { DemandTrace { _ in cpus } }

    /// A group that exists but never runs anything.
    public static let idle = DemandTrace.constant(0)

    /// No members at any time.
    public static let absent = DemandTrace { _ in nil }

    /// `initial` until the first phase starts, then each phase's value from its start on
    /// (phases sorted by start).
    public static func phases(_ initial: Double?, _ phases: [(from: Double, cpus: Double?)]) -> DemandTrace {
        let sorted = phases.sorted { $0.from < $1.from }
        return DemandTrace { t in
            var value = initial
            for p in sorted where t >= p.from { value = p.cpus }
            return value
        }
    }
}

/// N CPUs shared among sibling cgroups the way the kernel's fair scheduler shares them over an
/// interval, as a fluid. In every step each group gets at most min(demand, cpu.max quota, N);
/// the capacity goes by weighted max-min water-filling on cpu.weight, so capacity one group
/// leaves is used by the others (work-conserving). It keeps the counters the agent reads from
/// the kernel (usage, nr_throttled, cpu.pressure "some" time), so the controller can be driven
/// as it is on a real machine. Deterministic; a step costs O(groups^2) at worst.
public struct FluidSimulator: Sendable {
    /// The cumulative counters of one group, as cpu.stat and cpu.pressure report them (in
    /// seconds rather than whole microseconds, so short runs lose nothing to rounding).
    public struct Counters: Sendable, Equatable {
        /// CPU time used (cpu.stat usage_usec / 1e6).
        public var usage: Double = 0
        /// Steps in which cpu.max, not demand or weight, was the binding limit.
        public var nrThrottled: Int = 0
        /// Time during which cpu.max was the binding limit (cpu.stat throttled_usec / 1e6).
        public var throttledTime: Double = 0
        /// Time during which some demand waited: demand above allocation (cpu.pressure some total).
        public var pressureTime: Double = 0
        /// CPU time wanted (demand integrated over time), for reports.
        public var demanded: Double = 0

        public var usageUsec: UInt64 { UInt64((usage * 1e6).rounded()) }
    }

    public struct Group: Sendable {
        public var name: GroupName
        public var trace: DemandTrace
        /// cpu.weight, 1...10000.
        public var weight: Int
        /// cpu.max quota in CPUs; nil = "max".
        public var quota: Double?
        public internal(set) var counters = Counters()
        /// The allocation (CPUs) in the last step.
        public internal(set) var allocation: Double = 0
    }

    public let cpus: Double
    /// Simulated seconds per step.
    public let step: Double
    /// Steps taken; time is counted in steps so that long runs do not drift.
    public private(set) var steps = 0
    /// Simulated seconds since the start.
    public var now: Double { Double(steps) * step }
    public private(set) var groups: [Group]

    static let epsilon = 1e-9
    /// The last step's demands and outcomes, reused while nothing changes.
    var demand: [Double]
    var throttling: [Bool]
    var waiting: [Bool]
    var settingsChanged = true

    public init(cpus: Double, step: Double = 0.01, groups: [(GroupName, DemandTrace)], weight: Int = WeightMapping.kernelDefaultWeight) {
        precondition(cpus > 0 && step > 0)
        self.cpus = cpus
        self.step = step
        self.groups = groups.map { Group(name: $0.0, trace: $0.1, weight: weight, quota: nil) }
        demand = Array(repeating: -1, count: groups.count)
        throttling = Array(repeating: false, count: groups.count)
        waiting = Array(repeating: false, count: groups.count)
    }

    func index(of g: GroupName) -> Int {
        guard let i = groups.firstIndex(where: { $0.name == g }) else { preconditionFailure("no simulated group \(g)") }
        return i
    }

    public func group(_ g: GroupName) -> Group { groups[index(of: g)] }
    public func counters(of g: GroupName) -> Counters { group(g).counters }

    /// Writes cpu.weight (a CPUWeight is always one the kernel accepts).
    public mutating func setWeight(_ w: CPUWeight, for g: GroupName) {
        let i = index(of: g)
        if groups[i].weight != w.value { settingsChanged = true }
        groups[i].weight = w.value
    }

    /// Writes cpu.max; the quota is rounded to whole microseconds per 100 ms period, no less
    /// than the kernel's minimum, as `CPUMax` writes it.
    public mutating func setQuota(_ q: Double?, for g: GroupName) {
        let i = index(of: g)
        let rounded = CPUMax(cpus: q).cpus
        if groups[i].quota != rounded { settingsChanged = true }
        groups[i].quota = rounded
    }

    /// The time at which traces are read for the step just taken: its midpoint, so a change
    /// of demand at a step boundary is not moved by rounding.
    var lastStepMidpoint: Double { (Double(steps) - 0.5) * step }

    /// Whether the group had members in the last step (at the start: in the first).
    public func hasMembers(_ g: GroupName) -> Bool { group(g).trace.at(max(lastStepMidpoint, step / 2)) != nil }

    /// Advances by whole steps until `seconds` more simulated time has passed.
    public mutating func run(for seconds: Double) {
        let n = Int((seconds / step).rounded())
        for _ in 0..<n { advance() }
    }

    /// One step: demands at the step's midpoint, water-filling, counters. The water-filling is
    /// redone only when a demand, weight or quota changed since the last step.
    public mutating func advance() {
        let t = (Double(steps) + 0.5) * step
        var changed = settingsChanged
        for i in groups.indices {
            let d = max(0, groups[i].trace.at(t) ?? 0)
            if d != demand[i] {
                demand[i] = d
                changed = true
            }
        }
        if changed {
            let caps = groups.indices.map { i in min(demand[i], groups[i].quota ?? .infinity, cpus) }
            let alloc = Self.waterFill(capacity: cpus, weights: groups.map { Double($0.weight) }, caps: caps)
            for i in groups.indices {
                groups[i].allocation = alloc[i]
                throttling[i] = groups[i].quota.map { q in q < min(demand[i], cpus) - Self.epsilon && alloc[i] >= q - Self.epsilon } ?? false
                waiting[i] = demand[i] > alloc[i] + Self.epsilon
            }
            settingsChanged = false
        }
        for i in groups.indices {
            groups[i].counters.usage += groups[i].allocation * step
            groups[i].counters.demanded += demand[i] * step
            if throttling[i] {
                groups[i].counters.nrThrottled += 1
                groups[i].counters.throttledTime += step
            }
            if waiting[i] { groups[i].counters.pressureTime += step }
        }
        steps += 1
    }

    /// Weighted max-min fair shares of `capacity`: each gets min(cap, weight x level), the
    /// level as high as the capacity allows. Kept apart from the Allocator on purpose: the
    /// simulator stands in for the kernel, and checks the controller rather than sharing code.
    public static func waterFill(capacity: Double, weights: [Double], caps: [Double]) -> [Double] {
        var alloc = [Double](repeating: 0, count: weights.count)
        var active = weights.indices.filter { caps[$0] > 0 && weights[$0] > 0 }
        var left = capacity
        while !active.isEmpty && left > epsilon {
            let total = active.reduce(0) { $0 + weights[$1] }
            let level = left / total
            let saturated = active.filter { caps[$0] <= weights[$0] * level }
            if saturated.isEmpty {
                for i in active { alloc[i] = weights[i] * level }
                break
            }
            for i in saturated {
                alloc[i] = caps[i]
                left -= caps[i]
            }
            active.removeAll { caps[$0] <= weights[$0] * level }
        }
        return alloc
    }

    /// What the agent would observe of each group between `before` and now: usage over the
    /// interval, throttling, pressure share and membership, in the controller's terms.
    public func observations(since before: [GroupName: Counters], interval: Double) -> [Controller.Observation] {
        groups.map { g in
            let b = before[g.name] ?? Counters()
            return Controller.Observation(
                group: g.name,
                usage: (g.counters.usage - b.usage) / interval,
                throttled: g.counters.nrThrottled > b.nrThrottled,
                pressure: min(1, (g.counters.pressureTime - b.pressureTime) / interval),
                hasMembers: hasMembers(g.name))
        }
    }

    public var snapshot: [GroupName: Counters] {
        Dictionary(uniqueKeysWithValues: groups.map { ($0.name, $0.counters) })
    }
}
