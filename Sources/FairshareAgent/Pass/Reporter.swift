import FairshareCore
import FairshareEdge
import Logging

/// The report stage: turns what a pass saw, did and decided into journal events. Every failure,
/// of a read or a write, goes through one FailureBook: told once per (target, cause), again as
/// "still failing" at most once per report interval, and "recovered" when it works again.
struct Reporter: Sendable {
    let logger: Logger
    private(set) var failures: FailureBook
    /// A full book is told once; status keeps the running count (`untracked_failures`).
    private var toldUntracked = false
    /// The metrics textfile's open failure: it is written once per report interval, so its
    /// failure is kept open through the passes between.
    private var textfileFailing: String?
    /// What the journal was last told of each disk, whether "nowhere" holds, and BFQ's range warning.
    private var toldDisks: [String: IODeviceStatus] = [:]
    private var toldNowhere = false
    private var toldBFQRange: String?

    init(logger: Logger, repeatEvery: Duration) {
        self.logger = logger
        self.failures = FailureBook(repeatEvery: repeatEvery.seconds)
    }

    func emit(_ event: AgentEvent) {
        event.log(to: logger)
    }

    // MARK: Readings

    /// Every reading of the pass: failures are told (once), readings that work again recover.
    mutating func observation(_ o: Observation, policy: Policy, root: String, unitsKnown: Bool, now: Double) {
        track(o.groupCgroups, "listing the groups under \(root)", headline: "cannot list the groups under \(root)", level: .error, now: now,
              consequence: "no group is created or removed until it can be listed")
        if let disks = o.disks {
            track(disks, "the disks", headline: "cannot read the disks", level: .warning, now: now,
                  consequence: "io.bfq.weight and status go by the last reading of the disks, if any, until they can be read")
        } else {
            // Read every few passes: the failure stays open in between.
            failures.keep("the disks")
        }
        for g in policy.agentGroups {
            guard let stats = o.groupStats[g.name] else { continue }
            track(stats, "group \(g.name)", context: ["group": .string(g.name.rawValue)], now: now)
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
        var weights: [GroupName: (cpu: CPUWeight?, io: IOWeight?, source: WeightSource)] = [:]
        var weightOrder: [GroupName] = []
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
            case (.setCPUWeight(let g, let w, let source), .done):
                if weights[g] == nil { weightOrder.append(g) }
                weights[g, default: (nil, nil, source)].cpu = w
            case (.setIOWeight(let g, let w, let source), .done):
                if weights[g] == nil { weightOrder.append(g) }
                weights[g, default: (nil, nil, source)].io = w
            case (.setBFQWeight(let g, let w), .done):
                emit(.bfqWeight(g, w, ioShares: policy.group(named: g)?.ioShares.value))
            case (.setCPUMax(let g, let v), .done):
                emit(.cpuMax(g, v))
            case (.setCPUIdle(let g, let idle), .done):
                emit(.cpuIdle(g, idle))
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
        for g in weightOrder {
            let w = weights[g]!
            emit(.weights(g, cpu: w.cpu, io: w.io, shares: policy.group(named: g)?.shares.value, source: w.source))
        }
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
                emit(.borrowStarted(d.group, allowed: d.cpuMax ?? 0, borrowed: d.share.borrowed))
            } else if !borrowing && wasBorrowing {
                emit(.borrowStopped(d.group, max: d.cpuMax ?? 0, elsewhere: d.demandReason))
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
        case .setCPUWeight, .setIOWeight, .setBFQWeight, .setCPUMax, .setCPUIdle: "setting \(target)"
        case .setUnitWeights(let unit, let g, let w): "setting \(w) on unit \(unit) (group \(g)) through systemd"
        default: "\(target) failed"
        }
    }

    /// The group, unit and pid a report about this step concerns (journal fields).
    var context: Logger.Metadata {
        switch self {
        case .createGroup(let g), .setCPUWeight(let g, _, _), .setIOWeight(let g, _, _), .setCPUMax(let g, _), .removeGroup(let g),
             .setCPUIdle(let g, _), .setBFQWeight(let g, _):
            ["group": .string(g.rawValue)]
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
        case .setIOWeight, .setBFQWeight: "retried every pass; cpu shares still apply"
        case .setCPUIdle: "the group runs as an ordinary group meanwhile"
        case .move: "it stays where it is; tried again next pass"
        case .restore: "it stays in its group; tried again next pass"
        case .setUnitWeights, .restoreUnitWeights: "tried again next pass"
        default: "retried every pass"
        }
    }
}
