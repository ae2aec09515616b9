import FairshareCore

/// A process of a simulation driven through the policy's rules: who it belongs to (what the
/// rules match) and what it wants. It starts outside the agent's root, in its user's session,
/// and exists while its trace is not nil (once: a trace that ends does not start again).
public struct SimProcess: Sendable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var comm: String
    /// CPUs it could use (1 = one busy thread); nil while it does not exist.
    public var trace: DemandTrace

    public init(pid: Int32, uid: UInt32, gid: UInt32, comm: String = "burn", trace: DemandTrace = .constant(1)) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.comm = comm
        self.trace = trace
    }

    /// The cgroup it starts in, outside the agent's root.
    public var session: String { "/user.slice/user-\(uid).slice/session-1.scope" }
}

/// The shipping decide stage (`Reconciler`) run against the fluid simulator: every interval of
/// simulated time the simulator's counters become an `Observation` (cpu.stat, cpu.pressure and
/// the processes), the reconciler decides, and its plan is carried out on the simulated kernel,
/// each step answered as the kernel would. So every fairness scenario tests the code that ships:
/// nothing of the loop is copied here. As on a real machine the first pass (at time 0) creates
/// the groups with their shares' weights and their max (if any) as cpu.max; the controller
/// decides from the end of the first interval on.
///
/// Two ways to give the groups work:
/// - traces by group: the simulated groups are the policy's (leaves, top level), each with one
///   process in its cgroup while its trace says it has members; the plan's cpu.weight and cpu.max
///   steps are written into them (its io.weight steps recorded), every step answered `.done`.
/// - processes (`SimProcess`): they start outside the root and the policy's rules place them, so
///   nested groups and per_user groups work end to end: the plan's steps are carried out on the
///   simulated tree (mkdir, cgroup.subtree_control, the groups' files, cgroup.procs, rmdir) and
///   answered as the kernel answers them (ENOENT for a file whose controller the parent does not
///   enable, EBUSY for a process moved into a group that enables controllers for its children, or
///   for removing a group still in use). A process matched by a per_user group is moved by the
///   plan to `group/user-UID`, and that simulated cgroup gets its demand. A process outside the
///   root is not simulated: the agent's first pass places each one as it appears (changes of
///   demand are best put on interval boundaries).
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
        /// CPUs each simulated process used on average (with processes only).
        public var processes: [Int32: Double] = [:]

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
    /// The processes, when the simulation runs them (empty with traces by group).
    public let processes: [SimProcess]
    private let runsProcesses: Bool
    /// Group cgroups that exist in the simulation (created by the plan).
    private var created: Set<GroupName> = []
    /// io.weight per group as the plan last set it.
    public private(set) var ioWeights: [GroupName: IOWeight] = [:]
    /// The steps the simulated kernel refused (with processes): what, and why.
    public private(set) var refusals: [String] = []

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
        processes = []
        runsProcesses = false
        simulator = FluidSimulator(cpus: cpus, step: step, groups: policy.groups.map { ($0.name, traces[$0.name] ?? .absent) })
        reconciler = Reconciler(policy: policy, classifier: Classifier(policy: policy, agentPID: 0, resolveUser: { _ in nil }, resolveGroup: { _ in nil }),
                                rootPath: Self.root)
        pass()
    }

    /// `processes` placed by the policy's rules (match them by uid, gid or comm: names are not
    /// resolved). The simulated tree starts empty: the plan makes every cgroup.
    public init(policy: Policy, cpus: Double, processes: [SimProcess], interval: Double? = nil, step: Double = 0.01) {
        precondition(Set(processes.map(\.pid)).count == processes.count && processes.allSatisfy { $0.pid > 1 }, "one pid per process, above 1")
        self.policy = policy
        self.interval = interval ?? policy.agent.interval.seconds
        credit = .capped
        self.processes = processes
        runsProcesses = true
        simulator = FluidSimulator(cpus: cpus, step: step, groups: [])
        for p in processes { simulator.addProcess(pid: p.pid, trace: p.trace) }
        reconciler = Reconciler(policy: policy, classifier: Classifier(policy: policy, agentPID: 0, resolveUser: { _ in nil }, resolveGroup: { _ in nil }),
                                rootPath: Self.root)
        pass()
    }

    /// CPU time the processes of `uid` used so far (seconds).
    public func usage(uid: UInt32) -> Double {
        processes.filter { $0.uid == uid }.reduce(0) { $0 + simulator.process($1.pid).usage }
    }

    /// CPUs the processes of `uid` used on average over one interval.
    public func usage(uid: UInt32, in iv: Interval) -> Double {
        processes.filter { $0.uid == uid }.reduce(0) { $0 + (iv.processes[$1.pid] ?? 0) }
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
        let processesBefore = simulator.processUsage
        simulator.run(for: interval)
        let observations = simulator.observations(since: before, interval: interval)
        // Read before the pass: it may remove groups.
        let after = simulator.snapshot
        let processesAfter = simulator.processUsage
        pass()
        var record = Interval(start: start, end: simulator.now, groups: [:])
        for (pid, used) in processesAfter { record.processes[pid] = (used - (processesBefore[pid] ?? 0)) / interval }
        for o in observations {
            let d = lastDecision?.decision(for: o.group)
            let c = after[o.group]!
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
        let plan = reconciler.decide(runsProcesses ? observeProcesses() : observe(), capacity: simulator.cpus, interval: interval)
        var outcomes: [StepOutcome] = []
        for step in plan.steps {
            if runsProcesses {
                let outcome = carryOut(step)
                if case .failed(let cause, let message) = outcome { refusals.append("\(cause): \(message)") }
                outcomes.append(outcome)
                continue
            }
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

    /// The simulated kernel with processes, as the observe stage would read it: every process that
    /// exists now (in its group's cgroup, or its session outside the root), every group cgroup
    /// (nested ones and users' subgroups included) and their counters.
    func observeProcesses() -> Observation {
        var scan: [ProcessInfo] = []
        for p in processes where simulator.isAlive(p.pid) {
            let cgroup = simulator.process(p.pid).group.map { Self.root.appending(group: $0).description } ?? p.session
            scan.append(ProcessInfo(pid: p.pid, parentPID: 1, startTime: 1, uid: p.uid, gid: p.gid, comm: p.comm, cgroup: cgroup))
        }
        var stats: [GroupName: CgroupStats] = [:]
        for g in simulator.groups {
            let c = g.counters
            stats[g.name] = CgroupStats(
                cpu: .value(CPUStat(usageUsec: c.usageUsec, nrThrottled: UInt64(c.nrThrottled), throttledUsec: UInt64((c.throttledTime * 1e6).rounded()))),
                io: .value(IOStat()), pressure: .value(PressureStat(someTotalUsec: UInt64((c.pressureTime * 1e6).rounded()))))
        }
        return Observation(at: UInt64((simulator.now * 1e9).rounded()), processes: scan, groupCgroups: .value(Set(simulator.groups.map(\.name))),
                           groupStats: stats)
    }

    /// One step of a plan on the simulated tree, answered as the kernel (through the act stage)
    /// answers it.
    mutating func carryOut(_ step: Step) -> StepOutcome {
        func refused(_ errno: String, _ why: String) -> StepOutcome { .failed(cause: errno, message: "simulated kernel: \(why)") }
        switch step {
        case .createGroup(let g):
            if simulator.hasGroup(g) { return .done }
            if let p = g.parent, !simulator.hasGroup(p) { return refused("ENOENT", "mkdir \(g): no parent cgroup") }
            simulator.addGroup(g)
            created.insert(g)
        case .set(let s):
            guard simulator.hasGroup(s.group) else { return .gone }
            if let control = s.value.as(SubtreeControl.self) {
                // No internal processes: controllers go on only in a cgroup without processes,
                // and off only once no child enables them for its own children.
                if control.enabled && simulator.hasLiveProcesses(s.group) { return refused("EBUSY", "\(s.group) holds processes") }
                if !control.enabled && simulator.children(of: s.group).contains(where: { simulator.group($0).childrenHaveCPU }) {
                    return refused("EBUSY", "a child of \(s.group) enables controllers")
                }
                simulator.setCPUController(control.enabled, for: s.group)
                return .done
            }
            // A controller's files exist only where the parent enables it (the root does for its children).
            if let parent = s.group.parent, !simulator.group(parent).childrenHaveCPU {
                return refused("ENOENT", "\(s.file) of \(s.group): \(parent) does not enable the controller")
            }
            if let w = s.value.as(CPUWeight.self) { simulator.setWeight(w, for: s.group) }
            if let w = s.value.as(IOWeight.self) { ioWeights[s.group] = w }
            if let v = s.value.as(CPUMax.self) { simulator.setQuota(v.cpus, for: s.group) }
        case .move(let id, _, let g, _, _):
            guard simulator.isAlive(id.pid) else { return .gone }
            guard simulator.hasGroup(g) else { return .gone }
            if simulator.group(g).childrenHaveCPU { return refused("EBUSY", "\(g) enables controllers for its children") }
            simulator.moveProcess(id.pid, to: g)
        case .restore(let id, _, _, _):
            guard simulator.isAlive(id.pid) else { return .gone }
            simulator.moveProcess(id.pid, to: nil)
        case .removeGroup(let g):
            guard simulator.hasGroup(g) else { return .gone }
            if !simulator.children(of: g).isEmpty || simulator.hasLiveProcesses(g) { return refused("EBUSY", "rmdir \(g): in use") }
            simulator.removeGroup(g)
            created.remove(g)
            ioWeights[g] = nil
        default:
            break
        }
        return .done
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
