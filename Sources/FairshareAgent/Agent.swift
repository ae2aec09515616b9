import FairshareCore
import FairshareEdge
import FairshareLinux
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// What makes the agent act. Ticks, reloads and shutdown arrive as one sequence, so a test can
/// drive the agent by hand.
public enum Trigger: Sendable, Equatable {
    case tick
    case reload
    case shutdown
    /// Time to tell systemd the loop is alive (WATCHDOG=1): it travels the same queue as the
    /// passes, so a stuck pass stops the pings and systemd restarts the agent.
    case watchdog
}

/// The agent: observe (/proc, cgroup stats) -> decide (Enforcer, pure) -> act (cgroup writes)
/// -> report (journal, status, sd_notify). One pass at a time: the actor serialises ticks,
/// reloads and status requests.
public actor Agent {
    public nonisolated let env: AgentEnvironment
    public let policyPath: String
    let logger: Logger
    /// Command-line overrides that win over the policy file.
    let intervalOverride: Duration?

    public private(set) var policy: Policy
    var classifier: Classifier
    /// The rules' verdicts per process, so unchanged processes are not matched again each pass.
    var classificationCache = ClassificationCache()
    var enforcer: Enforcer
    var sampler = UsageSampler()
    private var policyLoadedAt: Double
    private var lastReload: ReloadOutcome?
    private let startedAt: Double
    private var ticks = 0
    private var lastSummaryAt: UInt64?
    var groupsWithMembers: [GroupName: Int] = [:]
    private var stopped = false
    var controller = Controller()
    var lastDecision: Controller.Decision?
    /// The memberships last written to the origin store, so it is written only on change.
    private var savedLedger = OriginLedger.Contents()
    private var originStoreFailed = false
    /// Reload requests handled (applied or rejected): `fairshare reload --pid` waits for it to grow.
    private var reloads = 0
    /// How long the recent passes took (status: last and median).
    private var passTimes = PassTimes()
    /// The running units of the unit-backed groups, as systemd listed them last.
    var listedUnits: [UnitInfo] = []
    /// False until systemd has listed the units of the policy's unit-backed groups: until then
    /// no process is moved, so none is taken out of a unit the agent does not know yet.
    var unitsKnown = false
    /// The last listing error, reported once.
    var unitListingFailure: String?
    var unitCgroups = UnitCgroups.none
    var unitBook = UnitWeightBook()
    var hierarchy = HierarchySnapshot()
    var passesSinceHierarchy = 0
    /// Set in a pass once a call to systemd timed out or found no connection: no further calls
    /// in that pass.
    var systemdUnreachable: String?
    /// How often the machine share's snapshot of the hierarchy is read (see refreshHierarchy).
    static let hierarchyEveryPasses = 5

    /// - Parameter policy: the already validated policy the agent starts with.
    public init(policy: Policy, policyPath: String, env: AgentEnvironment, logger: Logger, intervalOverride: Duration? = nil) {
        self.env = env
        self.policy = policy
        self.policyPath = policyPath
        self.logger = logger
        self.intervalOverride = intervalOverride
        self.classifier = Classifier(policy: policy, agentPID: env.agentPID, resolveUser: env.resolveUser, resolveGroup: env.resolveGroup)
        self.enforcer = Enforcer(root: env.cgroups.root.description)
        self.startedAt = env.clock.wallSeconds()
        self.policyLoadedAt = startedAt
        if let store = env.origins {
            do {
                if let text = try store.load() {
                    let recorded = try OriginLedger.decode(text)
                    enforcer.seed(recorded.members)
                    // A unit's weights read now would be the ones the crashed agent gave it.
                    for (unit, weights) in recorded.unitOriginals { unitBook.noteOriginal(unit, weights) }
                    savedLedger = recorded
                }
            } catch {
                // Without the ledger the origins of processes found in groups are inferred.
                logger.warning("ignoring the origin ledger: \(error)", metadata: ["event": "warning"])
            }
        }
    }

    public var interval: Duration { intervalOverride ?? policy.agent.interval }

    /// Runs until the trigger sequence ends or delivers `.shutdown`; then gives every process back.
    public func run<S: AsyncSequence & Sendable>(triggers: S) async where S.Element == Trigger {
        log(.info, "started", "fairshare started: managing \(env.cgroups.rootAbsolutePath) with \(policy.groups.count) group(s) from \(policyPath)",
            ["root": .string(env.cgroups.rootAbsolutePath), "policy": .string(policyPath)])
        logPolicyLoaded()
        tick()
        env.notifier.notify("READY=1\nSTATUS=\(statusLine())")
        do {
            for try await trigger in triggers {
                switch trigger {
                case .tick: tick()
                case .reload: _ = reload()
                case .watchdog: env.notifier.notify("WATCHDOG=1")
                case .shutdown:
                    shutdown()
                    return
                }
            }
        } catch {
            log(.error, "error", "trigger sequence failed: \(error)", [:])
        }
        shutdown()
    }

    // MARK: One pass

    public func tick() {
        guard !stopped else { return }
        let started = env.clock.monotonicNanoseconds()
        defer { passTimes.record(nanoseconds: env.clock.monotonicNanoseconds() - started) }
        let processes = env.processes.scan(details: ProcessDetails(for: policy))
        enforcer.forgetStrays(processes)
        refreshUnits()
        let existing = existingGroups()
        var actions = enforcer.plan(policy: policy, classifier: classifier, processes: processes, existingGroups: existing,
                                    weightOverrides: effectiveWeights(), cache: &classificationCache)
        if !unitsKnown {
            actions.removeAll(where: \.isMove)
        }
        perform(actions)
        enforcer.forget(allBut: Set(processes.map(\.identity)))
        applyUnitWeights()
        saveOrigins()
        sample()
        groupsWithMembers.merge(unitMemberCounts(processes)) { _, units in units }
        refreshHierarchy()
        control()
        ticks += 1
        report()
    }

    /// The root's children that are group cgroups (a valid group name), whoever made them.
    func existingGroups() -> Set<GroupName> {
        guard let names = try? env.cgroups.fs.children(of: env.cgroups.root) else { return [] }
        return Set(names.compactMap(GroupName.init))
    }

    /// Carries out a pass's actions. Write-ahead: the origin of every process about to be moved
    /// is in the ledger on disk before the first move, so a kill at any instruction leaves no
    /// moved process with an unknown origin. When the ledger can not be written nothing is
    /// moved (the rest of the pass still runs): a process left unmanaged loses nothing, one
    /// moved without a record could be given back to the wrong place.
    func perform(_ actions: [Enforcer.Action]) {
        var actions = actions
        if actions.contains(where: \.isMove) && !recordIntents(enforcer.membersAfterMoves(actions)) {
            actions.removeAll(where: \.isMove)
        }
        for action in actions {
            let outcome = execute(action)
            let alreadyReported: Bool
            switch action {
            case .move(let id, _, _, _, _), .restore(let id, _, _, _): alreadyReported = enforcer.reportedFailures.contains(id)
            default: alreadyReported = false
            }
            enforcer.record(action, outcome)
            switch action {
            case .move(let id, _, _, _, _), .restore(let id, _, _, _): env.processes.invalidate(id.pid)
            default: break
            }
            report(action, outcome, alreadyReported: alreadyReported)
        }
        saveOrigins()
    }

    /// Writes the origin ledger when the memberships changed since the last write.
    func saveOrigins() {
        _ = writeLedger(members: enforcer.members, consequence: "a restart after a crash would have to guess")
    }

    /// Records, durably, the memberships the pass's moves will create; true when they are on disk
    /// (or there is no store to write: tests and `recover` keep the ledger in memory only).
    private func recordIntents(_ members: [ProcessIdentity: Enforcer.Membership]) -> Bool {
        writeLedger(members: members, consequence: "not moving any process until it can")
    }

    private func writeLedger(members: [ProcessIdentity: Enforcer.Membership], consequence: String) -> Bool {
        let ledger = OriginLedger.Contents(members: members, unitOriginals: unitBook.originals)
        guard let store = env.origins, ledger != savedLedger else { return true }
        do {
            try store.save(OriginLedger.encode(ledger))
            savedLedger = ledger
            originStoreFailed = false
            return true
        } catch {
            // Reported once per failing spell, not every pass.
            if !originStoreFailed {
                log(.error, "error", "cannot record where processes came from (\(consequence)): \(error)", [:])
            }
            originStoreFailed = true
            return false
        }
    }

    private func execute(_ action: Enforcer.Action) -> Enforcer.Outcome {
        let tree = env.cgroups
        do throws(CgroupError) {
            switch action {
            case .createGroup(let g):
                try tree.ensureGroup(g)
            case .setCPUMax(let g, let value):
                try tree.setCPUMax(value, of: g)
            case .setWeights(let g, let cpu, let io), .adjustWeights(let g, let cpu, let io):
                try tree.setCPUWeight(cpu, of: g)
                do {
                    try tree.setIOWeight(io, of: g)
                } catch where error.kind == .gone {
                    // No io.weight file: the io controller is not enabled here; cpu still counts.
                    log(.warning, "warning", "io.weight not available for group \(g): \(error)", ["group": .string(g.rawValue)])
                }
            case .move(let id, _, let g, _, _):
                try tree.move(pid: id.pid, to: g)
            case .adopt:
                break
            case .restore(let id, _, _, let origin):
                guard let target = CgroupPath(origin) else {
                    throw CgroupError(.write, path: origin, value: String(id.pid), errno: EINVAL)
                }
                try tree.restore(pid: id.pid, to: target)
            case .removeGroup(let g):
                try tree.removeGroup(g)
                sampler.forget(g)
            }
            return .done
        } catch {
            if error.kind == .gone {
                // A vanished process or a group removed behind our back: nothing to do. A group
                // that is missing when weights are written is created again next pass.
                return .gone
            }
            return .failed(error.description)
        }
    }

    private func report(_ action: Enforcer.Action, _ outcome: Enforcer.Outcome, alreadyReported: Bool) {
        switch (action, outcome) {
        case (.createGroup(let g), .done):
            let gp = policy.group(named: g)
            log(.info, "group_created", "created group \(g) (\(env.cgroups.fs.absolutePath(env.cgroups.path(of: g))))",
                ["group": .string(g.rawValue), "shares": .string(gp.map { String($0.shares.value) } ?? "")])
        case (.setWeights(let g, let cpu, let io), .done):
            let shares = policy.group(named: g).map { String($0.shares.value) } ?? ""
            log(.info, "weights", "group \(g): cpu.weight \(cpu), io.weight \(io) (shares \(shares))",
                ["group": .string(g.rawValue), "cpu_weight": .string(String(cpu)), "io_weight": .string(String(io)), "shares": .string(shares)])
        case (.adjustWeights(let g, let cpu, let io), .done):
            log(.debug, "weights", "group \(g): effective cpu.weight \(cpu), io.weight \(io)",
                ["group": .string(g.rawValue), "cpu_weight": .string(String(cpu)), "io_weight": .string(String(io))])
        case (.setCPUMax(let g, let value), .done):
            log(.debug, "cpu_max", "group \(g): cpu.max \(value)", ["group": .string(g.rawValue), "cpu_max": .string(value)])
        case (.move(let id, let comm, let g, let origin, let keys), .done):
            log(.info, "moved", "moved \(comm)[\(id.pid)] from \(origin) to group \(g) (\(keys.map(\.description).joined(separator: "; ")))",
                ["group": .string(g.rawValue), "pid": .string(String(id.pid)), "origin": .string(origin)])
        case (.restore(let id, let comm, let g, let origin), .done):
            log(.info, "restored", "gave \(comm)[\(id.pid)] back from group \(g) to \(origin)",
                ["group": .string(g.rawValue), "pid": .string(String(id.pid)), "origin": .string(origin)])
        case (.removeGroup(let g), .done):
            log(.info, "group_removed", "removed group \(g)", ["group": .string(g.rawValue)])
        case (.removeGroup(let g), .failed(let why)):
            // Usually still populated: a process that could not be given back. Tried again next pass.
            log(.warning, "error", "group \(g) not removed yet: \(why)", ["group": .string(g.rawValue)])
        case (_, .failed(let why)):
            guard !alreadyReported else { return }
            var meta: Logger.Metadata = [:]
            if case .move(let id, _, let g, _, _) = action { meta = ["pid": .string(String(id.pid)), "group": .string(g.rawValue)] }
            if case .restore(let id, _, let g, _) = action { meta = ["pid": .string(String(id.pid)), "group": .string(g.rawValue)] }
            log(.error, "error", "\(describe(action)) failed: \(why)", meta)
        default:
            break
        }
    }

    private func describe(_ action: Enforcer.Action) -> String {
        switch action {
        case .createGroup(let g): "creating group \(g)"
        case .setWeights(let g, _, _), .adjustWeights(let g, _, _): "setting weights of group \(g)"
        case .setCPUMax(let g, let v): "setting cpu.max of group \(g) to '\(v)'"
        case .move(let id, let comm, let g, _, _): "moving \(comm)[\(id.pid)] to group \(g)"
        case .adopt(let id, let g, _, _): "adopting \(id.pid) in \(g)"
        case .restore(let id, let comm, _, let origin): "giving \(comm)[\(id.pid)] back to \(origin)"
        case .removeGroup(let g): "removing group \(g)"
        }
    }

    // MARK: Sampling and reporting

    private func sample() {
        let now = env.clock.monotonicNanoseconds()
        for g in policy.agentGroups where env.cgroups.groupExists(g.name) {
            do {
                let cpu = try env.cgroups.cpuStat(of: g.name)
                let io = try? env.cgroups.ioStat(of: g.name)
                // PSI may be compiled out or disabled (psi=0): then demand goes by throttling
                // and allowance alone.
                let pressure = try? env.cgroups.pressure(of: g.name)
                sampler.record(g.name, .init(cpu: cpu, io: io, pressure: pressure, at: now))
            } catch {
                // Never report a read error as zero usage: drop the sample and say why.
                sampler.forget(g.name)
                log(.warning, "error", "cannot sample group \(g.name): \(error)", ["group": .string(g.name.rawValue)])
            }
        }
        sampleUnits(at: now)
        groupsWithMembers = enforcer.memberCounts()
    }

    private func report() {
        env.notifier.notify("STATUS=\(statusLine())")
        let now = env.clock.monotonicNanoseconds()
        let every = UInt64(policy.agent.reportInterval.milliseconds) * 1_000_000
        if let last = lastSummaryAt, now - last < every { return }
        if lastSummaryAt == nil {
            // The first summary comes one report interval after start, when rates mean something.
            lastSummaryAt = now
            return
        }
        lastSummaryAt = now
        let s = status()
        let parts = s.groups.map { g in
            g.backing == "unit"
                ? "\(g.name) \(format(g.cpuUsagePercent))% (unit-backed, \(g.members) proc)"
                : "\(g.name) \(format(g.cpuUsagePercent))%/\(format(g.cpuTargetPercent))% (\(g.members) proc)"
        }
        log(.info, "summary", "usage/target: " + (parts.isEmpty ? "no groups" : parts.joined(separator: ", ")), [
            "group": .array(s.groups.map { .string($0.name) }),
            "shares": .array(s.groups.map { .string(String($0.shares)) }),
            "cpu_weight": .array(s.groups.map { .string(String($0.cpuWeight)) }),
            "usage_pct": .array(s.groups.map { .string(format($0.cpuUsagePercent)) }),
            "target_pct": .array(s.groups.map { .string(format($0.cpuTargetPercent)) }),
            "members": .array(s.groups.map { .string(String($0.members)) }),
        ])
    }

    private func format(_ x: Double) -> String {
        FixedPoint.format(x, places: 1)
    }

    private func statusLine() -> String {
        let members = groupsWithMembers.values.reduce(0, +)
        let shown = status().groups.filter { $0.members > 0 }.map { "\($0.name) \(format($0.cpuUsagePercent))%/\(format($0.cpuTargetPercent))%" }
        return "\(policy.groups.count) groups, \(members) processes" + (shown.isEmpty ? "" : "; usage/target: " + shown.joined(separator: ", "))
    }

    /// The status report served to `fairshare status`.
    public func status() -> StatusReport {
        let targets = UsageSampler.targetPercents(policy: policy, memberCounts: groupsWithMembers)
        let cpuWeights = policy.cpuWeights()
        let ioWeights = policy.ioWeights()
        let capacity = Double(max(env.capacityCPUs, 1))
        let groups = policy.groups.map { g -> GroupStatus in
            let rates = sampler.rates[g.name] ?? .zero
            let last = sampler.last[g.name]?.cpu ?? CPUStat()
            let applied = enforcer.appliedWeights[g.name]
            var status = GroupStatus(
                name: g.name.rawValue, shares: g.shares.value, ioShares: g.ioShares.value,
                cpuWeight: applied?.cpu ?? cpuWeights[g.name]!, ioWeight: applied?.io ?? ioWeights[g.name]!,
                members: groupsWithMembers[g.name] ?? 0,
                cpuUsageCPUs: rates.cpus, cpuUsagePercent: rates.cpus / capacity * 100, cpuTargetPercent: targets[g.name] ?? 0,
                usageUsec: last.usageUsec, nrThrottled: last.nrThrottled, throttledUsec: last.throttledUsec,
                ioReadBytesPerSecond: rates.ioReadBytesPerSecond, ioWriteBytesPerSecond: rates.ioWriteBytesPerSecond
            )
            status.backing = g.isUnitBacked ? "unit" : "agent"
            if g.isUnitBacked {
                status.units = unitCgroups.placements(of: g.name).map { UnitStatus(name: $0.unit, cgroup: $0.cgroup) }
            }
            status.machineSharePercent = machineSharePercent(g)
            if let d = lastDecision?.decision(for: g.name) {
                status.redistribution = GroupRedistribution(
                    allocationCPUs: d.share.allocation, allocationPercent: d.share.allocation / capacity * 100,
                    borrowedCPUs: d.share.borrowed, hungry: d.hungry, demand: d.demandReason, limit: d.share.limit.rawValue,
                    pressurePercent: rates.pressure.map { $0 * 100 }, fairnessFactor: d.factor,
                    cpuMax: enforcer.appliedCPUMax[g.name] ?? Controller.cpuMaxText(d.cpuMax), weightReason: d.weightReason,
                    min: g.floor?.description, max: g.ceiling?.description, burst: g.burst?.description, borrow: g.borrow)
            }
            return status
        }
        let now = env.clock.wallSeconds()
        return StatusReport(
            agent: AgentStatus(
                pid: env.agentPID, startedAt: startedAt, uptimeSeconds: now - startedAt,
                cgroupRoot: env.cgroups.rootAbsolutePath, intervalSeconds: interval.seconds, cpus: capacity, ticks: ticks,
                lastPassSeconds: passTimes.last, passSecondsMedian: passTimes.median),
            policy: PolicyStatus(path: policyPath, loadedAt: policyLoadedAt, lastReload: lastReload, reloads: reloads),
            groups: groups
        )
    }

    // MARK: Reload

    /// Re-reads and validates the whole policy; swaps it in only if valid, then enforces at once.
    /// An invalid policy leaves the one in force untouched.
    @discardableResult
    public func reload() -> ReloadOutcome {
        env.notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(env.clock.monotonicNanoseconds() / 1000)")
        reloads += 1
        defer { env.notifier.notify("READY=1\nSTATUS=\(statusLine())") }
        defer { returnFreedMemoryToTheKernel() }  // the parse's transient memory, good or bad policy
        let now = env.clock.wallSeconds()
        let outcome: ReloadOutcome
        do {
            let text = try env.readFile(policyPath)
            var next = try PolicyParser.parse(text, file: policyPath)
            let problems = PolicyParser.capacityProblems(next, capacity: Double(max(env.capacityCPUs, 1)))
            if !problems.isEmpty { throw PolicyError(problems: problems) }
            if next.agent.cgroupRoot != policy.agent.cgroupRoot {
                log(.warning, "warning", "cgroup_root changed from \(policy.agent.cgroupRoot) to \(next.agent.cgroupRoot): it takes effect at the next start; keeping \(env.cgroups.rootAbsolutePath)", [:])
                next.agent.cgroupRoot = policy.agent.cgroupRoot
            }
            if Set(next.unitGroups.flatMap(\.match.units)) != Set(policy.unitGroups.flatMap(\.match.units)) {
                // Units the old listing did not cover may now be unit-backed: none is moved
                // until systemd has listed them.
                unitsKnown = false
            }
            policy = next
            passesSinceHierarchy = Self.hierarchyEveryPasses  // the new groups' shares at once
            // The last decision's effective weights belong to the old shares: the new policy's
            // weights apply (and are reported) at once, the controller adjusts from there.
            lastDecision = nil
            classifier = Classifier(policy: next, agentPID: env.agentPID, resolveUser: env.resolveUser, resolveGroup: env.resolveGroup)
            policyLoadedAt = now
            outcome = ReloadOutcome(applied: true, at: now, error: nil)
            lastReload = outcome
            logPolicyLoaded()
            tick()
        } catch {
            outcome = ReloadOutcome(applied: false, at: now, error: "\(error)")
            lastReload = outcome
            log(.error, "policy_rejected", "new policy rejected, keeping the one loaded before: \(error)",
                ["policy": .string(policyPath), "error": .string("\(error)")])
        }
        return outcome
    }

    private func logPolicyLoaded() {
        let groups = policy.groups.map { "\($0.name)=\($0.shares)" }.joined(separator: " ")
        log(.info, "policy_loaded", "policy \(policyPath) loaded: \(policy.groups.count) group(s) \(groups)",
            ["policy": .string(policyPath), "group": .array(policy.groups.map { .string($0.name.rawValue) }),
             "shares": .array(policy.groups.map { .string(String($0.shares.value)) })])
        for w in policy.warnings {
            log(.warning, "warning", w.description, ["policy": .string(policyPath)])
        }
    }

    // MARK: Shutdown

    /// Gives every process in a group back to where it came from and removes the groups.
    /// Nothing is killed; a process that can not be given back stays where it is (and is named).
    public func shutdown() {
        guard !stopped else { return }
        stopped = true
        env.notifier.notify("STOPPING=1")
        let actions = enforcer.planRelease(processes: env.processes.scan(details: []), existingGroups: existingGroups())
        perform(actions)
        restoreUnits()
        let left = existingGroups()
        log(.notice, "stopping", left.isEmpty
            ? "fairshare stopping: every process given back, groups removed"
            : "fairshare stopping: groups \(left.sorted().map(\.rawValue).joined(separator: ", ")) could not be removed",
            [:])
    }

    /// Which group a process falls in and why (`fairshare explain`).
    public func explain(pid: Int32) -> ExplainReport? {
        guard let p = env.processes.process(pid) else { return nil }
        let member = enforcer.members[p.identity]
        let verdict = classifier.classify(p, originCgroup: member?.origin ?? p.cgroup)
        var report = ExplainReport(pid: pid, comm: p.comm, uid: p.uid, gid: p.gid, exe: p.exe, cgroup: p.cgroup,
                                   originCgroup: member?.origin, group: member?.group.rawValue, reason: nil, matchedKeys: [])
        switch verdict {
        case .exempt(let why):
            report.reason = "never moved: \(why)"
        case .inUnit(let unit, let g):
            report.group = g.rawValue
            report.reason = "in unit \(unit) (group \(g)): not moved, the unit's weight is set through systemd"
        case .matched(let g, let keys):
            report.group = g.rawValue
            report.matchedKeys = keys.map(\.description)
            report.reason = "matches group \(g)" + (member == nil ? " (not moved yet: next pass)" : "")
        case .unmatched:
            if let m = member {
                report.reason = m.reason == .inherited ? "matches no group; stays in \(m.group) where it was born or found" : "matches no group"
            } else {
                report.reason = "matches no group; left where it is"
            }
        }
        return report
    }

    func log(_ level: Logger.Level, _ event: String, _ message: String, _ metadata: Logger.Metadata) {
        var m = metadata
        m["event"] = .string(event)
        logger.log(level: level, "\(message)", metadata: m)
    }
}
