import FairshareCore
import FairshareEdge
import FairshareLinux
import Logging

/// What makes the agent act. Ticks, reloads and shutdown arrive as one sequence, so a test can
/// drive the agent by hand. Kernel events have a wake-up of their own (`processEvents`; see
/// docs/architecture.md, "The event pass", for why).
public enum Trigger: Sendable, Equatable {
    case tick
    case reload
    case shutdown
    /// Time to tell systemd the loop is alive (WATCHDOG=1): it travels the same queue as the
    /// passes, so a stuck pass stops the pings and systemd restarts the agent.
    case watchdog
}

/// The agent: one pass at a time, each pass one way through four stages,
///
///     observe (Observer) -> decide (Reconciler, pure) -> act (Actuator) -> report (Reporter)
///
/// and the decide stage learns only from the act stage's outcomes. The actor serialises ticks,
/// reloads, status requests and shutdown; it coordinates the stages and holds only what says
/// when to do what (the event book, the pass counters). What status shows is the reporter's.
public actor Agent {
    public nonisolated let env: AgentEnvironment
    public let policyPath: String
    /// The disks are read on the first pass after start or reload, then every this many passes.
    public static var disksReadEveryPasses: Int { Observer.hierarchyEveryPasses }
    /// Command-line overrides that win over the policy file.
    let intervalOverride: Duration?

    var reconciler: Reconciler
    var reporter: Reporter
    /// The event source's state and figures; what the listener thread received waits in `eventQueue`.
    var events: ProcessEventBook
    nonisolated let eventQueue = ProcessEventQueue()
    /// Which users' subgroups the next pass reads (quiet ones are carried over).
    private var userReads = UserReadSchedule()
    /// Groups in which this agent made or removed a subgroup since the last pass's observation
    /// began: their kept listings are dropped then (`UserListings`: a count that came back to the
    /// same number is no proof of the same users).
    private var relist: Set<GroupName> = []
    /// Passes since the hierarchy (and the disks) were last read.
    private var passesSinceHierarchy = Observer.hierarchyEveryPasses
    private var stopped = false
    /// Passes begun: a pass whose observation was overtaken by a newer pass is dropped.
    private var passSerial = 0
    /// Whether the cgroup tree is ready for enforcing (`env.preparation`): done before the
    /// first enforcing pass, never in observe mode.
    private var cgroupsPrepared: Bool
    /// The ledger named processes and units when the agent started: an observing start gives
    /// them back (they are what an enforcing agent before it left behind).
    private let startedWithLedger: Bool

    /// - Parameter policy: the already validated policy the agent starts with.
    public init(policy: Policy, policyPath: String, env: AgentEnvironment, logger: Logger, intervalOverride: Duration? = nil,
                version: String = "unknown") {
        self.env = env
        self.policyPath = policyPath
        self.intervalOverride = intervalOverride
        var recorded: OriginLedger.Contents?
        var ledgerProblem: String?
        if let store = env.origins {
            do {
                if let text = try store.load() { recorded = try OriginLedger.decode(text) }
            } catch {
                // Without the ledger the origins of processes found in groups are inferred.
                ledgerProblem = "\(error)"
            }
        }
        self.cgroupsPrepared = env.preparation == nil || policy.agent.mode == .enforce
        self.startedWithLedger = recorded.map { !$0.members.isEmpty || !$0.unitOriginals.isEmpty } ?? false
        var reconciler = Reconciler(policy: policy, classifier: Self.classifier(policy, env), rootPath: env.cgroups.root, recorded: recorded)
        self.events = ProcessEventBook(unavailable: env.events == nil ? env.eventsUnavailable ?? "no process event source" : nil)
        reconciler.keepsVerdicts = !events.listening
        self.reconciler = reconciler
        self.reporter = Reporter(logger: logger, notifier: env.notifier, repeatEvery: policy.agent.reportInterval, version: version,
                                 startedAt: env.clock.wallSeconds(), snapshot: reconciler.snapshot)
        if let ledgerProblem { reporter.emit(.ledgerIgnored(ledgerProblem)) }
    }

    static func classifier(_ policy: Policy, _ env: AgentEnvironment) -> Classifier {
        Classifier(policy: policy, agentPID: env.agentPID, resolveUser: env.resolveUser, resolveGroup: env.resolveGroup)
    }

    public var policy: Policy { reconciler.policy }
    public var interval: Duration { intervalOverride ?? policy.agent.interval }
    var capacity: Double { Double(max(env.capacityCPUs, 1)) }
    var observer: Observer { Observer(env: env) }
    var actuator: Actuator { Actuator(env: env) }
    /// How often the classification rules were evaluated (the verdict cache's effect).
    var ruleEvaluations: Int { reconciler.snapshot.ruleEvaluations }

    /// What the report stage needs to know of the agent for a status.
    private var context: AgentContext {
        AgentContext(pid: env.agentPID, cgroupRoot: env.cgroups.rootAbsolutePath, rootPath: env.cgroups.root, intervalSeconds: interval.seconds,
                     capacity: capacity, policy: policy, policyPath: policyPath, events: events.status, now: env.clock.wallSeconds(),
                     monotonic: env.clock.monotonicNanoseconds(), metricsFiles: env.metricsFiles, userName: env.userName)
    }

    /// Runs until the trigger sequence ends or delivers `.shutdown`; then gives every process back.
    public func run<S: AsyncSequence & Sendable>(triggers: S) async where S.Element == Trigger {
        reporter.emit(.started(root: env.cgroups.rootAbsolutePath, policyPath: policyPath, groups: policy.groups.count))
        logPolicyLoaded()
        if let why = env.eventsUnavailable, !events.listening { reporter.emit(.eventsUnavailable(why)) }
        if policy.agent.mode == .observe { reporter.emit(.mode(.observe, released: startedWithLedger ? releaseEverything() : nil)) }
        await tick()
        reporter.ready(context)
        do {
            for try await trigger in triggers {
                switch trigger {
                case .tick: await tick()
                case .reload: _ = await reload()
                case .watchdog: reporter.watchdog()
                case .shutdown:
                    shutdown()
                    return
                }
            }
        } catch {
            reporter.logger.error("trigger sequence failed: \(error)", metadata: ["event": "error"])
        }
        shutdown()
    }

    // MARK: One pass

    /// One pass: observe, decide, act, absorb, report. A pass that scans /proc observes on the
    /// actor. One that does not (events keep the memberships) reads its counters off the actor,
    /// so event passes run meanwhile: under emulation a pass's reads took 70 to 100 ms, which
    /// every event arriving then waited for. A pass overtaken meanwhile (a reload's own pass,
    /// shutdown) is dropped.
    public func tick() async {
        guard !stopped else { return }
        let started = env.clock.monotonicNanoseconds()
        passSerial += 1
        let serial = passSerial
        if policy.agent.mode == .observe {
            await observeOnly(serial: serial, started: started)
            return
        }
        // Descriptors given up on a full table are taken back once there is room again.
        env.descriptors?.rearmIfRoom()
        let due = events.scanDue(at: started, every: policy.agent.rescanInterval)
        let readHierarchy = passesSinceHierarchy >= Observer.hierarchyEveryPasses
        passesSinceHierarchy = readHierarchy ? 1 : passesSinceHierarchy + 1

        // 1 observe
        let observation = await observe(scan: due.scan, disks: readHierarchy)
        guard !stopped, serial == passSerial else { return }
        // 2 decide, 3 act
        let plan = reconciler.decide(observation, capacity: capacity, interval: interval.seconds)
        let outcomes = perform(plan)
        reconciler.absorb(plan, outcomes)
        if let reason = due.reason { rescanned(reason, observation, plan, outcomes, at: started) }
        // 4 report (the hierarchy, status only, read after the act stage: as the pass left it)
        let snapshot = reconciler.snapshot
        reporter.observed(observation)
        if readHierarchy && due.scan { reporter.hierarchy = observer.observeHierarchy(policy: policy, units: snapshot.unitCgroups) }
        reporter.pass(observation, plan, outcomes, snapshot: snapshot, groupPath: groupPath, context: context)
        if readHierarchy && !due.scan {
            // A few dozen reads: off the actor too, like the counters.
            let (observer, policy, units) = (self.observer, self.policy, snapshot.unitCgroups)
            let read = await Task.detached { observer.observeHierarchy(policy: policy, units: units) }.value
            if !stopped { reporter.hierarchy = read }
        }
        reporter.passEnded(nanoseconds: env.clock.monotonicNanoseconds() - started, context: context)
    }

    /// An observe-mode pass: a full scan and systemd's units, then what a pass would decide on
    /// them (the reconciler's `preview` of the policy in force, as `fairshare plan` decides a
    /// new one): reported, never acted on. Without the act stage the agent learns of no group,
    /// so each pass decides from nothing, which is what switching to enforce would do.
    private func observeOnly(serial: Int, started: UInt64) async {
        let would = await wouldDo(policy, path: policyPath)
        guard !stopped, serial == passSerial, policy.agent.mode == .observe else { return }
        reporter.observing(would, context: context)
        reporter.passEnded(nanoseconds: env.clock.monotonicNanoseconds() - started, context: context)
        returnFreedMemoryToTheKernel()  // the full scan's transient arrays, as after a rescan
    }

    /// Makes the cgroup tree ready for enforcing, once (`env.preparation`).
    private func prepareCgroups() throws(CgroupSetupError) {
        guard !cgroupsPrepared, let p = env.preparation else { return }
        let notes = try env.cgroups.prepare(agentPID: env.agentPID, agentCgroup: p.agentCgroup, configureAncestors: p.configureAncestors)
        CgroupPreparation.log(notes, to: reporter.logger)
        cgroupsPrepared = true
    }

    /// The act stage of a pass (a tick's or an event pass's): the groups whose subgroups it made
    /// or removed are listed afresh by the next observation.
    private func perform(_ plan: Plan) -> [StepOutcome] {
        for step in plan.steps {
            switch step {
            case .createGroup(let g), .removeGroup(let g): if let parent = g.parent { relist.insert(parent) }
            default: break
            }
        }
        return actuator.perform(plan)
    }

    /// The observe stage of a pass: on the actor when it scans /proc, else off it.
    private func observe(scan: Bool, disks: Bool) async -> Observation {
        // The units whose own weights are known, as the last pass left them.
        let (observer, policy, known) = (self.observer, self.policy, Set(reporter.published.unitOriginals.keys))
        var schedule = userReads
        // Changes made from here on (event passes while this one reads) count for the next.
        schedule.listings.forget(relist)
        relist = []
        if scan {
            defer { userReads = schedule }
            return observer.observe(policy: policy, knownOriginals: known, scanProcesses: true, readDisks: disks, schedule: &schedule)
        }
        let (o, next) = await Task.detached { [schedule] in
            var s = schedule
            let o = observer.observe(policy: policy, knownOriginals: known, scanProcesses: false, readDisks: disks, schedule: &s)
            return (o, s)
        }.value
        userReads = next
        return o
    }

    /// A rescan is counted only when it read every process; otherwise the next pass scans again.
    private func rescanned(_ reason: RescanReason, _ o: Observation, _ plan: Plan, _ outcomes: [StepOutcome], at started: UInt64) {
        if let scan = o.processScan?.value, scan.unreadable.isEmpty {
            events.rescanned(reason, at: started, corrected: plan.membershipChangesDone(outcomes))
        } else {
            events.unreadable()
        }
        // The scan's transient arrays (one entry per process): give the pages back, so the
        // agent's resident size between rescans does not depend on the number of processes.
        returnFreedMemoryToTheKernel()
    }

    private func groupPath(_ g: GroupName) -> String { env.cgroups.fs.absolutePath(env.cgroups.path(of: g)) }

    // MARK: Events

    /// Starts the listener thread (the source is subscribed already); without one, every pass scans.
    public func startEvents(wake: @escaping @Sendable () -> Void) {
        guard let source = env.events, events.listening else { return }
        if !ProcessEventPump.start(source: source, queue: eventQueue, clock: env.clock, wake: wake) {
            fallBack("cannot start the event listener thread")
        }
    }

    /// What the listener thread would deliver, handled at once: the way a test (or anything
    /// that hears of processes by other means) hands events in.
    public func handleEvents(_ delivery: ProcessEventDelivery) async {
        _ = eventQueue.push(delivery, at: env.clock.monotonicNanoseconds())
        await processEvents()
    }

    /// The event figures status shows.
    public var eventStatus: EventStatus { events.status }

    /// An event pass: what the listener queued, one way through the same stages as a tick but
    /// for the processes the events named only (observe them, decide their memberships, move
    /// them, absorb, report). An overflow means events were lost: a full rescan at once.
    func processEvents() async {
        guard !stopped else { return }
        let batch = eventQueue.drain()
        var digest = EventDigest()
        for (event, at) in batch.events {
            digest.add(event, receivedAt: at, isMember: { reconciler.member(pid: $0) != nil })
        }
        events.received(digest.counts, malformed: batch.malformed)
        if let why = batch.closed, events.listening { fallBack("the event source closed: \(why)") }
        if batch.overflowed && events.listening {
            events.overflowed()
            reporter.emit(.eventsOverflow(overflows: events.overflows))
            await tick()
            return
        }
        // Observe mode moves nothing: its passes scan /proc in full.
        guard events.listening, !digest.isEmpty, policy.agent.mode == .enforce else { return }

        let (changes, vanished, unreadable) = observer.observeChanges(digest, policy: policy)
        events.raced(vanished)
        // A process that could not be read keeps what it had; the next pass rescans.
        if unreadable > 0 { events.unreadable() }
        let plan = reconciler.decideChanges(changes)
        let outcomes = perform(plan)
        reconciler.absorb(plan, outcomes)
        let done = env.clock.monotonicNanoseconds()
        for (step, outcome) in zip(plan.steps, outcomes) {
            guard case .move(let id, _, _, _, _) = step else { continue }
            switch outcome {
            case .done:
                let received = digest.reread[id.pid] ?? done
                events.moved(latencyMilliseconds: Double(done &- received) / 1e6)
                reporter.classified(latencySeconds: Double(done &- received) / 1e9)
            case .gone: events.raced(1)
            default: break
            }
        }
        reporter.pass(nil, plan, outcomes, snapshot: reconciler.snapshot, groupPath: groupPath, context: context)
        // A burst's arrays (one entry per event): give the pages back, as after a rescan.
        if batch.events.count >= 1024 { returnFreedMemoryToTheKernel() }
    }

    /// Events stopped: every pass scans /proc from now on, and the journal says why once.
    private func fallBack(_ why: String) {
        events.fellBack(why)
        reconciler.keepsVerdicts = true
        reporter.emit(.eventsUnavailable(why))
    }

    // MARK: Status and metrics

    /// What the user socket answers from, made at most once per pass whoever asks and however
    /// often: the status, and each uid's processes per shared group (a /proc read of each
    /// member's uid). A flood of requests costs the agent one of each per pass.
    private var mineBasis: (pass: Int, status: StatusReport, byUID: [UInt32: [String: Int]])?

    /// One user's own share (`fairshare status --mine`): their own subgroups' figures, the
    /// shared groups' as wholes, nothing of anyone else.
    public func mine(uid: UInt32) -> MineReport {
        let basis: (pass: Int, status: StatusReport, byUID: [UInt32: [String: Int]])
        if let b = mineBasis, b.pass == reporter.ticks {
            basis = b
        } else {
            var byUID: [UInt32: [String: Int]] = [:]
            for (id, m) in reconciler.members where m.group.userNode == nil {
                // The uid of a process that is still the one the agent placed (not a reused pid).
                guard let p = env.processes.lookup(id.pid, details: .ids).process, p.identity == id else { continue }
                byUID[p.uid, default: [:]][m.group.rawValue, default: 0] += 1
            }
            basis = (reporter.ticks, status(), byUID)
            mineBasis = basis
        }
        var counts = basis.byUID[uid] ?? [:]
        for g in basis.status.groups where g.uid == uid { counts[g.name] = g.members }
        var halfLife: Double?
        if case .decayed(let h, _) = policy.agent.fairness { halfLife = h.seconds }
        return MineReport.make(status: basis.status, uid: uid, user: env.userName(uid), processesByGroup: counts,
                               displayName: { g in GroupName(path: g.name).map(displayPath) ?? g.name }, halfLifeSeconds: halfLife)
    }

    /// The status report served to `fairshare status`.
    public func status() -> StatusReport { reporter.status(context) }

    /// The Prometheus text of the agent now (`fairshare metrics`): the same the textfile gets.
    public func metricsText() -> String { reporter.metricsText(context) }

    // MARK: Reload

    /// Re-reads and validates the whole policy; swaps it in only if valid, then enforces at once.
    /// An invalid policy leaves the one in force untouched.
    @discardableResult
    public func reload() async -> ReloadOutcome {
        reporter.reloading(monotonicUsec: env.clock.monotonicNanoseconds() / 1000)
        reporter.reloadRequested()
        defer { reporter.ready(context) }
        defer { returnFreedMemoryToTheKernel() }  // the parse's transient memory, good or bad policy
        let now = env.clock.wallSeconds()
        let outcome: ReloadOutcome
        do {
            var next = try PolicyParser.validate(try env.readFile(policyPath), file: policyPath, capacity: capacity, resolveUser: env.resolveUser)
            if next.agent.cgroupRoot != policy.agent.cgroupRoot {
                reporter.emit(.cgrouprootChangeIgnored(from: "\(policy.agent.cgroupRoot)", to: "\(next.agent.cgroupRoot)", keeping: env.cgroups.rootAbsolutePath))
                next.agent.cgroupRoot = policy.agent.cgroupRoot
            }
            let (from, to) = (policy.agent.mode, next.agent.mode)
            // Enforcing needs the tree; a tree that can not be made ready rejects the reload
            // (the agent goes on observing).
            if to == .enforce {
                do throws(CgroupSetupError) { try prepareCgroups() } catch { throw ModeChangeError(description: "cannot enforce: \(error)") }
            }
            // Back to observing: everything is given back first, by the state that enforced it.
            let released = from == .enforce && to == .observe ? releaseEverything() : nil
            reconciler.replacePolicy(next, classifier: Self.classifier(next, env))
            if from != to { reporter.emit(.mode(to, released: released)) }
            if to == .enforce { reporter.enforcing() }
            passesSinceHierarchy = Observer.hierarchyEveryPasses  // the new groups' shares at once
            outcome = ReloadOutcome(applied: true, at: now, error: nil)
            reporter.reloaded(outcome, path: policyPath)
            logPolicyLoaded()
            events.reloaded()
            await tick()
        } catch {
            outcome = ReloadOutcome(applied: false, at: now, error: "\(error)")
            reporter.reloaded(outcome, path: policyPath)
        }
        // The textfile follows the reload at once (a new path, the reload counter, new groups).
        if !stopped { reporter.publishMetrics(status(), context: context) }
        return outcome
    }

    private func logPolicyLoaded() {
        reporter.emit(.policyLoaded(policy, path: policyPath))
        for w in policy.warnings { reporter.emit(.policyWarning(w.description, path: policyPath)) }
    }

    // MARK: Plan

    /// What a reload of this policy text would do now, without doing any of it (`fairshare
    /// plan`): validated as a reload validates it, observed through the Observer (a full scan and
    /// the units' listing, taken off the actor: the passes go on meanwhile), then the
    /// reconciler's `preview`, which decides it with the same `decide` on a copy. Nothing is
    /// written: no cgroup file, no unit property, no ledger.
    public func plan(policy text: String, path: String) async -> Result<PlanReport, PolicyError> {
        defer { returnFreedMemoryToTheKernel() }  // the scan's and the parse's transient memory
        var next: Policy
        do throws(PolicyError) { next = try PolicyParser.validate(text, file: path, capacity: capacity, resolveUser: env.resolveUser) } catch { return .failure(error) }
        var notes: [String] = []
        if next.agent.cgroupRoot != policy.agent.cgroupRoot {
            notes.append("cgroup_root \(next.agent.cgroupRoot) would be ignored until a restart: the agent keeps \(env.cgroups.rootAbsolutePath)")
            next.agent.cgroupRoot = policy.agent.cgroupRoot
        }
        return .success(await wouldDo(next, path: path, notes: notes))
    }

    /// What enforcing `next` would do now (`plan` of a new policy, an observing pass of the
    /// one in force): a full scan and the units' listing, off the actor, then the reconciler's
    /// `preview` on them. `notes` go before what the scan could not read.
    private func wouldDo(_ next: Policy, path: String, notes: [String] = []) async -> PlanReport {
        let observer = self.observer
        let observation = await Task.detached { observer.observeForPlan(next) }.value
        var notes = notes
        if let why = observation.processScan?.unavailableReason {
            notes.append("/proc could not be read (\(why)): no process is shown moving")
        } else if let scan = observation.processScan?.value, !scan.unreadable.isEmpty {
            notes.append("\(scan.unreadable.count) process(es) could not be read and are left out (\(scan.firstProblem ?? "unknown"))")
        }
        let preview = reconciler.preview(next: next, classifier: Self.classifier(next, env), observation: observation, capacity: capacity,
                                         interval: interval.seconds)
        var report = PolicyPlan.evaluate(preview, next: next, processes: observation.processes ?? [], root: env.cgroups.root,
                                         capacity: capacity, path: path)
        report.notes += notes
        return report
    }

    // MARK: Shutdown

    /// Gives every process in a group back to where it came from, removes the groups and gives
    /// every unit its own weights back; a group that can not be removed (a process in it could
    /// not be given back) gets the kernel's defaults back. Then says exactly what was and was not
    /// done. Nothing is killed; a process that can not be given back stays where it is (and is
    /// named), and the ledger keeps its origin for `fairshare recover`.
    @discardableResult
    public func shutdown() -> ReleaseReport? {
        guard !stopped else { return nil }
        stopped = true
        reporter.stopping()
        env.events?.close()
        // Observing, there is nothing to give back: the switch to observe (or an observing
        // start) gave back what was enforced, and nothing was taken since.
        let report = policy.agent.mode == .observe ? ReleaseReport(plan: Plan(), outcomes: [], after: .value([]), scan: nil) : releaseEverything()
        reporter.withdrawMetrics(context)
        reporter.emit(.stopping(report))
        return report
    }

    /// Gives back every process, group and unit property the agent holds, as a stop does (the
    /// agent keeps running: a stop, or a reload to observe mode).
    private func releaseEverything() -> ReleaseReport {
        let observation = observer.observeForRelease()
        let release = reconciler.planRelease(observation)
        let outcomes = actuator.perform(release)
        reconciler.absorb(release, outcomes)
        reporter.pass(nil, release, outcomes, snapshot: reconciler.snapshot, groupPath: groupPath, context: context)
        let after = observer.groupCgroups()
        // What stays behind holds the kernel's defaults, then the ledger says what is left
        // (nothing, after a complete give-back).
        for follow in [reconciler.planLeftoverDefaults(groups: after.value ?? []), reconciler.ledgerUpdate()] where !follow.isEmpty {
            let done = actuator.perform(follow)
            reconciler.absorb(follow, done)
            reporter.pass(nil, follow, done, snapshot: reconciler.snapshot, groupPath: groupPath, context: context)
        }
        let report = ReleaseReport(plan: release, outcomes: outcomes, after: after, scan: observation.processScan)
        if !report.unitsNotRestored.isEmpty { reporter.emit(.unitsKeepAgentWeights(report.unitsNotRestored)) }
        return report
    }

    /// Which group a process falls in and why (`fairshare explain`).
    public func explain(pid: Int32) -> ExplainReport? {
        guard let p = observer.observeProcess(pid).process else { return nil }
        let (verdict, member) = reconciler.explain(p)
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
            if policy.group(named: g)?.perUser != nil {
                // The group's users each have their subgroup: the member's, or the one it goes to.
                if let m = member, m.group.parent == g { report.group = m.group.rawValue }
                report.reason = "matches group \(g), one subgroup per user: uid \(p.uid)'s" + (member?.group.parent == g ? "" : " (not moved yet: next pass)")
            } else {
                report.reason = "matches group \(g)" + (member == nil ? " (not moved yet: next pass)" : "")
            }
        case .unmatched:
            if let m = member {
                report.reason = m.reason == .inherited ? "matches no group; stays in \(m.group) where it was born or found" : "matches no group"
            } else {
                report.reason = "matches no group; left where it is"
            }
        }
        report.path = report.group.flatMap { GroupName(path: $0) }.map(displayPath)
        return report
    }

    /// A group's path as people read it: `research / lab-a`, `logins / alice` (a user's
    /// subgroup by the user's name where it resolves).
    func displayPath(_ g: GroupName) -> String {
        var parts = g.components
        if let uid = g.userNode?.uid, g.parent.flatMap({ policy.group(named: $0)?.perUser }) != nil {
            parts[parts.count - 1] = env.userName(uid) ?? "uid \(uid)"
        }
        return parts.joined(separator: " / ")
    }
}

/// A reload that asked for enforcing where the cgroup tree can not be made ready.
struct ModeChangeError: Error, CustomStringConvertible {
    var description: String
}
