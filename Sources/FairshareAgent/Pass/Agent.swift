import FairshareCore
import FairshareEdge
import FairshareLinux
import Logging

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

/// The agent: one pass at a time, each pass one way through four stages,
///
///     observe (Observer) -> decide (Reconciler, pure) -> act (Actuator) -> report (Reporter)
///
/// and the decide stage learns only from the act stage's outcomes. The actor serialises ticks,
/// reloads, status requests and shutdown; it holds the stages' state and the facts status needs.
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
    /// The last pass's observation, and the last hierarchy read for status (every few passes).
    var lastObservation: Observation?
    var hierarchy = HierarchySnapshot()
    var passesSinceHierarchy = Observer.hierarchyEveryPasses

    private let startedAt: Double
    private var policyLoadedAt: Double
    private var lastReload: ReloadOutcome?
    /// Reload requests handled (applied or rejected): `fairshare reload --pid` waits for it to grow.
    private var reloads = 0
    private var ticks = 0
    /// How long the recent passes took (status: last and median).
    private var passTimes = PassTimes()
    private var lastSummaryAt: UInt64?
    private var stopped = false
    /// Passes begun: a pass whose observation was overtaken by a newer pass is dropped.
    private var passSerial = 0
    /// The Prometheus registry behind `fairshare metrics` and the textfile.
    var metrics: AgentMetrics
    /// The textfile directory last found missing (told once, until it appears).
    private var toldNoTextfileDirectory: String?
    /// The report interval's status, published once the pass that took it is counted.
    private var metricsDue: StatusReport?

    /// - Parameter policy: the already validated policy the agent starts with.
    public init(policy: Policy, policyPath: String, env: AgentEnvironment, logger: Logger, intervalOverride: Duration? = nil,
                version: String = "unknown") {
        self.env = env
        self.metrics = AgentMetrics(version: version)
        self.policyPath = policyPath
        self.intervalOverride = intervalOverride
        self.startedAt = env.clock.wallSeconds()
        self.policyLoadedAt = startedAt
        self.reporter = Reporter(logger: logger, repeatEvery: policy.agent.reportInterval)
        var recorded: OriginLedger.Contents?
        if let store = env.origins {
            do {
                if let text = try store.load() { recorded = try OriginLedger.decode(text) }
            } catch {
                // Without the ledger the origins of processes found in groups are inferred.
                reporter.emit(.ledgerIgnored("\(error)"))
            }
        }
        self.reconciler = Reconciler(policy: policy, classifier: Self.classifier(policy, env), rootPath: env.cgroups.root,
                                     recorded: recorded)
        self.events = ProcessEventBook(unavailable: env.events == nil ? env.eventsUnavailable ?? "no process event source" : nil)
        reconciler.keepsVerdicts = !events.listening
    }

    static func classifier(_ policy: Policy, _ env: AgentEnvironment) -> Classifier {
        Classifier(policy: policy, agentPID: env.agentPID, resolveUser: env.resolveUser, resolveGroup: env.resolveGroup)
    }

    public var policy: Policy { reconciler.policy }
    public var interval: Duration { intervalOverride ?? policy.agent.interval }
    var capacity: Double { Double(max(env.capacityCPUs, 1)) }
    var classificationCache: ClassificationCache { reconciler.classificationCache }
    var observer: Observer { Observer(env: env) }
    var actuator: Actuator { Actuator(env: env) }

    /// Runs until the trigger sequence ends or delivers `.shutdown`; then gives every process back.
    public func run<S: AsyncSequence & Sendable>(triggers: S) async where S.Element == Trigger {
        reporter.emit(.started(root: env.cgroups.rootAbsolutePath, policyPath: policyPath, groups: policy.groups.count))
        logPolicyLoaded()
        if let why = env.eventsUnavailable, !events.listening { reporter.emit(.eventsUnavailable(why)) }
        await tick()
        env.notifier.notify("READY=1\nSTATUS=\(statusLine())")
        do {
            for try await trigger in triggers {
                switch trigger {
                case .tick: await tick()
                case .reload: _ = await reload()
                case .watchdog: env.notifier.notify("WATCHDOG=1")
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

    /// One pass: observe, decide, act, absorb, report. A pass that scans /proc observes on the actor. One that does not (events keep the
    /// memberships) reads its counters off the actor, so event passes run meanwhile: under
    /// emulation a pass's reads took 70 to 100 ms, which every event arriving then waited for.
    /// A pass overtaken meanwhile (a reload's own pass, shutdown) is dropped.
    public func tick() async {
        guard !stopped else { return }
        let started = env.clock.monotonicNanoseconds()
        passSerial += 1
        let serial = passSerial
        let due = events.scanDue(at: started, every: policy.agent.rescanInterval)
        let known = Set(reconciler.unitBook.originals.keys)
        let observation: Observation
        // The disks at the hierarchy's pace (the first pass after start or reload, then every few).
        let disks = hierarchyIsDue
        if due.scan {
            observation = observer.observe(policy: policy, knownOriginals: known, scanProcesses: true, readDisks: disks)
        } else {
            let (observer, policy) = (self.observer, self.policy)
            observation = await Task.detached { observer.observe(policy: policy, knownOriginals: known, scanProcesses: false, readDisks: disks) }.value
            guard !stopped, serial == passSerial else { return }
        }
        let before = reconciler.lastDecision
        let plan = reconciler.decide(observation, capacity: capacity, interval: interval.seconds)
        let outcomes = actuator.perform(plan)
        reconciler.absorb(plan, outcomes)
        if let reason = due.reason {
            events.rescanned(reason, at: started, corrected: plan.membershipChangesDone(outcomes))
            // The scan's transient arrays (one entry per process): give the pages back, so the
            // agent's resident size between rescans does not depend on the number of processes.
            returnFreedMemoryToTheKernel()
        }

        lastObservation = observation
        let readHierarchy = hierarchyDue()
        if readHierarchy && due.scan { hierarchy = observer.observeHierarchy(policy: policy, units: reconciler.unitCgroups) }
        ticks += 1
        report(observation, plan, outcomes, decisionBefore: before)
        if readHierarchy && !due.scan {
            // Status only, and a few dozen reads: off the actor too, like the counters.
            let (observer, policy, units) = (self.observer, self.policy, reconciler.unitCgroups)
            let read = await Task.detached { observer.observeHierarchy(policy: policy, units: units) }.value
            if !stopped { hierarchy = read }
        }
        let took = env.clock.monotonicNanoseconds() - started
        passTimes.record(nanoseconds: took)
        metrics.pass(seconds: Double(took) / 1e9)
        // After the pass is counted, so the textfile shows the pass that wrote it.
        if let report = metricsDue {
            metricsDue = nil
            publishMetrics(report)
        }
    }

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
            digest.add(event, receivedAt: at, isMember: { reconciler.enforcer.member(pid: $0) != nil })
        }
        events.received(digest.counts, malformed: batch.malformed)
        if let why = batch.closed, events.listening { fallBack("the event source closed: \(why)") }
        if batch.overflowed && events.listening {
            events.overflowed()
            reporter.emit(.eventsOverflow(overflows: events.overflows))
            await tick()
            return
        }
        guard events.listening, !digest.isEmpty else { return }

        let (changes, vanished) = observer.observeChanges(digest, policy: policy)
        events.raced(vanished)
        let plan = reconciler.decideChanges(changes)
        let outcomes = actuator.perform(plan)
        reconciler.absorb(plan, outcomes)
        let done = env.clock.monotonicNanoseconds()
        for (step, outcome) in zip(plan.steps, outcomes) {
            guard case .move(let id, _, _, _, _) = step else { continue }
            switch outcome {
            case .done:
                let received = digest.reread[id.pid] ?? done
                events.moved(latencyMilliseconds: Double(done &- received) / 1e6)
                metrics.classified(latencySeconds: Double(done &- received) / 1e9)
            case .gone: events.raced(1)
            default: break
            }
        }
        reportOutcomes(plan, outcomes, now: env.clock.wallSeconds())
        // A burst's arrays (one entry per event): give the pages back, as after a rescan.
        if batch.events.count >= 1024 { returnFreedMemoryToTheKernel() }
    }

    /// Events stopped: every pass scans /proc from now on, and the journal says why once.
    private func fallBack(_ why: String) {
        events.fellBack(why)
        reconciler.keepsVerdicts = true
        reporter.emit(.eventsUnavailable(why))
    }

    /// The hierarchy (and the disks) are read on this pass.
    private var hierarchyIsDue: Bool { passesSinceHierarchy >= Observer.hierarchyEveryPasses }

    /// Whether this pass reads the hierarchy; counts the pass.
    private func hierarchyDue() -> Bool {
        guard hierarchyIsDue else {
            passesSinceHierarchy += 1
            return false
        }
        passesSinceHierarchy = 1
        return true
    }

    private func report(_ observation: Observation, _ plan: Plan, _ outcomes: [StepOutcome], decisionBefore: Controller.Decision?) {
        let now = env.clock.wallSeconds()
        reporter.observation(observation, policy: policy, root: env.cgroups.rootAbsolutePath, unitsKnown: reconciler.unitsKnown, now: now)
        reporter.disks(observation.disks, policy: policy, path: policyPath)
        reportOutcomes(plan, outcomes, now: now)
        reporter.transitions(from: decisionBefore, to: reconciler.lastDecision)
        reporter.endPass()
        summarize()
    }

    private func reportOutcomes(_ plan: Plan, _ outcomes: [StepOutcome], now: Double) {
        metrics.outcomes(StepTally(plan, outcomes))
        reporter.outcomes(plan, outcomes, policy: policy, groupPath: { [env] g in env.cgroups.fs.absolutePath(env.cgroups.path(of: g)) },
                          originals: reconciler.unitBook.originals, now: now)
    }

    /// The summary, once per report interval; the first one report interval after start, when
    /// rates mean something. systemd's STATUS= line is renewed at the same pace (and at start
    /// and reload): a status report is a third of a pass's cost with events (`make bench`), too
    /// much to spend on every pass of an idle machine.
    private func summarize() {
        let now = env.clock.monotonicNanoseconds()
        let every = UInt64(policy.agent.reportInterval.milliseconds) * 1_000_000
        if let last = lastSummaryAt, now - last < every { return }
        let first = lastSummaryAt == nil
        lastSummaryAt = now
        let report = status()
        env.notifier.notify("STATUS=\(statusLine(report))")
        metricsDue = report
        if !first { reporter.emit(.summary(report)) }
    }

    // MARK: Metrics

    /// The Prometheus text of the agent now (`fairshare metrics`): the same the textfile gets.
    public func metricsText() -> String {
        metrics.update(status())
        return metrics.render()
    }

    /// Feeds the registry from `report` and writes the textfile, if the policy names one and its
    /// directory exists. A failed write is reported like any failed write; the agent goes on.
    private func publishMetrics(_ report: StatusReport) {
        metrics.update(report)
        guard let path = policy.agent.metricsTextfile, let files = env.metricsFiles else { return }
        switch MetricsTextfile.write(metrics.render(), to: path, files: files) {
        case .written:
            toldNoTextfileDirectory = nil
            reporter.metricsTextfile(path, failure: nil, now: env.clock.wallSeconds())
        case .noDirectory(let dir):
            reporter.metricsTextfile(path, failure: nil, now: env.clock.wallSeconds())
            guard toldNoTextfileDirectory != dir else { return }
            toldNoTextfileDirectory = dir
            reporter.logger.info("metrics textfile not written: \(dir) does not exist (node_exporter's textfile collector is not installed); written once it exists",
                                 metadata: ["event": "setup", "path": .string(path)])
        case .failed(let error):
            reporter.metricsTextfile(path, failure: error, now: env.clock.wallSeconds())
        }
    }

    private func statusLine(_ s: StatusReport? = nil) -> String {
        let s = s ?? status()
        let members = s.groups.reduce(0) { $0 + $1.members }
        let shown = s.groups.filter { $0.members > 0 }.map { "\($0.name) \(pct($0.cpuUsagePercent))%/\(pct($0.cpuTargetPercent))%" }
        return "\(policy.groups.count) groups, \(members) processes" + (shown.isEmpty ? "" : "; usage/target: " + shown.joined(separator: ", "))
    }

    private func pct(_ x: Double?) -> String { x.map { FixedPoint.format($0, places: 1) } ?? "n/a" }

    /// The status report served to `fairshare status`: a projection of the reconciler's state,
    /// the last observation and the open failures.
    public func status() -> StatusReport {
        StatusProjection.report(
            reconciler, observation: lastObservation, hierarchy: hierarchy, failures: reporter.failures,
            facts: .init(pid: env.agentPID, startedAt: startedAt, now: env.clock.wallSeconds(), cgroupRoot: env.cgroups.rootAbsolutePath,
                         rootPath: env.cgroups.root, intervalSeconds: interval.seconds, capacity: capacity, ticks: ticks,
                         passTimes: passTimes, policyPath: policyPath, policyLoadedAt: policyLoadedAt, lastReload: lastReload,
                         reloads: reloads, events: events.status))
    }

    // MARK: Reload

    /// Re-reads and validates the whole policy; swaps it in only if valid, then enforces at once.
    /// An invalid policy leaves the one in force untouched.
    @discardableResult
    public func reload() async -> ReloadOutcome {
        env.notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(env.clock.monotonicNanoseconds() / 1000)")
        reloads += 1
        defer { env.notifier.notify("READY=1\nSTATUS=\(statusLine())") }
        defer { returnFreedMemoryToTheKernel() }  // the parse's transient memory, good or bad policy
        let now = env.clock.wallSeconds()
        let outcome: ReloadOutcome
        do {
            let text = try env.readFile(policyPath)
            var next = try PolicyParser.parse(text, file: policyPath)
            let problems = PolicyParser.capacityProblems(next, capacity: capacity)
            if !problems.isEmpty { throw PolicyError(problems: problems) }
            if next.agent.cgroupRoot != policy.agent.cgroupRoot {
                reporter.emit(.cgrouprootChangeIgnored(from: "\(policy.agent.cgroupRoot)", to: "\(next.agent.cgroupRoot)", keeping: env.cgroups.rootAbsolutePath))
                next.agent.cgroupRoot = policy.agent.cgroupRoot
            }
            reconciler.replacePolicy(next, classifier: Self.classifier(next, env))
            passesSinceHierarchy = Observer.hierarchyEveryPasses  // the new groups' shares at once
            policyLoadedAt = now
            outcome = ReloadOutcome(applied: true, at: now, error: nil)
            lastReload = outcome
            logPolicyLoaded()
            events.reloaded()
            metrics.reload(applied: true)
            await tick()
        } catch {
            outcome = ReloadOutcome(applied: false, at: now, error: "\(error)")
            lastReload = outcome
            reporter.emit(.policyRejected(path: policyPath, error: "\(error)"))
            metrics.reload(applied: false)
        }
        // The textfile follows the reload at once (a new path, the reload counter, new groups).
        if !stopped { publishMetrics(status()) }
        return outcome
    }

    private func logPolicyLoaded() {
        reporter.emit(.policyLoaded(policy, path: policyPath))
        for w in policy.warnings { reporter.emit(.policyWarning(w.description, path: policyPath)) }
    }

    // MARK: Plan

    /// What a reload of this policy text would do now, without doing any of it (`fairshare
    /// plan`): validated as a reload validates it, then a full /proc scan taken off the actor (the
    /// passes go on meanwhile) and `PolicyPlan` on a copy of the reconciler's state. Nothing is
    /// written: no cgroup file, no unit property, no ledger.
    public func plan(policy text: String, path: String) async -> Result<PlanReport, PolicyError> {
        defer { returnFreedMemoryToTheKernel() }  // the scan's and the parse's transient memory
        var next: Policy
        do throws(PolicyError) {
            // The size limit a policy file has (the text came over the socket, not from a file).
            let checked = try PolicyParser.text(of: Array(text.utf8), file: path)
            next = try PolicyParser.parse(checked, file: path)
            let problems = PolicyParser.capacityProblems(next, capacity: capacity)
            if !problems.isEmpty { throw PolicyError(problems: problems) }
        } catch {
            return .failure(error)
        }
        var notes: [String] = []
        if next.agent.cgroupRoot != policy.agent.cgroupRoot {
            notes.append("cgroup_root \(next.agent.cgroupRoot) would be ignored until a restart: the agent keeps \(env.cgroups.rootAbsolutePath)")
            next.agent.cgroupRoot = policy.agent.cgroupRoot
        }
        let (env, scanned) = (self.env, next)
        let (processes, listed) = await Task.detached { () -> ([ProcessInfo], [UnitInfo]?) in
            let processes = env.processes.scan(details: ProcessDetails(for: scanned))
            let patterns = scanned.unitPatterns
            guard !patterns.isEmpty else { return (processes, []) }
            return (processes, try? env.units.units(matching: patterns))
        }.value
        var report = PolicyPlan.evaluate(current: reconciler, next: next, classifier: Self.classifier(next, env), processes: processes,
                                         listedUnits: listed, capacity: capacity, interval: interval.seconds, path: path)
        report.notes += notes
        return .success(report)
    }

    // MARK: Shutdown

    /// Gives every process in a group back to where it came from, removes the groups and gives
    /// every unit its own weights back; then says exactly what was and was not done. Nothing is
    /// killed; a process that can not be given back stays where it is (and is named).
    @discardableResult
    public func shutdown() -> ReleaseReport? {
        guard !stopped else { return nil }
        stopped = true
        env.notifier.notify("STOPPING=1")
        env.events?.close()
        let now = env.clock.wallSeconds()
        let plan = reconciler.planRelease(observer.observeForRelease())
        let outcomes = actuator.perform(plan)
        reconciler.absorb(plan, outcomes)
        reportOutcomes(plan, outcomes, now: now)
        // The ledger now says what is left (nothing, after a complete give-back).
        let ledger = reconciler.ledgerUpdate()
        let ledgerOutcomes = actuator.perform(ledger)
        reconciler.absorb(ledger, ledgerOutcomes)
        reportOutcomes(ledger, ledgerOutcomes, now: now)
        let release = ReleaseReport(plan: plan, outcomes: outcomes, after: observer.groupCgroups())
        if !release.unitsNotRestored.isEmpty { reporter.emit(.unitsKeepAgentWeights(release.unitsNotRestored)) }
        // The groups are gone: node_exporter must not go on serving their last figures. (After a
        // crash the file stays, and node_textfile_mtime_seconds shows its age.)
        if let path = policy.agent.metricsTextfile, let files = env.metricsFiles { files.remove(path) }
        reporter.emit(.stopping(release))
        return release
    }

    /// Which group a process falls in and why (`fairshare explain`).
    public func explain(pid: Int32) -> ExplainReport? {
        guard let p = env.processes.process(pid) else { return nil }
        let member = reconciler.enforcer.members[p.identity]
        let verdict = reconciler.classifier.classify(p, originCgroup: member?.origin ?? p.cgroup)
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

}
