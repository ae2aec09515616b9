import FairshareCore

/// The shipping decide stage (`Reconciler`) run against the fluid simulator: every interval of
/// simulated time the simulator's counters become an `Observation` (cpu.stat, cpu.pressure,
/// one process per group that has members), the reconciler decides, and its plan's cpu.weight
/// and cpu.max steps are written into the simulated groups (its io.weight steps recorded), each
/// answered `.done`. So every
/// fairness scenario tests the code that ships: nothing of the loop is copied here. As on a
/// real machine the first pass (at time 0) creates the groups with their shares' weights and
/// no cpu.max; the controller decides from the end of the first interval on.
public struct SimAgent: Sendable {
    /// How effective weights follow the fairness ledger.
    public enum CreditRule: Sendable, Equatable {
        /// The reconciler's own plan (factor clamped by max_boost).
        case capped
        /// The contrast: cpu.weight = shares x the ledger's unbounded factor, scaled into
        /// 1...10000 (floors are not applied; cpu.max still comes from the plan).
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
        /// io.weight as the plan last set it (the fluid models no io: recorded so that the
        /// io.weight rule is asserted too).
        public var ioWeight: Int?
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
    public private(set) var reconciler: Reconciler
    public private(set) var timeline: [Interval] = []
    /// Group cgroups that exist in the simulation (created by the plan).
    private var created: Set<GroupName> = []
    /// io.weight per group as the plan last set it.
    public private(set) var ioWeights: [GroupName: IOWeight] = [:]

    static let root = CgroupPath("/fairshare")!

    /// The reconciler's state after the last pass, as it publishes it.
    public var snapshot: ReconcilerSnapshot { reconciler.snapshot }
    public var lastDecision: Controller.Decision? { snapshot.decision }

    /// `traces` by group name; a policy group without a trace has no members.
    public init(policy: Policy, cpus: Double, traces: [GroupName: DemandTrace], interval: Double? = nil, step: Double = 0.01,
                credit: CreditRule = .capped) {
        self.policy = policy
        self.interval = interval ?? policy.agent.interval.seconds
        self.credit = credit
        simulator = FluidSimulator(cpus: cpus, step: step, groups: policy.groups.map { ($0.name, traces[$0.name] ?? .absent) })
        reconciler = Reconciler(policy: policy, classifier: Classifier(policy: policy, agentPID: 0, resolveUser: { _ in nil }, resolveGroup: { _ in nil }),
                                rootPath: Self.root)
        pass()
    }

    /// Runs whole intervals until at least `seconds` more simulated time has passed.
    public mutating func run(for seconds: Double) {
        let n = Int((seconds / interval).rounded(.up))
        for _ in 0..<n { runInterval() }
    }

    /// One interval of the fluid, then one pass of the reconciler.
    public mutating func runInterval() {
        let start = simulator.now
        let before = simulator.snapshot
        let inForce = Dictionary(uniqueKeysWithValues: simulator.groups.map { ($0.name, ($0.weight, $0.quota)) })
        let ioInForce = ioWeights
        simulator.run(for: interval)
        let observations = simulator.observations(since: before, interval: interval)
        pass()
        var record = Interval(start: start, end: simulator.now, groups: [:])
        for o in observations {
            let d = lastDecision?.decision(for: o.group)
            let c = simulator.counters(of: o.group)
            record.groups[o.group] = GroupInterval(
                usage: o.usage ?? 0, demand: (c.demanded - before[o.group]!.demanded) / interval, pressure: o.pressure ?? 0,
                throttled: o.throttled, hasMembers: o.hasMembers, weight: inForce[o.group]!.0, quota: inForce[o.group]!.1,
                ioWeight: ioInForce[o.group]?.value,
                hungry: d?.hungry ?? false, allocation: d?.share.allocation ?? 0, factor: d?.factor ?? 1)
        }
        timeline.append(record)
    }

    /// Observe the simulated kernel, decide, act on it, and hand the outcomes back.
    mutating func pass() {
        let plan = reconciler.decide(observe(), capacity: simulator.cpus, interval: interval)
        var outcomes: [StepOutcome] = []
        for step in plan.steps {
            switch step {
            case .createGroup(let g):
                created.insert(g)
            case .set(let s):
                if let w = s.value.as(CPUWeight.self), credit == .capped { simulator.setWeight(w, for: s.group) }
                if let w = s.value.as(IOWeight.self) { ioWeights[s.group] = w }
                if let v = s.value.as(CPUMax.self) { simulator.setQuota(v.cpus, for: s.group) }
            default:
                break
            }
            outcomes.append(.done)
        }
        reconciler.absorb(plan, outcomes)
        if credit == .unbounded {
            for (g, w) in unboundedWeights() { simulator.setWeight(w, for: g) }
        }
    }

    /// The simulated kernel as the observe stage would read it: the groups' counters, and one
    /// process (pid 1000 + index) in each group that has members now.
    func observe() -> Observation {
        var processes: [ProcessInfo] = []
        var stats: [GroupName: CgroupStats] = [:]
        for (i, g) in simulator.groups.enumerated() where created.contains(g.name) {
            let c = g.counters
            stats[g.name] = CgroupStats(
                cpu: .value(CPUStat(usageUsec: c.usageUsec, nrThrottled: UInt64(c.nrThrottled), throttledUsec: UInt64((c.throttledTime * 1e6).rounded()))),
                io: .value(IOStat()), pressure: .value(PressureStat(someTotalUsec: UInt64((c.pressureTime * 1e6).rounded()))))
            if simulator.hasMembers(g.name) {
                processes.append(ProcessInfo(pid: Int32(1000 + i), startTime: 1, uid: 1000, gid: 1000, comm: "sim", cgroup: Self.root.appending(group: g.name).description))
            }
        }
        return Observation(at: UInt64((simulator.now * 1e9).rounded()), processes: processes, groupCgroups: .value(created), groupStats: stats)
    }

    /// cpu.weight under the unbounded-credit rule: shares x the ledger's factor without the
    /// max_boost clamp, on the same whole-number scale as WeightMapping, then scaled down
    /// together so the largest fits 10000.
    func unboundedWeights() -> [GroupName: CPUWeight] {
        let k = Double(WeightMapping.factor(for: policy.groups.map(\.shares)))
        let decayed: Bool = if case .decayed = policy.agent.fairness { true } else { false }
        let raw = policy.groups.map { g in
            Double(g.shares.value) * k * (decayed ? snapshot.fairness.unboundedFactor(for: g.name) : 1)
        }
        let weights: [CPUWeight] = WeightMapping.scaledIntoRange(raw)
        return Dictionary(uniqueKeysWithValues: zip(policy.groups.map(\.name), weights))
    }
}
