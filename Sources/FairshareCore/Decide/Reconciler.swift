/// The decide stage: from the policy, one pass's observation and its own state, one ordered
/// plan of writes (memberships, the groups' cgroup files, unit properties, the origin ledger).
/// Pure: the act stage carries the plan out and hands the outcomes back through `absorb`, and the
/// state changes only from those outcomes (what was written), never from what was intended.
///
/// Its state is its own: the other stages read the `snapshot` it publishes (status, metrics, the
/// simulator), ask it one question (`member(pid:)`, `explain`), or ask it what a new policy
/// would do (`preview`, which runs this same `decide` on a copy).
///
/// Its parts: the Enforcer (memberships), the UsageSampler and Controller (redistribution), the
/// GroupFiles table (what each group's cgroup files should hold), the UnitWeightBook
/// (unit-backed groups).
public struct Reconciler: Sendable {
    private(set) public var policy: Policy
    /// The policy's groups with the users of its per_user groups as child groups, as the last
    /// plan left them: what the controller, the group files and the sampler work on.
    private var tree: Policy
    /// The groups `tree` was built from (nil: build it again), and what is derived from it once
    /// per tree rather than once per pass: a pass with many users rebuilds nothing while they
    /// stay the same.
    private var treeSource: Set<GroupName>?
    /// Counts the trees built: what is derived from the tree elsewhere is derived again only
    /// when it changes (the Reporter's user names).
    private var treeRevision = 0
    private var treeLayout: GroupLayout
    /// The names of the tree's agent groups.
    private var treeGroups: Set<GroupName>
    private var treeWeights: ShareWeights
    /// The policy's own layout (which groups hold processes, which are per_user).
    private var layout: GroupLayout
    /// The users' subgroups among `knownGroups` (`slotsSource`), for the event passes.
    private var slotsSource: Set<GroupName>?
    private var knownSlots = UserSlots(existing: [], layout: GroupLayout(Policy(groups: [])))
    /// Groups whose files were found in line with their rules, with the inputs the rules had
    /// then: the same inputs give the same (empty) steps, so their rows are not evaluated again.
    /// By position in the tree's groups (it is cleared with every new tree).
    private var settled: [SettledInputs?] = []
    /// The inputs every group's rows share, as `settled` was filled with: when one changes, no
    /// group is settled (compared once a pass rather than once a group).
    private var settledShared: SharedInputs?
    private var classifier: Classifier
    private var enforcer: Enforcer
    private var controller = Controller()
    private var sampler = UsageSampler()
    private var unitBook = UnitWeightBook()
    private var applied = AppliedSettings()
    /// `applied`'s cpu.max values as of its revision (`control`).
    private var cpuMaxInForce: (revision: UInt64, values: [GroupName: CPUMax])?
    /// The group cgroups under the root: the last listing, kept up to date by the outcomes of
    /// creations and removals (it stands in when the root can not be listed).
    private var knownGroups: Set<GroupName> = []
    /// The controller's last decision (nil before the first interval with rates, and after a
    /// reload until the next one).
    private var lastDecision: Controller.Decision?
    /// The running units of the unit-backed groups, as systemd listed them last.
    private var listedUnits: [UnitInfo] = []
    /// False until systemd has listed the units of the policy's unit-backed groups: until then
    /// no process is moved, so none is taken out of a unit the agent does not know yet.
    private var unitsKnown = false
    private var unitCgroups = UnitCgroups.none
    /// The origin ledger as last written successfully.
    private var recordedLedger: OriginLedger.Contents
    /// The rules' verdicts per process, so unchanged processes are not matched again each pass.
    private var classificationCache = ClassificationCache()
    /// Processes per unit-backed group, as the last scan found them.
    private var unitMembers: [GroupName: Int] = [:]
    /// Whether the rules' verdicts are kept between scans. With kernel events the scans are rare
    /// and the cache would be per-process state for nothing.
    public var keepsVerdicts = true
    /// The disks as last read (nil before the first reading): whether io.bfq.weight is written.
    private var disks: IODisks?
    /// When the last observation was taken.
    private var observedAt: UInt64 = 0
    /// The demand `fairshare plan` estimated, when this is a preview's copy, and the decision
    /// it estimates from (the one in force before the new policy replaced it).
    private var estimate: DemandEstimate?
    private var decisionInForce: Controller.Decision?
    /// The capacity of the last pass (what a subgroup made between passes is capped against).
    private var lastCapacity: Double = 1

    /// - Parameters:
    ///   - rootPath: the managed root relative to the cgroup2 mount ("/fairshare", "/" for the mount).
    ///   - recorded: the origin ledger an earlier run left: its processes are adopted where they
    ///     are and go back where it says; a unit's weights read now would be the ones that run
    ///     gave it, so its recorded originals stand.
    public init(policy: Policy, classifier: Classifier, rootPath: CgroupPath, recorded: OriginLedger.Contents? = nil) {
        self.policy = policy
        self.tree = policy
        self.layout = GroupLayout(policy)
        self.treeLayout = layout
        self.treeGroups = Set(policy.agentGroups.map(\.name))
        self.treeWeights = ShareWeights(policy)
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
        layout = GroupLayout(next)
        treeSource = nil
        slotsSource = nil
        buildTree(from: knownGroups)
        lastDecision = nil
    }

    // MARK: What the other stages read

    /// The state as the last outcomes left it: what status, metrics and the simulator read.
    public var snapshot: ReconcilerSnapshot {
        ReconcilerSnapshot(policy: policy, tree: tree, treeRevision: treeRevision, memberCounts: memberCounts(), rates: sampler.rates, counters: sampler.last, applied: applied,
                           decision: lastDecision, fairness: controller.ledger, unitCgroups: unitCgroups, unitsKnown: unitsKnown,
                           unitOriginals: unitBook.originals, disks: disks, knownGroups: knownGroups,
                           ruleEvaluations: classificationCache.ruleEvaluations)
    }

    /// Every process the agent keeps in a group, and its membership.
    public var members: [ProcessIdentity: Enforcer.Membership] { enforcer.members }

    /// The membership of the process with this pid, if it is a member (one lookup: an event about
    /// one pid costs no walk of the members).
    public func member(pid: Int32) -> Enforcer.Membership? {
        enforcer.member(pid: pid)
    }

    /// Which group a process falls in and why, with its membership (`fairshare explain`).
    public func explain(_ p: ProcessInfo) -> (verdict: Classifier.Verdict, membership: Enforcer.Membership?) {
        let member = enforcer.members[p.identity]
        return (classifier.classify(p, originCgroup: member?.origin ?? p.cgroup), member)
    }

    // MARK: Decide

    /// Where the controller's demand comes from: measured rates (a pass), or the estimate of
    /// where processes go under a new policy (`preview`).
    enum Demand { case measured, estimated }

    /// One pass's plan.
    /// - Parameters:
    ///   - capacity: CPUs available to the root.
    ///   - interval: the pass interval in seconds (used when no rate says how long it was).
    public mutating func decide(_ o: Observation, capacity: Double, interval: Double) -> Plan {
        decide(o, capacity: capacity, interval: interval, demand: .measured)
    }

    mutating func decide(_ o: Observation, capacity: Double, interval: Double, demand: Demand) -> Plan {
        let previousObservation = observedAt
        observedAt = o.at
        takeUnits(o.units)
        if let listing = o.groupCgroups.value { knownGroups = listing }
        takeDisks(o.disks)
        let existing = existingGroups(o)
        lastCapacity = capacity

        var membership: [Step]
        if let scan = o.processScan?.value {
            let processes = scan.processes
            // A process that could not be read keeps its membership as it is: it is neither
            // forgotten nor classified until it can be read.
            enforcer.forget(allBut: Set(processes.map(\.identity)), keepingPIDs: scan.unreadable)
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
            // No scan this pass (kernel events keep the memberships), or /proc could not be read:
            // every membership stays as it is.
            membership = enforcer.creations(policy: policy, existingGroups: existing) + enforcer.removals(policy: policy, existingGroups: existing)
        }
        if !unitsKnown { membership.removeAll(where: \.isMove) }
        let creating = Set(membership.compactMap { if case .createGroup(let g) = $0 { g } else { nil } })
        let removing = Set(membership.compactMap { if case .removeGroup(let g) = $0 { g } else { nil } })
        buildTree(from: existing.union(creating).subtracting(removing))

        sample(o, previous: previousObservation)
        let hasMembers = memberCounts(after: membership)
        if demand == .estimated, let processes = o.processes {
            estimate = Self.estimate(processes, membership, enforcer: enforcer, rates: sampler.rates, last: decisionInForce)
        }
        if let decision = control(o, hasMembers: hasMembers, capacity: capacity, interval: interval) {
            lastDecision = decision
        }

        var steps = membership.filter { if case .createGroup = $0 { true } else { false } }
        steps += settingSteps(present: existing.union(creating), creating: creating, capacity: capacity)
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
        // The users' subgroups as known, worked out again only when the groups changed: every
        // batch of events (a shell's every command is one) comes here.
        if slotsSource != knownGroups {
            slotsSource = knownGroups
            knownSlots = UserSlots(existing: knownGroups, layout: layout)
        }
        var users = knownSlots
        var steps = enforcer.membershipSteps(policy: policy, classifier: classifier, processes: changes.changed, users: &users,
                                             cache: &verdicts)
        // A user met for the first time gets their subgroup now, with its files, so that their
        // process is placed (and held to user_max) without waiting for the pass; a subgroup of a
        // group that does not exist yet waits for the pass, which creates the group.
        let creating = Set(users.added.filter { g in g.parent.map(knownGroups.contains) ?? false })
        steps.removeAll { step in
            guard case .move(_, _, let g, _, _) = step else { return false }
            return !unitsKnown || !(knownGroups.contains(g) || creating.contains(g))
        }
        let needed = Set(steps.compactMap { step -> GroupName? in if case .move(_, _, let g, _, _) = step { g } else { nil } }).intersection(creating)
        if !needed.isEmpty {
            buildTree(from: knownGroups.union(needed))
            steps = needed.sorted().map(Step.createGroup) + settingSteps(present: needed, creating: needed, capacity: lastCapacity) + steps
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
    private func existingGroups(_ o: Observation) -> Set<GroupName> {
        if let listing = o.groupCgroups.value { return listing }
        var groups = knownGroups.union(policy.agentGroups.map(\.name))
        for p in o.processes ?? [] {
            if let g = enforcer.group(ofCgroup: p.cgroup) { groups.insert(g) }
        }
        return groups
    }

    /// The tree with the users' subgroups among `groups`, built again only when they changed
    /// (and after a reload), with what is derived from it.
    private mutating func buildTree(from groups: Set<GroupName>) {
        guard groups != treeSource else { return }
        treeSource = groups
        treeRevision += 1
        tree = policy.withUsers(layout.userNodes(among: groups), userShares: classifier.userShares)
        treeLayout = GroupLayout(tree)
        treeGroups = Set(tree.agentGroups.map(\.name))
        treeWeights = ShareWeights(tree)
        settled = []
        settledShared = nil
    }

    /// A new reading of the disks replaces the last. Once no disk uses BFQ the weights written
    /// for it are forgotten: a disk switched to BFQ later gets them written again.
    private mutating func takeDisks(_ reading: Reading<IODisks>?) {
        // Not read this pass, or unreadable: the last good reading stands.
        guard let reading = reading?.value else { return }
        disks = reading
        if !reading.bfqActive { applied.forget(.ioBFQWeight) }
    }

    /// systemd's listing, when there is one, replaces the last; otherwise the last stays in force.
    private mutating func takeUnits(_ u: UnitsObservation) {
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
    /// A user's subgroup the observation does not name was quiet and not read this pass: its
    /// counters stand as last read (no new sample, its rate stays), and once read again its rate
    /// is measured from the pass before (`restate`).
    /// - Parameter previous: when the pass before was observed.
    private mutating func sample(_ o: Observation, previous: UInt64) {
        for (g, stats) in o.groupStats where treeGroups.contains(g) {
            if let cpu = stats.cpu.value {
                if previous > 0, treeLayout.perUserGroup(of: g) != nil { sampler.restate(g, unchangedUntil: previous) }
                sampler.record(g, .init(cpu: cpu, io: stats.io.value, pressure: stats.pressure.value, at: o.at))
            } else {
                sampler.forget(g)
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

    /// The controller's decision for the interval, or nil while no group has a rate yet (and no
    /// estimate stands in for the rates).
    private mutating func control(_ o: Observation, hasMembers: [GroupName: Int], capacity: Double, interval: Double) -> Controller.Decision? {
        // Unit-backed groups take no part: systemd owns their cgroups (Controller.decide).
        let groups = tree.agentGroups
        let observations: [Controller.Observation]
        var seconds = sampler.rates.values.map(\.seconds).max() ?? interval
        if let estimate {
            guard !groups.isEmpty else { return nil }
            observations = groups.map { estimate.observation($0.name, hasMembers: (hasMembers[$0.name] ?? 0) > 0) }
            if seconds <= 0 { seconds = interval }
        } else {
            // One walk, no group copied: a rate's interval is the longest of those measured.
            var measured: Double?
            var list: [Controller.Observation] = []
            list.reserveCapacity(groups.count)
            for i in groups.indices {
                let name = groups[i].name
                // No rate (cpu.stat unreadable, or the group's first interval): usage unknown, not 0.
                let r = sampler.rates[name]
                if let r { measured = max(measured ?? r.seconds, r.seconds) }
                list.append(Controller.Observation(group: name, usage: r?.cpus, throttled: (r?.throttledIncrease ?? 0) > 0, pressure: r?.pressure,
                                                   hasMembers: (hasMembers[name] ?? 0) > 0))
            }
            guard let measured else { return nil }
            seconds = measured
            observations = list
        }
        // Every group's cpu.max in force, gathered again only when a value changed.
        if cpuMaxInForce?.revision != applied.revision { cpuMaxInForce = (applied.revision, applied.values(of: .cpuMax, as: CPUMax.self)) }
        return controller.decide(policy: tree, observations: observations, capacity: capacity, interval: seconds,
                                 inForce: cpuMaxInForce?.values ?? [:], ioWeights: treeWeights.io)
    }

    /// Every group file (`GroupFiles`) of every agent group that exists or is being created, where
    /// the row's rule wants a value other than the one in force: the weights phase of every group,
    /// then the limits phase. A file the kernel resets is written again after the file that reset
    /// it; a bounded file goes before its bound when its new value fits the bound in force.
    private mutating func settingSteps(present: Set<GroupName>, creating: Set<GroupName>, capacity: Double) -> [Step] {
        let bfqActive = disks?.bfqActive ?? false
        var phases: [GroupFile.Phase: [Step]] = [:]
        let groups = tree.agentGroups
        // The decisions are in the tree's order: a group's is found by position when it is there.
        let decided = lastDecision?.groups ?? []
        let shared = SharedInputs(capacity: capacity, kernelLacks: applied.kernelLacks, bfqActive: bfqActive)
        if settled.count != groups.count || settledShared != shared {
            settled = [SettledInputs?](repeating: nil, count: groups.count)
            settledShared = shared
        }
        for i in groups.indices where present.contains(groups[i].name) {
            let name = groups[i].name
            let decision = i < decided.count && decided[i].group == name ? decided[i] : lastDecision?.decision(for: name)
            let inputs = SettledInputs(decision: decision, revision: applied.revision(of: name))
            let isNew = !creating.isEmpty && creating.contains(name)
            if !isNew, settled[i] == inputs { continue }
            let g = groups[i]
            var context = SettingContext(group: g, isInterior: treeLayout.interior.contains(g.name), decision: decision,
                                         weights: treeWeights, capacity: capacity, kernelLacks: applied.kernelLacks, bfqActive: bfqActive)
            var reset: Set<ControlFile> = []
            var groupSteps: [GroupFile.Phase: [GroupSetting]] = [:]
            for row in GroupFiles.all {
                guard let want = row.rule(context) else { continue }
                context.wanted[row.file] = want.value
                if case .kernelLacks(let harmless, _) = row.absence, applied.kernelLacks.contains(row.file), want.value.fileText == harmless {
                    continue  // what the group holds anyway on this kernel
                }
                let inForce = isNew ? (row.assumedAtCreation ? row.kernelDefault : nil) : applied.value(row.file, of: g.name)
                guard inForce != want.value || reset.contains(row.file) else { continue }
                groupSteps[row.phase, default: []].append(GroupSetting(g.name, row.file, want.value, source: want.source))
                reset.formUnion(row.resets)
            }
            for (phase, settings) in groupSteps {
                phases[phase, default: []] += orderedWithinBounds(settings, group: g.name).map(Step.set)
            }
            settled[i] = groupSteps.isEmpty && !isNew ? inputs : nil
        }
        return phases.keys.sorted().flatMap { phases[$0]! }
    }

    /// What a group's rows read besides the tree (which `buildTree` keeps) and the shared
    /// inputs: the controller's decision and the values in force (by revision).
    struct SettledInputs: Equatable {
        var decision: Controller.GroupDecision?
        var revision: UInt64?
    }

    /// What every group's rows read alike: the capacity, the kernel's lacks, BFQ.
    struct SharedInputs: Equatable {
        var capacity: Double
        var kernelLacks: Set<ControlFile>
        var bfqActive: Bool
    }

    /// A file kept within another's value is written before it when its new value fits the
    /// value in force (lowering both), else after (raising both).
    private func orderedWithinBounds(_ settings: [GroupSetting], group: GroupName) -> [GroupSetting] {
        var ordered = settings
        for s in settings {
            guard let bound = s.row.within, let boundAt = ordered.firstIndex(where: { $0.file == bound.file }),
                  let inForce = applied.value(bound.file, of: group), bound.fits(s.value, inForce),
                  let at = ordered.firstIndex(of: s), at > boundAt
            else { continue }
            ordered.remove(at: at)
            ordered.insert(s, at: boundAt)
        }
        return ordered
    }

    /// Unit-backed groups' weights: the shares on the same scale as the agent's groups.
    private func unitWeights() -> [GroupName: UnitWeights] {
        let cpu = policy.cpuWeights()
        let io = policy.ioWeights()
        var weights: [GroupName: UnitWeights] = [:]
        for g in policy.unitGroups { weights[g.name] = UnitWeights(cpu: cpu[g.name]?.value, io: io[g.name]?.value) }
        return weights
    }

    /// Members per agent group (once `steps` are done: the controller's "has members"), plus
    /// the processes in each unit-backed group's units (as the last scan found them).
    private func memberCounts(after steps: [Step] = []) -> [GroupName: Int] {
        enforcer.memberCounts(after: steps).merging(unitMembers) { _, units in units }
    }

    /// Processes per unit-backed group: those in its units' cgroups.
    private func unitMemberCounts(_ processes: [ProcessInfo]) -> [GroupName: Int] {
        guard !unitCgroups.placements.isEmpty else { return [:] }
        var counts: [GroupName: Int] = [:]
        for p in processes where !p.isKernelThread {
            if let u = unitCgroups.placement(containing: p.cgroup) { counts[u.group, default: 0] += 1 }
        }
        return counts
    }

    // MARK: Preview

    /// What a reload of `next` would do now, decided by this same `decide` on a copy of the
    /// state: the new policy replaces the old, the pass is decided on `observation` (a full scan,
    /// the units as listed, the groups as they are) with the controller's demand estimated from
    /// where the processes go (`DemandEstimate`), and every step is taken as done. Nothing is
    /// written: the copy is dropped.
    public func preview(next: Policy, classifier: Classifier, observation: Observation, capacity: Double, interval: Double) -> Preview {
        var copy = self
        var o = observation
        // Without a listing from systemd, the last one stands (as in a pass).
        if o.units.listing.value == nil { o.units = UnitsObservation(listing: .value(listedUnits)) }
        copy.replacePolicy(next, classifier: classifier)
        copy.decisionInForce = lastDecision
        copy.keepsVerdicts = false
        let plan = copy.decide(o, capacity: capacity, interval: interval, demand: .estimated)
        copy.absorb(plan, plan.steps.map { _ in .done })
        return Preview(plan: plan, before: snapshot, after: copy.snapshot, estimate: copy.estimate ?? DemandEstimate())
    }

    public struct Preview: Sendable {
        public let plan: Plan
        /// The state now, and as the plan would leave it.
        public let before: ReconcilerSnapshot
        public let after: ReconcilerSnapshot
        public let estimate: DemandEstimate
    }

    static func estimate(_ processes: [ProcessInfo], _ steps: [Step], enforcer: Enforcer, rates: [GroupName: UsageSampler.Rates],
                         last: Controller.Decision?) -> DemandEstimate {
        var destination: [ProcessIdentity: GroupName?] = [:]
        for step in steps {
            switch step {
            case .move(let id, _, let to, _, _): destination[id] = .some(to)
            case .restore(let id, _, _, _): destination[id] = .some(nil)
            default: break
            }
        }
        return DemandEstimate(processes: processes, destination: destination,
                              groupOf: { enforcer.group(ofCgroup: $0.cgroup) },
                              rates: rates, hungryNow: { last?.decision(for: $0)?.hungry == true })
    }

    // MARK: Shutdown

    /// Gives every process in a group back to where it came from, removes the groups, and gives
    /// every unit its own weights back. When /proc could not be read, nobody is given back (the
    /// processes can not be named) and every membership stays, so the ledger keeps every origin
    /// for `fairshare recover`.
    public mutating func planRelease(_ o: Observation) -> Plan {
        let groups = existingGroups(o).union(knownGroups)
        guard let scan = o.processScan?.value else {
            return Plan(groups.sorted().map(Step.removeGroup) + unitBook.planRestoreAll())
        }
        enforcer.forget(allBut: Set(scan.processes.map(\.identity)), keepingPIDs: scan.unreadable)
        return Plan(enforcer.planRelease(processes: scan.processes, existingGroups: groups) + unitBook.planRestoreAll())
    }

    /// After a release: every group that could not be removed (a process in it could not be given
    /// back) gets the kernel's defaults back in the files the agent wrote, so nothing it set (a
    /// cap, a burst, idle) outlives it.
    public func planLeftoverDefaults(groups: Set<GroupName>) -> Plan {
        var steps: [Step] = []
        // A child before its parent: the kernel turns a parent's controllers off only once no
        // child enables them.
        for g in groups.sorted(by: GroupName.childrenFirst) {
            for row in GroupFiles.all {
                guard let inForce = applied.value(row.file, of: g), inForce != row.kernelDefault else { continue }
                steps.append(.set(GroupSetting(g, row.file, row.kernelDefault)))
            }
        }
        return Plan(steps)
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
                for row in GroupFiles.all where row.assumedAtCreation { applied.set(row.file, of: g, to: row.kernelDefault) }
                // A new cgroup's counters start at zero: the first rate comes from the next pass.
                sampler.forget(g)
                sampler.record(g, .init(cpu: CPUStat(), io: IOStat(), pressure: PressureStat(someTotalUsec: 0), at: observedAt))
            case (.set(let s), .done):
                applied.set(s.file, of: s.group, to: s.value)
                // The kernel set these itself (cpu.idle: the weight is minimal while idle, the default after).
                for file in s.row.resets { applied.set(file, of: s.group, to: nil) }
            case (.set(let s), .failed(let cause, _)) where cause == GroupFile.lacksCause(s.file):
                // This kernel has no such file: the rows' rules and the harmless values follow.
                applied.kernelLacks.insert(s.file)
            case (.set(let s), .gone):
                // The group vanished behind our back: created again next pass.
                knownGroups.remove(s.group)
                applied.forget(s.group)
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

/// The values in the groups' cgroup files as far as the outcomes tell: a value is written again
/// only when the wanted one differs (or the write failed).
public struct AppliedSettings: Sendable, Equatable {
    private var byGroup: [GroupName: [ControlFile: SettingValue]] = [:]
    /// Files this kernel has been found to lack (cpu.idle before Linux 5.15, ...).
    public internal(set) var kernelLacks: Set<ControlFile> = []
    /// A group's revision changes whenever any of its values does (the reconciler's memo of
    /// groups in line with their rules).
    private var revisions: [GroupName: UInt64] = [:]
    private var changes: UInt64 = 0

    public init() {}

    /// Changes with every change to the group's values; nil before any.
    func revision(of g: GroupName) -> UInt64? { revisions[g] }

    /// Changes with every change to any group's values (a copy of `values(of:)` is good while
    /// it stands).
    var revision: UInt64 { changes }

    private mutating func changed(_ g: GroupName) {
        changes += 1
        revisions[g] = changes
    }

    /// The value in force, nil when not known (not written yet, or reset by the kernel).
    public func value(_ file: ControlFile, of g: GroupName) -> SettingValue? { byGroup[g]?[file] }

    /// The value in force as its type.
    public func value<V: CgroupFileValue>(_ file: ControlFile, of g: GroupName, as: V.Type) -> V? { value(file, of: g)?.as(V.self) }

    /// Every group's value of one file, as its type.
    public func values<V: CgroupFileValue>(of file: ControlFile, as: V.Type) -> [GroupName: V] {
        byGroup.compactMapValues { $0[file]?.as(V.self) }
    }

    /// Every file's value in force for one group.
    public func all(of g: GroupName) -> [ControlFile: SettingValue] { byGroup[g] ?? [:] }

    mutating func set(_ file: ControlFile, of g: GroupName, to value: SettingValue?) {
        byGroup[g, default: [:]][file] = value
        changed(g)
    }

    /// No values and no revision: a group that comes back starts anew (users come and go, so
    /// nothing is kept per group once it is gone).
    mutating func forget(_ g: GroupName) {
        byGroup[g] = nil
        revisions[g] = nil
        changes += 1
    }

    /// Forgets one file in every group (io.bfq.weight once no disk uses BFQ).
    mutating func forget(_ file: ControlFile) {
        for g in byGroup.keys where byGroup[g]?[file] != nil {
            byGroup[g]?[file] = nil
            changed(g)
        }
    }

    public static func == (a: AppliedSettings, b: AppliedSettings) -> Bool { a.byGroup == b.byGroup && a.kernelLacks == b.kernelLacks }
}

/// The reconciler's state as the last outcomes left it, for those who only read it.
public struct ReconcilerSnapshot: Sendable {
    public let policy: Policy
    /// The policy's groups with the users of its per_user groups as child groups (`Policy.withUsers`).
    public let tree: Policy
    /// Changes whenever the tree does (0 before the first one was built from the groups).
    public let treeRevision: Int
    /// Members per agent group, processes per unit-backed group.
    public let memberCounts: [GroupName: Int]
    public let rates: [GroupName: UsageSampler.Rates]
    /// The counters as last read (a unit-backed group's summed over its units).
    public let counters: [GroupName: UsageSampler.Sample]
    public let applied: AppliedSettings
    public let decision: Controller.Decision?
    /// Decayed usage and entitlement (fairness = "decayed").
    public let fairness: FairnessLedger
    public let unitCgroups: UnitCgroups
    public let unitsKnown: Bool
    /// The units' own weights, read before the agent's first write to them.
    public let unitOriginals: [String: UnitWeights]
    public let disks: IODisks?
    /// The group cgroups under the root, as last listed or made.
    public let knownGroups: Set<GroupName>
    /// How often the classification rules were evaluated (what the verdict cache saves).
    public let ruleEvaluations: Int
}
