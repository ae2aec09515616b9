import FairshareCore
import FairshareEdge
import FairshareLinux
import Logging

/// The report stage: turns what a pass saw, did and decided into what the admin sees, and is
/// the only stage that tells anyone anything: journal events (AgentEvent), the failure book,
/// systemd's side channel (READY=, STATUS=, WATCHDOG=, ...), the Prometheus registry and its
/// textfile, and the status report. Every failure, of a read or a write, goes through one
/// FailureBook: told once per (target, cause), again as "still failing" at most once per report
/// interval, and "recovered" when it works again.
struct Reporter: Sendable {
    let logger: Logger
    let notifier: any ServiceNotifier
    private(set) var failures: FailureBook
    /// The Prometheus registry behind `fairshare metrics` and the textfile.
    var metrics: AgentMetrics
    /// A full book is told once; status keeps the running count (`untracked_failures`).
    private var toldUntracked = false
    /// The metrics textfile's open failure: it is written once per report interval, so its
    /// failure is kept open through the passes between.
    private var textfileFailing: String?
    /// The textfile directory last found missing (told once, until it appears).
    private var toldNoTextfileDirectory: String?
    /// What the journal was last told of each disk, whether "nowhere" holds, and BFQ's range warning.
    private var toldDisks: [String: IODeviceStatus] = [:]
    private var toldNowhere = false
    private var toldBFQRange: String?

    // What status shows besides the reconciler's snapshot, kept as the passes go.
    /// The reconciler's state as the last pass (or event pass) left it.
    private(set) var published: ReconcilerSnapshot
    /// The last pass's observation, and the hierarchy as last read (every few passes).
    private(set) var lastObservation: Observation?
    var hierarchy = HierarchySnapshot()
    /// Observe mode: what enforcing would do, as the last pass decided it (nil while enforcing).
    private(set) var would: PlanReport?
    private(set) var ticks = 0
    /// How long the recent passes took (status: last and median).
    private var passTimes = PassTimes()
    let startedAt: Double
    private(set) var policyLoadedAt: Double
    private(set) var lastReload: ReloadOutcome?
    /// Reload requests handled (applied or rejected): `fairshare reload --pid` waits for it to grow.
    private(set) var reloads = 0
    private var lastSummaryAt: UInt64?
    /// The report interval's status, published once the pass that took it is counted.
    private var metricsDue: StatusReport?
    /// The names of the users whose subgroups exist, looked up once per user (NSS may be slow).
    private var userNames: [UInt32: String] = [:]
    /// The users looked up, named or not: a uid with no name is not asked again every pass
    /// (each miss walks every NSS source), only once it left and came back, or after a reload.
    private var usersLookedUp: Set<UInt32> = []
    /// The tree (`ReconcilerSnapshot.treeRevision`) the names were last learnt for.
    private var namesLearntFor: Int?

    init(logger: Logger, notifier: any ServiceNotifier, repeatEvery: Duration, version: String, startedAt: Double, snapshot: ReconcilerSnapshot) {
        self.logger = logger
        self.notifier = notifier
        self.failures = FailureBook(repeatEvery: repeatEvery.seconds)
        self.metrics = AgentMetrics(version: version)
        self.startedAt = startedAt
        self.policyLoadedAt = startedAt
        self.published = snapshot
    }

    func emit(_ event: AgentEvent) {
        event.log(to: logger)
    }

    // MARK: Readings

    /// Every reading of the pass: failures are told (once), readings that work again recover.
    mutating func observation(_ o: Observation, policy: Policy, root: String, unitsKnown: Bool, now: Double) {
        track(o.groupCgroups, "listing the groups under \(root)", headline: "cannot list the groups under \(root)", level: .error, now: now,
              consequence: "no group is created or removed until it can be listed")
        if let scan = o.processScan {
            // A pass without a scan (events keep the memberships) says nothing of /proc.
            track(scan, "scanning /proc", headline: "cannot scan /proc", level: .error, now: now,
                  consequence: "every process stays where it is, every membership and the origin ledger are kept; scanned again next pass")
            if let s = scan.value {
                let target = "reading processes under /proc"
                if s.unreadable.isEmpty {
                    if let f = failures.succeeded(target) { emit(.recovered(f)) }
                } else {
                    note(target, cause: "unreadable", message: "\(s.unreadable.count) process(es) could not be read (first: \(s.firstProblem ?? "unknown"))",
                         headline: "cannot read some processes under /proc", level: .warning,
                         consequence: "they stay where they are and keep their memberships; read again next pass", context: [:], now: now)
                }
            }
        }
        if let reserve = o.descriptorReserve {
            track(reserve, "the agent's descriptors", headline: "the descriptor table is full", level: .error, now: now,
                  consequence: "the agent gave up its reserve of \(DescriptorReserve.size) descriptors and works on them; it takes them back once \(DescriptorReserve.size + DescriptorReserve.margin) can be opened (raise LimitNOFILE=, or find what holds the descriptors: ls /proc/PID/fd)")
        }
        if let disks = o.disks {
            track(disks, "the disks", headline: "cannot read the disks", level: .warning, now: now,
                  consequence: "io.bfq.weight and status go by the last reading of the disks, if any, until they can be read")
        } else {
            // Read every few passes: the failure stays open in between.
            failures.keep("the disks")
        }
        // The policy's groups and the users' subgroups: every group whose counters were read.
        // With no failure open, a group whose readings all worked has nothing to report: one per
        // user per pass, so they are not even sorted.
        let toTrack = failures.open.isEmpty ? o.groupStats.filter { !$0.value.allAsIntended } : o.groupStats
        for (g, stats) in toTrack.sorted(by: { $0.key < $1.key }) {
            track(stats, "group \(g)", context: ["group": .string(g.rawValue)], now: now)
        }
        guard !policy.unitGroups.isEmpty else { return }
        track(o.units.listing, "listing the units of unit-backed groups through systemd",
              headline: "cannot list the units of unit-backed groups (\(policy.unitPatterns.joined(separator: ", "))) through systemd", level: .error, now: now,
              consequence: unitsKnown ? "keeping the last listing" : "moving no process until systemd answers, so none is taken out of a unit")
        for (unit, reading) in o.units.originals.sorted(by: { $0.key < $1.key }) {
            track(reading, "the weights of unit \(unit) through systemd", headline: "cannot read the weights of unit \(unit) through systemd",
                  level: .error, now: now, consequence: "they are not changed until they can be read", context: ["unit": .string(unit)])
        }
        for (unit, stats) in o.units.stats.sorted(by: { $0.key < $1.key }) {
            track(stats, "unit \(unit)", context: ["unit": .string(unit)], now: now)
        }
    }

    private mutating func track(_ stats: CgroupStats, _ owner: String, context: Logger.Metadata, now: Double) {
        track(stats.cpu, "cpu.stat of \(owner)", level: .warning, now: now,
              consequence: "its usage is shown as unavailable and, until it can be read, it is taken to want its whole share (no group borrows it)", context: context)
        track(stats.io, "io.stat of \(owner)", level: .warning, now: now, consequence: "its io rates are shown as unavailable", context: context)
        // PSI may be compiled out or disabled (psi=0): not an error, demand still has two signs.
        track(stats.pressure, "cpu.pressure of \(owner)", level: .notice, now: now,
              consequence: "its demand goes by throttling and allowance alone", context: context)
    }

    /// `headline` is built only when there is a failure to tell.
    private mutating func track<T>(_ reading: Reading<T>, _ target: String, headline: @autoclosure () -> String? = nil, level: Logger.Level, now: Double,
                                   consequence: String, context: Logger.Metadata = [:]) {
        switch reading {
        case .value:
            if let f = failures.succeeded(target) { emit(.recovered(f)) }
        case .unavailable(CgroupStats.notReadForUsers):
            break  // not read by design, not a failure
        case .unavailable(let why):
            note(target, cause: why, message: why, headline: headline() ?? "cannot read \(target)", level: level, consequence: consequence,
                 context: context, now: now)
        }
    }

    private mutating func note(_ target: String, cause: String, message: String, headline: String, level: Logger.Level, consequence: String?,
                               context: Logger.Metadata, now: Double) {
        switch failures.failed(target, cause: cause, message: message, at: now) {
        case .first(let f): emit(.failed(f, level: level, headline: headline, consequence: consequence, context: context))
        case .stillFailing(let f): emit(.stillFailing(f))
        case .quiet: break
        case .untracked:
            if !toldUntracked { emit(.failuresUntracked(failures.untracked)) }
            toldUntracked = true
        }
    }

    // MARK: Outcomes

    /// What each step did: the done ones as their own events, the failed ones through the book.
    mutating func outcomes(_ plan: Plan, _ outcomes: [StepOutcome], policy: Policy, groupPath: (GroupName) -> String,
                           originals: [String: UnitWeights], now: Double) {
        // The group files written, one journal entry per group and event (GroupFile.Journal).
        var settings: [SettingsKey: [GroupSetting]] = [:]
        var settingsOrder: [SettingsKey] = []
        let moves = plan.steps.contains(where: \.isMove)
        for (step, outcome) in zip(plan.steps, outcomes) {
            switch outcome {
            case .done, .gone:
                if let f = failures.succeeded(step.target) { emit(.recovered(f)) }
            case .failed(let cause, let message):
                note(step.target, cause: cause, message: message, headline: step.failureHeadline, level: step.failureLevel,
                     consequence: step.consequence(moves: moves), context: step.context, now: now)
                continue
            case .skipped:
                continue
            }
            let shares = { (g: GroupName) in policy.group(named: g)?.shares.value }
            switch (step, outcome) {
            case (.createGroup(let g), .done):
                emit(.groupCreated(g, absolutePath: groupPath(g), shares: shares(g)))
            case (.set(let s), .done):
                let key = SettingsKey(group: s.group, event: s.row.journal.event)
                if settings[key] == nil { settingsOrder.append(key) }
                settings[key, default: []].append(s)
            case (.move(let id, let comm, let g, let origin, let keys), .done):
                emit(.moved(id, comm: comm, group: g, origin: origin, keys: keys))
            case (.restore(let id, let comm, let g, let origin), .done):
                emit(.restored(id, comm: comm, group: g, origin: origin))
            case (.removeGroup(let g), .done):
                emit(.groupRemoved(g))
            case (.setUnitWeights(let unit, let g, let w), .done):
                emit(.unitWeights(unit: unit, group: g, w, shares: shares(g), original: originals[unit]))
            case (.restoreUnitWeights(let unit, let w), .done):
                emit(.unitRestored(unit: unit, w))
            case (.restoreUnitWeights(let unit, _), .gone):
                emit(.unitGone(unit: unit))
            default:
                break
            }
        }
        for key in settingsOrder {
            let g = policy.group(named: key.group)
            emit(.settings(key.group, settings[key]!, shares: g?.shares.value, ioShares: g?.ioShares.value))
        }
    }

    private struct SettingsKey: Hashable {
        var group: GroupName
        var event: String
    }

    // MARK: Decisions

    /// Borrowing and floors, as they start and stop.
    func transitions(from old: Controller.Decision?, to new: Controller.Decision?) {
        guard let new, new != old else { return }
        for d in new.groups {
            let before = old?.decision(for: d.group)
            let wasBorrowing = (before?.share.borrowed ?? 0) > 0.005
            let borrowing = d.share.borrowed > 0.005
            if borrowing && !wasBorrowing {
                emit(.borrowStarted(d.group, allowed: d.cpuMax, borrowed: d.share.borrowed))
            } else if !borrowing && wasBorrowing {
                emit(.borrowStopped(d.group, max: d.cpuMax, elsewhere: d.demandReason))
            }
            let atFloor = d.share.limit == .floor
            if atFloor && before?.share.limit != .floor {
                if let weight = d.cpuWeight { emit(.floorHit(d.group, floor: d.share.allocation, weight: weight)) }
            } else if !atFloor && before?.share.limit == .floor {
                emit(.floorReleased(d.group, limit: d.share.limit.rawValue))
            }
        }
    }

    /// The disks as read (every few passes): each disk's io shares when first seen or changed,
    /// "nowhere" once while no disk has them in force, and BFQ's range warning once per policy
    /// text while some disk uses BFQ.
    mutating func disks(_ reading: Reading<IODisks>?, policy: Policy, path: String) {
        guard let reading = reading?.value else { return }
        let statuses = IOShares.statuses(reading)
        for d in statuses where toldDisks[d.name] != d {
            emit(.ioShares(d))
        }
        toldDisks = Dictionary(statuses.map { ($0.name, $0) }) { _, last in last }
        let nowhere = !statuses.contains(where: \.inForce)
        if nowhere && !toldNowhere { emit(.ioSharesNowhere(disks: statuses.count)) }
        toldNowhere = nowhere
        let rangeWarning = reading.bfqActive ? policy.bfqRangeWarning() : nil
        if let w = rangeWarning, w != toldBFQRange { emit(.policyWarning(w, path: path)) }
        toldBFQRange = rangeWarning
    }

    /// The metrics textfile's write: a failure goes through the book like any other write's.
    mutating func metricsTextfile(_ path: String, failure: MetricsFileError?, now: Double) {
        let target = "metrics textfile \(path)"
        guard let failure else {
            if let f = failures.succeeded(target) { emit(.recovered(f)) }
            textfileFailing = nil
            return
        }
        textfileFailing = target
        note(target, cause: String(failure.errno), message: failure.description, headline: "cannot write the metrics textfile \(path)",
             level: .warning, consequence: "node_exporter shows the metrics last written, if any; tried again every report interval",
             context: [:], now: now)
    }

    /// Ends the pass: failures of targets nothing touched any more are forgotten.
    mutating func endPass() {
        if let t = textfileFailing { failures.keep(t) }
        failures.endPass()
    }
}

extension Step {
    /// What failed, as the start of a sentence.
    var failureHeadline: String {
        switch self {
        case .recordOrigins: "cannot record where processes came from"
        case .set: "setting \(target)"
        case .setUnitWeights(let unit, let g, let w): "setting \(w) on unit \(unit) (group \(g)) through systemd"
        default: "\(target) failed"
        }
    }

    /// The group, unit and pid a report about this step concerns (journal fields).
    var context: Logger.Metadata {
        switch self {
        case .createGroup(let g), .removeGroup(let g):
            ["group": .string(g.rawValue)]
        case .set(let s):
            ["group": .string(s.group.rawValue)]
        case .move(let id, _, let g, _, _), .restore(let id, _, let g, _), .adopt(let id, let g, _, _):
            ["pid": .string(String(id.pid)), "group": .string(g.rawValue)]
        case .setUnitWeights(let unit, let g, _):
            ["unit": .string(unit), "group": .string(g.rawValue)]
        case .restoreUnitWeights(let unit, _):
            ["unit": .string(unit)]
        case .recordOrigins:
            [:]
        }
    }

    /// How loud a failure of this step is: a group that can not be removed yet (usually still
    /// populated: a process that could not be given back) is a warning, the rest are errors.
    var failureLevel: Logger.Level {
        if case .removeGroup = self { return .warning }
        return .error
    }

    /// What the agent does about a failure of this step.
    func consequence(moves: Bool) -> String? {
        switch self {
        case .recordOrigins:
            moves ? "not moving any process until it can be written" : "a restart after a crash would have to guess where processes came from"
        case .removeGroup: "tried again next pass"
        case .set(let s): s.row.onFailure
        case .move: "it stays where it is; tried again next pass"
        case .restore: "it stays in its group; tried again next pass"
        case .setUnitWeights, .restoreUnitWeights: "tried again next pass"
        default: "retried every pass"
        }
    }
}


/// What only the agent knows of itself, handed to the report stage whenever it builds a status.
struct AgentContext: Sendable {
    var pid: Int32
    /// The managed root, absolute and relative to the cgroup2 mount.
    var cgroupRoot: String
    var rootPath: CgroupPath
    var intervalSeconds: Double
    var capacity: Double
    var policy: Policy
    var policyPath: String
    var events: EventStatus
    /// Wall-clock seconds (status) and the monotonic clock (the report interval's pace).
    var now: Double
    var monotonic: UInt64
    var metricsFiles: (any MetricsFiles)?
    /// uid -> user name (the system's databases).
    var userName: @Sendable (UInt32) -> String? = { _ in nil }
}

// The report stage's publishing: status, systemd's side channel, the metrics and their textfile.
extension Reporter {
    // MARK: systemd's side channel (sd_notify)

    func ready(_ context: AgentContext) { notifier.notify("READY=1\nSTATUS=\(statusLine(status(context)))") }
    func reloading(monotonicUsec: UInt64) { notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicUsec)") }
    func stopping() { notifier.notify("STOPPING=1") }
    /// The loop is alive: systemd restarts the agent when these stop (a stuck pass).
    func watchdog() { notifier.notify("WATCHDOG=1") }

    // MARK: A pass

    /// The pass's observation, as status will show it.
    mutating func observed(_ o: Observation) { lastObservation = o }

    /// Everything a pass (or an event pass, without observation) tells: the readings' failures
    /// and recoveries, the disks, each step's outcome, the controller's transitions; then the
    /// summary once per report interval.
    mutating func pass(_ observation: Observation?, _ plan: Plan, _ outcomes: [StepOutcome], snapshot: ReconcilerSnapshot,
                       groupPath: (GroupName) -> String, context: AgentContext) {
        let before = published.decision
        published = snapshot
        if namesLearntFor != snapshot.treeRevision {
            namesLearntFor = snapshot.treeRevision
            learnUserNames(snapshot.tree, context.userName)
        }
        let policy = context.policy
        if let observation {
            ticks += 1
            self.observation(observation, policy: policy, root: context.cgroupRoot, unitsKnown: snapshot.unitsKnown, now: context.now)
            disks(observation.disks, policy: policy, path: context.policyPath)
        }
        metrics.outcomes(StepTally(plan, outcomes))
        self.outcomes(plan, outcomes, policy: policy, groupPath: groupPath, originals: snapshot.unitOriginals, now: context.now)
        guard observation != nil else { return }
        transitions(from: before, to: snapshot.decision)
        endPass()
        summarize(context)
    }

    /// An observe-mode pass: nothing was done; `report` is what enforcing would have done. The
    /// summary, STATUS= and the metrics follow at the report interval's pace, as in a pass.
    mutating func observing(_ report: PlanReport, context: AgentContext) {
        ticks += 1
        would = report
        endPass()
        summarize(context)
    }

    /// Enforcing (again): status has no `would` any more.
    mutating func enforcing() { would = nil }

    /// The pass is over and took `nanoseconds`: counted, and the report interval's metrics
    /// written (after the count, so the textfile shows the pass that wrote it).
    mutating func passEnded(nanoseconds: UInt64, context: AgentContext) {
        passTimes.record(nanoseconds: nanoseconds)
        metrics.pass(seconds: Double(nanoseconds) / 1e9)
        if let report = metricsDue {
            metricsDue = nil
            publishMetrics(report, context: context)
        }
    }

    /// A process moved in an event pass, this long after its event arrived.
    func classified(latencySeconds: Double) { metrics.classified(latencySeconds: latencySeconds) }

    /// The summary, once per report interval; the first one report interval after start, when
    /// rates mean something. systemd's STATUS= line is renewed at the same pace (and at start
    /// and reload): a status report is a third of a pass's cost with events (`make bench`), too
    /// much to spend on every pass of an idle machine.
    private mutating func summarize(_ context: AgentContext) {
        let now = context.monotonic
        let every = UInt64(context.policy.agent.reportInterval.milliseconds) * 1_000_000
        if let last = lastSummaryAt, now &- last < every { return }
        let first = lastSummaryAt == nil
        lastSummaryAt = now
        let report = status(context)
        notifier.notify("STATUS=\(statusLine(report))")
        metricsDue = report
        if !first { emit(.summary(report)) }
    }

    // MARK: Reloads

    mutating func reloadRequested() { reloads += 1 }

    /// A reload ended: applied (the new policy is in force) or rejected (the old one stays).
    mutating func reloaded(_ outcome: ReloadOutcome, path: String) {
        lastReload = outcome
        metrics.reload(applied: outcome.applied)
        if outcome.applied {
            policyLoadedAt = outcome.at
            usersLookedUp = []  // names are looked up again (an admin may have fixed NSS)
            namesLearntFor = nil
        } else {
            emit(.policyRejected(path: path, error: outcome.error ?? "unknown error"))
        }
    }

    // MARK: Status and metrics

    /// The status report served to `fairshare status`: a projection of the reconciler's
    /// published state, the last observation and the open failures.
    func status(_ c: AgentContext) -> StatusReport {
        var report = StatusProjection.report(
            published, observation: lastObservation, hierarchy: hierarchy, failures: failures,
            facts: .init(pid: c.pid, startedAt: startedAt, now: c.now, cgroupRoot: c.cgroupRoot, rootPath: c.rootPath,
                         intervalSeconds: c.intervalSeconds, capacity: c.capacity, ticks: ticks, passTimes: passTimes,
                         policyPath: c.policyPath, policyLoadedAt: policyLoadedAt, lastReload: lastReload, reloads: reloads,
                         events: c.events, userNames: userNames))
        report.agent.mode = c.policy.agent.mode.rawValue
        if c.policy.agent.mode == .observe {
            report.would = would
            // Observing, no weight is in force: the rows say so rather than "not written yet".
            let observing = "observe mode: nothing is written; `would` says what enforcing would set"
            for i in report.groups.indices {
                report.groups[i].cpuWeight = nil
                report.groups[i].ioWeight = nil
                var unavailable = (report.groups[i].unavailable ?? [:]).mapValues { $0.hasPrefix("not written yet") ? observing : $0 }
                unavailable["cpu_weight"] = observing
                unavailable["io_weight"] = observing
                report.groups[i].unavailable = unavailable
            }
        }
        return report
    }

    /// Names for the users with a subgroup now; those without one are forgotten.
    private mutating func learnUserNames(_ tree: Policy, _ lookup: (UInt32) -> String?) {
        let uids = Set(tree.groups.compactMap { $0.parent != nil ? $0.name.userNode?.uid : nil })
        guard uids != usersLookedUp else { return }
        userNames = userNames.filter { uids.contains($0.key) }
        for uid in uids.subtracting(usersLookedUp) { userNames[uid] = lookup(uid) }
        usersLookedUp = uids
    }

    /// The Prometheus text now (`fairshare metrics`): the same the textfile gets.
    mutating func metricsText(_ context: AgentContext) -> String {
        metrics.update(status(context), maxUsers: context.policy.agent.metricsUsers)
        return metrics.render()
    }

    /// Feeds the registry from `report` and writes the textfile, if the policy names one and its
    /// directory exists. A failed write is reported like any failed write; the agent goes on.
    mutating func publishMetrics(_ report: StatusReport, context: AgentContext) {
        metrics.update(report, maxUsers: context.policy.agent.metricsUsers)
        guard let path = context.policy.agent.metricsTextfile, let files = context.metricsFiles else { return }
        switch MetricsTextfile.write(metrics.render(), to: path, files: files) {
        case .written:
            toldNoTextfileDirectory = nil
            metricsTextfile(path, failure: nil, now: context.now)
        case .noDirectory(let dir):
            metricsTextfile(path, failure: nil, now: context.now)
            guard toldNoTextfileDirectory != dir else { return }
            toldNoTextfileDirectory = dir
            logger.info("metrics textfile not written: \(dir) does not exist (node_exporter's textfile collector is not installed); written once it exists",
                        metadata: ["event": "setup", "path": .string(path)])
        case .failed(let error):
            metricsTextfile(path, failure: error, now: context.now)
        }
    }

    /// At stop: node_exporter must not go on serving the groups' last figures. (After a crash the
    /// file stays, and node_textfile_mtime_seconds shows its age.)
    func withdrawMetrics(_ context: AgentContext) {
        if let path = context.policy.agent.metricsTextfile, let files = context.metricsFiles { files.remove(path) }
    }

    /// systemd's STATUS= line.
    func statusLine(_ s: StatusReport) -> String {
        // The policy's top groups: their members include their subgroups' (users, nested groups).
        let top = s.groups.filter { $0.parent == nil }
        let members = top.reduce(0) { $0 + $1.members }
        let users = s.groups.filter { $0.uid != nil }.count
        let shown = top.filter { $0.members > 0 }.map { "\($0.name) \(pct($0.cpuUsagePercent))%/\(pct($0.cpuTargetPercent))%" }
        return "\(s.groups.count - users) groups" + (users > 0 ? ", \(users) users" : "") + ", \(members) processes"
            + (shown.isEmpty ? "" : "; usage/target: " + shown.joined(separator: ", "))
    }

    private func pct(_ x: Double?) -> String { x.map { FixedPoint.format($0, places: 1) } ?? "n/a" }
}
