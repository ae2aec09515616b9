/// The decide stage: from the policy, one pass's observation and its own state, one ordered
/// plan of writes (memberships, weights, cpu.max, unit properties, the origin ledger). Pure:
/// the act stage carries the plan out and hands the outcomes back through `absorb`, and the
/// state changes only from those outcomes (what was written), never from what was intended.
///
/// Its parts: the Enforcer (memberships), the UsageSampler and Controller (redistribution), the
/// UnitWeightBook (unit-backed groups).
public struct Reconciler: Sendable {
    /// The values in the kernel as far as the outcomes tell: a value is written again only when
    /// the wanted one differs (or the write failed).
    public struct Applied: Sendable, Equatable {
        public var cpuWeight: [GroupName: CPUWeight] = [:]
        public var ioWeight: [GroupName: IOWeight] = [:]
        /// io.bfq.weight as written while BFQ is active; emptied when no disk uses it any more.
        public var bfqWeight: [GroupName: BFQWeight] = [:]
        public var cpuMax: [GroupName: CPUMax] = [:]
        /// cpu.idle as written (a new cgroup starts at 0); nil = not known (after a restart).
        public var cpuIdle: [GroupName: Bool] = [:]
        /// The kernel has no cpu.idle (before Linux 5.15): idle groups run as ordinary groups
        /// with the smallest weight (their cpu.idle write is still tried, and reported failing).
        public var kernelLacksCPUIdle = false

        mutating func forget(_ g: GroupName) {
            cpuWeight[g] = nil
            ioWeight[g] = nil
            bfqWeight[g] = nil
            cpuMax[g] = nil
            cpuIdle[g] = nil
        }
    }

    public private(set) var policy: Policy
    public private(set) var classifier: Classifier
    public private(set) var enforcer: Enforcer
    public private(set) var controller = Controller()
    public private(set) var sampler = UsageSampler()
    public private(set) var unitBook = UnitWeightBook()
    public private(set) var applied = Applied()
    /// The group cgroups under the root: the last listing, kept up to date by the outcomes of
    /// creations and removals (it stands in when the root can not be listed).
    public private(set) var knownGroups: Set<GroupName> = []
    /// The controller's last decision (nil before the first interval with rates, and after a
    /// reload until the next one).
    public private(set) var lastDecision: Controller.Decision?
    /// The running units of the unit-backed groups, as systemd listed them last.
    public private(set) var listedUnits: [UnitInfo] = []
    /// False until systemd has listed the units of the policy's unit-backed groups: until then
    /// no process is moved, so none is taken out of a unit the agent does not know yet.
    public private(set) var unitsKnown = false
    public private(set) var unitCgroups = UnitCgroups.none
    /// The origin ledger as last written successfully.
    public private(set) var recordedLedger: OriginLedger.Contents
    /// The rules' verdicts per process, so unchanged processes are not matched again each pass.
    public private(set) var classificationCache = ClassificationCache()
    /// Processes per unit-backed group, as the last scan found them.
    public private(set) var unitMembers: [GroupName: Int] = [:]
    /// Whether the rules' verdicts are kept between scans (`classificationCache`). With kernel
    /// events the scans are rare and the cache would be per-process state for nothing.
    public var keepsVerdicts = true
    /// The disks as last read (nil before the first reading): whether io.bfq.weight is written.
    public private(set) var disks: IODisks?
    /// When the last observation was taken.
    private var observedAt: UInt64 = 0

    /// - Parameters:
    ///   - rootPath: the managed root relative to the cgroup2 mount ("/fairshare", "/" for the mount).
    ///   - recorded: the origin ledger an earlier run left: its processes are adopted where they
    ///     are and go back where it says; a unit's weights read now would be the ones that run
    ///     gave it, so its recorded originals stand.
    public init(policy: Policy, classifier: Classifier, rootPath: CgroupPath, recorded: OriginLedger.Contents? = nil) {
        self.policy = policy
        self.classifier = classifier
        self.enforcer = Enforcer(root: rootPath)
        self.recordedLedger = recorded ?? OriginLedger.Contents()
        if let recorded {
            enforcer.seed(recorded.members)
            for (unit, weights) in recorded.unitOriginals { unitBook.noteOriginal(unit, weights) }
        }
    }

    /// A new, valid policy takes over. The last decision's effective weights belong to the old
    /// shares: the new policy's weights apply at once and the controller adjusts from there.
    public mutating func replacePolicy(_ next: Policy, classifier: Classifier) {
        if next.unitPatterns != policy.unitPatterns {
            // Units the old listing did not cover may now be unit-backed: none is moved until
            // systemd has listed them.
            unitsKnown = false
        }
        var classifier = classifier
        classifier.units = unitCgroups
        self.policy = next
        self.classifier = classifier
        lastDecision = nil
    }

    // MARK: Decide

    /// One pass's plan.
    /// - Parameters:
    ///   - capacity: CPUs available to the root.
    ///   - interval: the pass interval in seconds (used when no rate says how long it was).
    public mutating func decide(_ o: Observation, capacity: Double, interval: Double) -> Plan {
        observedAt = o.at
        takeUnits(o.units)
        if let listing = o.groupCgroups.value { knownGroups = listing }
        takeDisks(o.disks)
        let existing = existingGroups(o)

        var membership: [Step]
        if let processes = o.processes {
            enforcer.forget(allBut: Set(processes.map(\.identity)))
            enforcer.forgetStrays(processes)
            unitMembers = unitMemberCounts(processes)
            if keepsVerdicts {
                membership = enforcer.plan(policy: policy, classifier: classifier, processes: processes, existingGroups: existing,
                                           cache: &classificationCache)
            } else {
                var once = ClassificationCache()
                membership = enforcer.plan(policy: policy, classifier: classifier, processes: processes, existingGroups: existing, cache: &once)
            }
        } else {
            membership = enforcer.creations(policy: policy, existingGroups: existing) + enforcer.removals(policy: policy, existingGroups: existing)
        }
        if !unitsKnown { membership.removeAll(where: \.isMove) }
        let creating = Set(membership.compactMap { if case .createGroup(let g) = $0 { g } else { nil } })

        sample(o)
        if let decision = control(o, hasMembers: memberCounts(after: membership), capacity: capacity, interval: interval) {
            lastDecision = decision
        }

        var steps = membership.filter { if case .createGroup = $0 { true } else { false } }
        steps += weightSteps(present: existing.union(creating), creating: creating, capacity: capacity)
        steps += membership.filter { if case .createGroup = $0 { false } else { true } }
        if o.units.unreachable == nil {
            steps += unitBook.plan(desired: unitCgroups.placements, weights: unitWeights())
        }
        let intended = OriginLedger.Contents(members: enforcer.membersAfterMoves(steps), unitOriginals: unitBook.originals)
        if intended != recordedLedger { steps.insert(.recordOrigins(intended), at: 0) }
        return Plan(steps)
    }

    /// The plan for what kernel events reported between passes: memberships only (no sampling,
    /// no weights). Exited processes are forgotten; the changed ones are classified again and
    /// moved, adopted or given back at once. A move into a group that does not exist (yet) waits
    /// for the next pass, which creates it. The ledger is written ahead of any move.
    public mutating func decideChanges(_ changes: ProcessChanges) -> Plan {
        for pid in changes.exited { enforcer.forget(pid: pid) }
        // Verdicts of a handful of processes that just changed: nothing to remember them for.
        var verdicts = ClassificationCache()
        var steps = enforcer.membershipSteps(policy: policy, classifier: classifier, processes: changes.changed, cache: &verdicts)
        steps.removeAll { step in
            guard case .move(_, _, let g, _, _) = step else { return false }
            return !unitsKnown || !knownGroups.contains(g)
        }
        if steps.contains(where: \.isMove) {
            let intended = OriginLedger.Contents(members: enforcer.membersAfterMoves(steps), unitOriginals: unitBook.originals)
            if intended != recordedLedger { steps.insert(.recordOrigins(intended), at: 0) }
        }
        return Plan(steps)
    }

    /// The root's children as listed; when the listing failed, the groups known from earlier
    /// listings and outcomes, the policy's own groups (assumed present: none is created blindly)
    /// and any group a process was seen in.
    func existingGroups(_ o: Observation) -> Set<GroupName> {
        if let listing = o.groupCgroups.value { return listing }
        var groups = knownGroups.union(policy.agentGroups.map(\.name))
        for p in o.processes ?? [] {
            if let g = enforcer.managedGroup(ofCgroup: p.cgroup).flatMap(GroupName.init) { groups.insert(g) }
        }
        return groups
    }

    /// A new reading of the disks replaces the last. Once no disk uses BFQ the weights written
    /// for it are forgotten: a disk switched to BFQ later gets them written again.
    mutating func takeDisks(_ reading: Reading<IODisks>?) {
        // Not read this pass, or unreadable: the last good reading stands.
        guard let reading = reading?.value else { return }
        disks = reading
        if !reading.bfqActive { applied.bfqWeight = [:] }
    }

    /// systemd's listing, when there is one, replaces the last; otherwise the last stays in force.
    mutating func takeUnits(_ u: UnitsObservation) {
        if policy.unitPatterns.isEmpty {
            listedUnits = []
            unitsKnown = true
        } else if let listing = u.listing.value {
            listedUnits = listing
            unitsKnown = true
        }
        for (unit, reading) in u.originals {
            if let weights = reading.value { unitBook.noteOriginal(unit, weights) }
        }
        let placements = UnitPlacement.assign(units: listedUnits.map { ($0.name, $0.controlGroup) }, policy: policy)
        // The agent's subtree is no unit's (with the mount itself as root, its groups are
        // top-level cgroups, beside systemd's slices: nothing to exclude).
        unitCgroups = UnitCgroups(placements: placements, excluded: enforcer.root.isRoot ? nil : enforcer.root.description)
        classifier.units = unitCgroups
    }

    /// Counters into rates. A group whose cpu.stat could not be read has no rate this interval
    /// (never a zero); its io or pressure alone missing leaves those out of the rate.
    mutating func sample(_ o: Observation) {
        for g in policy.agentGroups {
            guard let stats = o.groupStats[g.name] else { continue }
            if let cpu = stats.cpu.value {
                sampler.record(g.name, .init(cpu: cpu, io: stats.io.value, pressure: stats.pressure.value, at: o.at))
            } else {
                sampler.forget(g.name)
            }
        }
        for g in policy.unitGroups {
            var parts: [(key: String, sample: UsageSampler.Sample)] = []
            for p in unitCgroups.placements(of: g.name) {
                guard let stats = o.units.stats[p.unit], let cpu = stats.cpu.value else { continue }
                parts.append((p.unit, .init(cpu: cpu, io: stats.io.value, pressure: stats.pressure.value, at: o.at)))
            }
            sampler.record(g.name, parts: parts, at: o.at)
        }
    }

    /// The controller's decision for the interval, or nil while no group has a rate yet.
    mutating func control(_ o: Observation, hasMembers: [GroupName: Int], capacity: Double, interval: Double) -> Controller.Decision? {
        // Unit-backed groups take no part: systemd owns their cgroups (Controller.decide).
        let present = policy.agentGroups.filter { sampler.rates[$0.name] != nil }
        guard !present.isEmpty else { return nil }
        let seconds = present.compactMap { sampler.rates[$0.name]?.seconds }.max() ?? interval
        let observations = policy.agentGroups.map { g -> Controller.Observation in
            // No rate (cpu.stat unreadable, or the group's first interval): usage unknown, not 0.
            let r = sampler.rates[g.name]
            return Controller.Observation(group: g.name, usage: r?.cpus, throttled: (r?.throttledIncrease ?? 0) > 0, pressure: r?.pressure,
                                          hasMembers: (hasMembers[g.name] ?? 0) > 0)
        }
        return controller.decide(policy: policy, observations: observations, capacity: capacity, interval: seconds, inForce: applied.cpuMax)
    }

    /// What an agent group's cgroup should hold: the controller's values where it decided, else
    /// the shares' weights and the group's max as its cpu.max (so a capped group is capped from
    /// its first moment). The one rule behind the weight steps and `fairshare plan`'s "after".
    struct WantedValues: Equatable {
        /// nil while cpu.idle = 1 holds: the kernel refuses cpu.weight then (EINVAL).
        var cpuWeight: CPUWeight?
        var ioWeight: IOWeight
        /// io.bfq.weight: the io shares on BFQ's range, times the same fairness factor as io.weight.
        var bfqWeight: BFQWeight
        var cpuMax: CPUMax
        /// The weight the shares alone give (the smallest for an idle group).
        var ownCPUWeight: Int
    }

    /// - Parameters: `cpuWeights`, `ioWeights`: the policy's (`cpuWeights()`, `ioWeights()`,
    ///   computed once by the caller for all groups); `bfqWeights`: `bfqWeights().weights`.
    static func wanted(_ g: GroupPolicy, decision d: Controller.GroupDecision?, cpuWeights: [GroupName: CPUWeight],
                       ioWeights: [GroupName: IOWeight], bfqWeights: [GroupName: BFQWeight], capacity: Double,
                       kernelLacksCPUIdle: Bool) -> WantedValues {
        // An idle group has no weight: cpu.idle = 1 comes first and cpu.weight is never
        // written while it holds. Without cpu.idle in the kernel it runs as an ordinary group
        // with the smallest weight, the nearest there is.
        let idleInKernel = g.idle && !kernelLacksCPUIdle
        let own = g.idle ? CPUWeight.range.lowerBound : cpuWeights[g.name]!.value
        return WantedValues(cpuWeight: idleInKernel ? nil : (d?.cpuWeight ?? CPUWeight(own)!), ioWeight: d?.ioWeight ?? ioWeights[g.name]!,
                            bfqWeight: BFQWeight(clamping: Double(bfqWeights[g.name]!.value) * (d?.factor ?? 1)),
                            cpuMax: d?.cpuMaxValue ?? CPUMax(cpus: g.ceiling?.cpus(capacity: capacity)), ownCPUWeight: own)
    }

    /// The weights, cpu.idle and cpu.max (`wanted`) for every agent group that exists or is
    /// being created, where they differ from what is applied.
    func weightSteps(present: Set<GroupName>, creating: Set<GroupName>, capacity: Double) -> [Step] {
        let cpu = policy.cpuWeights()
        let io = policy.ioWeights()
        let bfq = policy.bfqWeights().weights
        let bfqActive = disks?.bfqActive ?? false
        var weights: [Step] = []
        var limits: [Step] = []
        for g in policy.agentGroups where present.contains(g.name) {
            let want = Self.wanted(g, decision: lastDecision?.decision(for: g.name), cpuWeights: cpu, ioWeights: io, bfqWeights: bfq, capacity: capacity,
                                   kernelLacksCPUIdle: applied.kernelLacksCPUIdle)
            // The shares' own weights are told loudly; the controller's departures from them quietly.
            let source: WeightSource = (want.cpuWeight == nil || want.cpuWeight!.value == want.ownCPUWeight) && want.ioWeight == io[g.name]!
                ? .shares : .controller
            var idleStep = false
            // Without cpu.idle in the kernel an ordinary group is what it should be; an idle one
            // keeps trying, so the failure stays listed while it lasts.
            if applied.cpuIdle[g.name] != g.idle, g.idle || !applied.kernelLacksCPUIdle {
                weights.append(.setCPUIdle(g.name, g.idle))
                idleStep = true
            }
            // Leaving idle resets the kernel's weight to the default: write the wanted one after.
            if let wantCPU = want.cpuWeight, applied.cpuWeight[g.name] != wantCPU || (idleStep && !g.idle) {
                weights.append(.setCPUWeight(g.name, wantCPU, source))
            }
            if applied.ioWeight[g.name] != want.ioWeight { weights.append(.setIOWeight(g.name, want.ioWeight, source)) }
            if bfqActive, applied.bfqWeight[g.name] != want.bfqWeight { weights.append(.setBFQWeight(g.name, want.bfqWeight)) }
            // A cgroup being created starts without a limit.
            let inForce = creating.contains(g.name) ? CPUMax.unlimited : applied.cpuMax[g.name]
            if inForce != want.cpuMax { limits.append(.setCPUMax(g.name, want.cpuMax)) }
        }
        return weights + limits
    }

    /// Unit-backed groups' weights: the shares on the same scale as the agent's groups.
    func unitWeights() -> [GroupName: UnitWeights] {
        let cpu = policy.cpuWeights()
        let io = policy.ioWeights()
        var weights: [GroupName: UnitWeights] = [:]
        for g in policy.unitGroups { weights[g.name] = UnitWeights(cpu: cpu[g.name]?.value, io: io[g.name]?.value) }
        return weights
    }

    /// Members per agent group (once `steps` are done: the controller's "has members"), plus
    /// the processes in each unit-backed group's units (as the last scan found them).
    public func memberCounts(after steps: [Step] = []) -> [GroupName: Int] {
        enforcer.memberCounts(after: steps).merging(unitMembers) { _, units in units }
    }

    /// Processes per unit-backed group: those in its units' cgroups.
    func unitMemberCounts(_ processes: [ProcessInfo]) -> [GroupName: Int] {
        guard !unitCgroups.placements.isEmpty else { return [:] }
        var counts: [GroupName: Int] = [:]
        for p in processes where !p.isKernelThread {
            if let u = unitCgroups.placement(containing: p.cgroup) { counts[u.group, default: 0] += 1 }
        }
        return counts
    }

    // MARK: Shutdown

    /// Gives every process in a group back to where it came from, removes the groups, and gives
    /// every unit its own weights back.
    public mutating func planRelease(_ o: Observation) -> Plan {
        let processes = o.processes ?? []
        enforcer.forget(allBut: Set(processes.map(\.identity)))
        let groups = existingGroups(o).union(knownGroups)
        return Plan(enforcer.planRelease(processes: processes, existingGroups: groups) + unitBook.planRestoreAll())
    }

    /// The ledger write that brings the file in line with the memberships as the outcomes left
    /// them (after a shutdown's give-back: nothing, or what could not be given back).
    public func ledgerUpdate() -> Plan {
        let current = OriginLedger.Contents(members: enforcer.members, unitOriginals: unitBook.originals)
        return current == recordedLedger ? Plan() : Plan([.recordOrigins(current)])
    }

    // MARK: Outcomes

    /// Learns from what the act stage did: the only way the state changes after a plan.
    public mutating func absorb(_ plan: Plan, _ outcomes: [StepOutcome]) {
        precondition(plan.steps.count == outcomes.count, "one outcome per step")
        for (step, outcome) in zip(plan.steps, outcomes) {
            switch (step, outcome) {
            case (.recordOrigins(let contents), .done):
                recordedLedger = contents
            case (.createGroup(let g), .done):
                knownGroups.insert(g)
                applied.forget(g)
                applied.cpuMax[g] = .unlimited
                applied.cpuIdle[g] = false
                // A new cgroup's counters start at zero: the first rate comes from the next pass.
                sampler.forget(g)
                sampler.record(g, .init(cpu: CPUStat(), io: IOStat(), pressure: PressureStat(someTotalUsec: 0), at: observedAt))
            case (.setCPUWeight(let g, let w, _), .done):
                applied.cpuWeight[g] = w
            case (.setCPUIdle(let g, let idle), .done):
                applied.cpuIdle[g] = idle
                // The kernel set the weight itself (minimal while idle, the default after).
                applied.cpuWeight[g] = nil
            case (.setCPUIdle, .failed(let cause, _)) where cause == Step.noCPUIdleCause:
                // Before Linux 5.15: no group can be idle, so every group already is what a
                // non-idle one should be; an idle one falls back to the smallest weight.
                applied.kernelLacksCPUIdle = true
            case (.setIOWeight(let g, let w, _), .done):
                applied.ioWeight[g] = w
            case (.setBFQWeight(let g, let w), .done):
                applied.bfqWeight[g] = w
            case (.setCPUMax(let g, let v), .done):
                applied.cpuMax[g] = v
            case (.setCPUWeight(let g, _, _), .gone), (.setIOWeight(let g, _, _), .gone), (.setBFQWeight(let g, _), .gone), (.setCPUMax(let g, _), .gone), (.setCPUIdle(let g, _), .gone):
                // The group vanished behind our back: created again next pass.
                knownGroups.remove(g)
                applied.forget(g)
            case (.removeGroup(let g), .done), (.removeGroup(let g), .gone):
                knownGroups.remove(g)
                applied.forget(g)
                sampler.forget(g)
            case (.move, _), (.adopt, _), (.restore, _):
                enforcer.record(step, outcome)
            case (.setUnitWeights, _), (.restoreUnitWeights, _):
                unitBook.record(step, outcome)
            default:
                break
            }
        }
    }
}
