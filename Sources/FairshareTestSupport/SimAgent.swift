import FairshareCore
import FairshareEdge

/// The controller loop run against the fluid simulator: every interval of simulated time it
/// observes the last interval, calls `Controller.decide`, writes the decision's cpu.weight and
/// cpu.max into the simulated groups and records a timeline. Before the first decision the
/// groups carry WeightMapping's weights and their ceilings as cpu.max, as the agent sets them
/// when it creates the groups.
public struct SimAgent: Sendable {
    /// How effective weights follow the fairness ledger.
    public enum CreditRule: Sendable, Equatable {
        /// The controller's own decision (factor clamped by max_boost).
        case capped
        /// The contrast: cpu.weight = shares x the ledger's unbounded factor, scaled into
        /// 1...10000 (floors are not applied; cpu.max still comes from the controller).
        case unbounded
    }

    /// One group over one interval.
    public struct GroupInterval: Sendable, Equatable {
        /// CPUs used on average.
        public var usage: Double
        /// CPUs wanted on average.
        public var demand: Double
        /// Share of the interval in which some demand waited.
        public var pressure: Double
        public var throttled: Bool
        public var hasMembers: Bool
        /// cpu.weight and cpu.max (CPUs, nil = max) in force during the interval.
        public var weight: Int
        public var quota: Double?
        /// The decision taken at the end of the interval.
        public var hungry: Bool
        public var allocation: Double
        public var factor: Double
    }

    public struct Interval: Sendable, Equatable {
        public var start: Double
        public var end: Double
        public var groups: [GroupName: GroupInterval]

        public func usage(_ g: GroupName) -> Double { groups[g]?.usage ?? 0 }

        /// `g`'s part (0...1) of the CPU used by `among`.
        public func part(of g: GroupName, among: [GroupName]) -> Double {
            let total = among.reduce(0) { $0 + usage($1) }
            return total > 0 ? usage(g) / total : 0
        }
    }

    public let policy: Policy
    public let interval: Double
    public let credit: CreditRule
    public private(set) var simulator: FluidSimulator
    public private(set) var controller = Controller()
    public private(set) var timeline: [Interval] = []
    public private(set) var lastDecision: Controller.Decision?

    /// `traces` by group name; a policy group without a trace has no members.
    public init(policy: Policy, cpus: Double, traces: [GroupName: DemandTrace], interval: Double? = nil, step: Double = 0.01,
                credit: CreditRule = .capped) {
        self.policy = policy
        self.interval = interval ?? policy.agent.interval.seconds
        self.credit = credit
        simulator = FluidSimulator(cpus: cpus, step: step, groups: policy.groups.map { ($0.name, traces[$0.name] ?? .absent) })
        let weights = WeightMapping.weights(for: Dictionary(uniqueKeysWithValues: policy.groups.map { ($0.name, $0.shares) }))
        for g in policy.groups {
            simulator.setWeight(weights[g.name]!, for: g.name)
            simulator.setQuota(g.ceiling?.cpus(capacity: cpus), for: g.name)
        }
    }

    /// Runs whole intervals until at least `seconds` more simulated time has passed.
    public mutating func run(for seconds: Double) {
        let n = Int((seconds / interval).rounded(.up))
        for _ in 0..<n { runInterval() }
    }

    /// One interval of the fluid, then one decision applied.
    public mutating func runInterval() {
        let start = simulator.now
        let before = simulator.snapshot
        let inForce = Dictionary(uniqueKeysWithValues: simulator.groups.map { ($0.name, ($0.weight, $0.quota)) })
        simulator.run(for: interval)
        let observations = simulator.observations(since: before, interval: interval)
        let decision = controller.decide(policy: policy, observations: observations, capacity: simulator.cpus, interval: interval)
        let weights = credit == .unbounded ? unboundedWeights() : Dictionary(uniqueKeysWithValues: decision.groups.map { ($0.group, $0.cpuWeight) })
        var record = Interval(start: start, end: simulator.now, groups: [:])
        for o in observations {
            let d = decision.decision(for: o.group)!
            let c = simulator.counters(of: o.group)
            record.groups[o.group] = GroupInterval(
                usage: o.usage, demand: (c.demanded - before[o.group]!.demanded) / interval, pressure: o.pressure ?? 0,
                throttled: o.throttled, hasMembers: o.hasMembers, weight: inForce[o.group]!.0, quota: inForce[o.group]!.1,
                hungry: d.hungry, allocation: d.share.allocation, factor: d.factor)
            simulator.setWeight(weights[o.group]!, for: o.group)
            simulator.setQuota(d.cpuMax, for: o.group)
        }
        timeline.append(record)
        lastDecision = decision
    }

    /// cpu.weight under the unbounded-credit rule: shares x the ledger's factor without the
    /// max_boost clamp, on the same whole-number scale as WeightMapping, then scaled down
    /// together so the largest fits 10000.
    func unboundedWeights() -> [GroupName: Int] {
        let k = Double(WeightMapping.factor(for: policy.groups.map(\.shares)))
        let decayed: Bool = if case .decayed = policy.agent.fairness { true } else { false }
        let raw = policy.groups.map { g in
            Double(g.shares.value) * k * (decayed ? controller.ledger.unboundedFactor(for: g.name) : 1)
        }
        let top = raw.max() ?? 1
        let limit = Double(WeightMapping.weightRange.upperBound)
        let scale = top > limit ? limit / top : 1
        var out: [GroupName: Int] = [:]
        for (i, g) in policy.groups.enumerated() {
            out[g.name] = min(max(Int((raw[i] * scale).rounded()), 1), WeightMapping.weightRange.upperBound)
        }
        return out
    }
}
