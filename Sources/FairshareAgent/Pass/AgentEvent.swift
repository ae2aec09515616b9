import FairshareCore
import FairshareEdge
import Logging

/// Everything the agent tells the journal, as one type: each case carries its level, its event
/// name (which JournalVocabulary maps to a MESSAGE_ID), its message and its fields together.
enum AgentEvent: Sendable {
    case started(root: String, policyPath: String, groups: Int)
    case policyLoaded(Policy, path: String)
    case policyWarning(String, path: String)
    case policyRejected(path: String, error: String)
    case cgrouprootChangeIgnored(from: String, to: String, keeping: String)
    case ledgerIgnored(String)
    case groupCreated(GroupName, absolutePath: String, shares: Int?)
    case groupRemoved(GroupName)
    /// Files of one group's cgroup written in one pass that the journal tells as one event
    /// (`GroupFile.Journal.event`: weights, cpu_max, cpu_idle).
    case settings(GroupName, [GroupSetting], shares: Int?, ioShares: Int?)
    /// A disk's io shares as first read, or changed since (scheduler, io.cost).
    case ioShares(IODeviceStatus)
    /// No disk has io shares in force (or there is none): said once until that changes.
    case ioSharesNowhere(disks: Int)
    case moved(ProcessIdentity, comm: String, group: GroupName, origin: String, keys: [Classifier.MatchedKey])
    case restored(ProcessIdentity, comm: String, group: GroupName, origin: String)
    case unitWeights(unit: String, group: GroupName, UnitWeights, shares: Int?, original: UnitWeights?)
    case unitRestored(unit: String, UnitWeights)
    case unitGone(unit: String)
    /// `allowed`: the cpu.max quota in CPUs now (nil: no limit).
    case borrowStarted(GroupName, allowed: Double?, borrowed: Double)
    /// `max`: the quota it is back at (nil: no limit).
    case borrowStopped(GroupName, max: Double?, elsewhere: String)
    case floorHit(GroupName, floor: Double, weight: CPUWeight)
    case floorReleased(GroupName, limit: String)
    /// The first failure of a target for a cause: `headline` says what failed ("cannot read
    /// cpu.stat of group a"), `consequence` what the agent does about it, `context` the group,
    /// unit or pid it concerns.
    case failed(FailureBook.Failure, level: Logger.Level, headline: String, consequence: String?, context: Logger.Metadata)
    /// At shutdown: units whose own weights could not be given back.
    case unitsKeepAgentWeights([ReleaseReport.Unit])
    case stillFailing(FailureBook.Failure)
    case recovered(FailureBook.Failure)
    case failuresUntracked(Int)
    case summary(StatusReport)
    case stopping(ReleaseReport)
    /// Kernel process events are not available (or stopped): every pass scans /proc instead.
    case eventsUnavailable(String)
    /// The kernel dropped process events (a full receive buffer): a full rescan follows at once.
    case eventsOverflow(overflows: Int)
    /// `[agent] mode` in force: observing (at start or by a reload; what a switch gave back
    /// in `released`) or enforcing again after observing.
    case mode(AgentMode, released: ReleaseReport?)

    var level: Logger.Level {
        switch self {
        case .started, .policyLoaded, .groupCreated, .groupRemoved, .moved, .restored, .unitWeights, .unitRestored,
             .floorReleased, .summary, .recovered:
            .info
        case .settings(_, let settings, _, _): settings.contains { $0.row.journal.isNews($0.value, $0.source) } ? .info : .debug
        case .unitGone: .debug
        case .ioShares(let d): d.inForce ? .info : .warning
        case .ioSharesNowhere: .warning
        case .borrowStarted, .borrowStopped, .floorHit, .mode: .notice
        // A stop that left something behind (a process not given back, a group, a unit's
        // weights, /proc unreadable) is a warning: fairshare recover or the admin has work to do.
        case .stopping(let r): r.complete ? .notice : .warning
        case .policyWarning, .cgrouprootChangeIgnored, .ledgerIgnored, .stillFailing, .failuresUntracked, .eventsUnavailable,
             .eventsOverflow: .warning
        case .policyRejected: .error
        case .failed(_, let level, _, _, _): level
        case .unitsKeepAgentWeights: .error
        }
    }

    /// The journal's FAIRSHARE_EVENT (and through it the MESSAGE_ID).
    var name: String {
        switch self {
        case .started: "started"
        case .policyLoaded: "policy_loaded"
        case .policyWarning, .cgrouprootChangeIgnored, .ledgerIgnored, .failuresUntracked: "warning"
        case .policyRejected: "policy_rejected"
        case .groupCreated: "group_created"
        case .groupRemoved: "group_removed"
        case .settings(_, let settings, _, _): settings.first?.row.journal.event ?? "weights"
        case .ioShares, .ioSharesNowhere: "io_shares"
        case .moved: "moved"
        case .restored: "restored"
        case .unitWeights: "unit_weights"
        case .unitRestored, .unitGone: "unit_restored"
        case .borrowStarted: "borrow_started"
        case .borrowStopped: "borrow_stopped"
        case .floorHit: "floor_hit"
        case .floorReleased: "floor_released"
        case .failed, .unitsKeepAgentWeights: "error"
        case .stillFailing: "still_failing"
        case .recovered: "recovered"
        case .summary: "summary"
        case .stopping: "stopping"
        case .eventsUnavailable: "events_unavailable"
        case .eventsOverflow: "events_overflow"
        case .mode: "mode"
        }
    }

    var message: String {
        switch self {
        case .started(let root, let path, let n):
            return "fairshare started: managing \(root) with \(n) group(s) from \(path)"
        case .policyLoaded(let p, let path):
            return "policy \(path) loaded: \(p.groups.count) group(s) " + p.groups.map { "\($0.name)=\($0.shares)" }.joined(separator: " ")
        case .policyWarning(let w, _):
            return w
        case .policyRejected(_, let error):
            return "new policy rejected, keeping the one loaded before: \(error)"
        case .cgrouprootChangeIgnored(let from, let to, let keeping):
            return "cgroup_root changed from \(from) to \(to): it takes effect at the next start; keeping \(keeping)"
        case .ledgerIgnored(let why):
            return "ignoring the origin ledger: \(why)"
        case .groupCreated(let g, let path, _):
            switch g.userNode {
            case .user(let uid)?: return "created the subgroup of uid \(uid) in group \(g.parent!) (\(path))"
            case .overflow?: return "created group \(g) (\(path)): users beyond the max_users of group \(g.parent!) share it"
            case nil: return "created group \(g) (\(path))"
            }
        case .groupRemoved(let g):
            if case .user(let uid)? = g.userNode { return "removed the subgroup of uid \(uid) in group \(g.parent!): its last process left" }
            return "removed group \(g)"
        case .settings(let g, let settings, let shares, let ioShares):
            let parts = settings.map { s in "\(s.file) \(s.value)" + (s.row.journal.note(s.value).map { " (\($0))" } ?? "") }
                .joined(separator: ", ")
            guard settings.first?.row.journal.namesShares == true else { return "group \(g): \(parts)" }
            if settings.contains(where: { $0.source == .controller }) { return "group \(g): effective \(parts)" }
            let io = ioShares.flatMap { $0 != shares ? ", io_shares \($0)" : nil } ?? ""
            return "group \(g): \(parts) (shares \(shares.map(String.init) ?? "unknown")\(io))"
        case .ioShares(let d):
            return d.line
        case .ioSharesNowhere(let disks):
            return disks == 0
                ? "io_shares have no effect: no disk found under /sys/block; CPU shares are enforced as usual"
                : "io_shares have no effect on any of the \(disks) disk(s): each needs io.cost (a model and enable=1 in io.cost.qos) or the BFQ scheduler; CPU shares are enforced as usual"
        case .moved(let id, let comm, let g, let origin, let keys):
            return "moved \(comm)[\(id.pid)] from \(origin) to group \(g) (\(keys.map(\.description).joined(separator: "; ")))"
        case .restored(let id, let comm, let g, let origin):
            return "gave \(comm)[\(id.pid)] back from group \(g) to \(origin)"
        case .unitWeights(let unit, let g, let w, let shares, let original):
            return "unit \(unit) (group \(g)): \(w) through systemd (shares \(shares.map(String.init) ?? "unknown"); the unit had \(original?.description ?? "weights not read"))"
        case .unitRestored(let unit, let w):
            return "unit \(unit) has its own weights back: \(w)"
        case .unitGone(let unit):
            return "unit \(unit) is gone: no weights to give back"
        case .borrowStarted(let g, let allowed, let borrowed):
            return "group \(g) borrows idle capacity: allowed \(allowed.map { "\(fmt2($0)) CPUs" } ?? "without limit"), \(fmt2(borrowed)) above its max"
        case .borrowStopped(let g, let max, let elsewhere):
            return "group \(g) stops borrowing: " + (max.map { "back to its max of \(fmt2($0)) CPUs" } ?? "no limit (cpu.max max)") + " (\(elsewhere) elsewhere)"
        case .floorHit(let g, let floor, let weight):
            return "group \(g) is held at its floor of \(fmt2(floor)) CPUs: cpu.weight raised to \(weight)"
        case .floorReleased(let g, let limit):
            return "group \(g) no longer needs its floor (\(limit))"
        case .failed(let f, _, let headline, let consequence, _):
            return "\(headline): \(f.message)" + (consequence.map { "; \($0)" } ?? "")
        case .unitsKeepAgentWeights(let units):
            return "units keep the weights the agent gave them (\(units.first?.why ?? "")): "
                + units.map(\.unit).sorted().joined(separator: ", ")
                + "; they are gone at the next reboot, or: systemctl set-property --runtime UNIT CPUWeight= IOWeight="
        case .stillFailing(let f):
            return "\(f.target) still failing (\(f.cause)): \(f.count) times since it first failed"
        case .recovered(let f):
            return "\(f.target) works again after \(f.count) failed attempt(s)"
        case .failuresUntracked(let n):
            return "\(n) more failure(s) not tracked: the list of open failures is full (see fairshare status)"
        case .summary(let s) where s.would != nil:
            let would = s.would!
            let weights = would.groups.compactMap { g in g.after.map { a in "\(g.name) \(a.cpuWeight.map(String.init) ?? "idle")/\(a.ioWeight) (\(a.members) proc)" } }
            return "observing, nothing enforced: enforcing would move \(would.processesMoving) process(es); cpu/io weights: " + weights.joined(separator: ", ")
        case .summary(let s):
            // The policy's groups (a per_user group with all its users' processes), not each user.
            let parts = s.groups.filter { $0.uid == nil }.map { g in
                g.backing == "unit"
                    ? "\(g.name) \(pct(g.cpuUsagePercent))% (unit-backed, \(g.members) proc)"
                    : "\(g.name) \(pct(g.cpuUsagePercent))%/\(pct(g.cpuTargetPercent))% (\(g.members) proc)"
            }
            return "usage/target: " + (parts.isEmpty ? "no groups" : parts.joined(separator: ", ")) + (s.agent.events.map { "; " + eventsSummary($0) } ?? "")
        case .stopping(let r):
            return "fairshare stopping: " + r.summary
        case .eventsUnavailable(let why):
            return "process events unavailable, scanning /proc every pass: \(why)"
        case .eventsOverflow(let n):
            return "process events lost (receive buffer overflow, \(n) so far); rescanning /proc"
        case .mode(.observe, let released):
            return "observe mode: the agent decides every pass but writes no cgroup file, moves no process and sets no unit property; "
                + "fairshare status shows what enforcing would do" + (released.map { "; gave back what it enforced: " + $0.summary } ?? "")
        case .mode(.enforce, _):
            return "enforce mode: the policy is applied from this pass on"
        }
    }

    var fields: Logger.Metadata {
        switch self {
        case .started(let root, let path, _):
            return ["root": .string(root), "policy": .string(path)]
        case .policyLoaded(let p, let path):
            return ["policy": .string(path), "group": .array(p.groups.map { .string($0.name.rawValue) }),
                    "shares": .array(p.groups.map { .string(String($0.shares.value)) })]
        case .policyWarning(_, let path):
            return ["policy": .string(path)]
        case .policyRejected(let path, let error):
            return ["policy": .string(path), "error": .string(error)]
        case .groupCreated(let g, _, let shares):
            return ["group": .string(g.rawValue), "shares": .string(shares.map(String.init) ?? "")]
        case .groupRemoved(let g), .floorReleased(let g, _), .borrowStopped(let g, _, _), .floorHit(let g, _, _):
            return ["group": .string(g.rawValue)]
        case .borrowStarted(let g, _, let borrowed):
            return ["group": .string(g.rawValue), "borrowed_cpus": .string(fmt2(borrowed))]
        case .settings(let g, let settings, let shares, let ioShares):
            var m: Logger.Metadata = ["group": .string(g.rawValue)]
            for s in settings { m[s.row.journal.field] = .string(s.value.description) }
            if settings.first?.row.journal.namesShares == true {
                if let shares { m["shares"] = .string(String(shares)) }
                if let ioShares { m["io_shares"] = .string(String(ioShares)) }
            }
            return m
        case .ioShares(let d):
            return ["disk": .string(d.name), "device": .string(d.device), "through": .string(d.through.rawValue),
                    "scheduler": .string(d.scheduler ?? "unknown")]
        case .ioSharesNowhere(let disks):
            return ["disks": .string(String(disks))]
        case .moved(let id, _, let g, let origin, _), .restored(let id, _, let g, let origin):
            return ["group": .string(g.rawValue), "pid": .string(String(id.pid)), "origin": .string(origin)]
        case .unitWeights(let unit, let g, let w, let shares, _):
            var m: Logger.Metadata = ["group": .string(g.rawValue), "unit": .string(unit)]
            if let cpu = w.cpu { m["cpu_weight"] = .string(String(cpu)) }
            if let io = w.io { m["io_weight"] = .string(String(io)) }
            if let shares { m["shares"] = .string(String(shares)) }
            return m
        case .unitRestored(let unit, _), .unitGone(let unit):
            return ["unit": .string(unit)]
        case .failed(let f, _, _, _, let context):
            return context.merging(["target": .string(f.target), "cause": .string(f.cause), "count": .string(String(f.count))]) { a, _ in a }
        case .stillFailing(let f), .recovered(let f):
            return ["target": .string(f.target), "cause": .string(f.cause), "count": .string(String(f.count))]
        case .unitsKeepAgentWeights(let units):
            return ["unit": .array(units.map { .string($0.unit) })]
        case .summary(let report) where report.would != nil:
            let groups = report.would!.groups.filter { $0.after != nil }
            return [
                "mode": .string("observe"),
                "would_move": .string(String(report.would!.processesMoving)),
                "group": .array(groups.map { .string($0.name) }),
                "would_cpu_weight": .array(groups.map { .string($0.after!.cpuWeight.map(String.init) ?? "idle") }),
                "would_members": .array(groups.map { .string(String($0.after!.members)) }),
            ]
        case .summary(let report):
            var s = report
            s.groups = report.groups.filter { $0.uid == nil }
            return [
                "group": .array(s.groups.map { .string($0.name) }),
                "shares": .array(s.groups.map { .string(String($0.shares)) }),
                "cpu_weight": .array(s.groups.map { .string($0.cpuWeight.map(String.init) ?? "n/a") }),
                "usage_pct": .array(s.groups.map { .string(pct($0.cpuUsagePercent)) }),
                "target_pct": .array(s.groups.map { .string(pct($0.cpuTargetPercent)) }),
                "members": .array(s.groups.map { .string(String($0.members)) }),
            ].merging(s.agent.events.map(eventsFields) ?? [:]) { a, _ in a }
        case .stopping(let r):
            var m: Logger.Metadata = [:]
            if !r.groupsLeft.isEmpty { m["group"] = .array(r.groupsLeft.map { .string($0.group.rawValue) }) }
            if !r.notGivenBack.isEmpty { m["pid"] = .array(r.notGivenBack.map { .string(String($0.pid)) }) }
            return m
        case .eventsUnavailable(let why):
            return ["reason": .string(why)]
        case .eventsOverflow(let n):
            return ["overflows": .string(String(n))]
        case .mode(let mode, _):
            return ["mode": .string(mode.rawValue)]
        case .cgrouprootChangeIgnored, .ledgerIgnored, .failuresUntracked:
            return [:]
        }
    }

    func log(to logger: Logger) {
        var m = fields
        m["event"] = .string(name)
        logger.log(level: level, "\(message)", metadata: m)
    }
}

private func fmt2(_ x: Double) -> String { FixedPoint.format(x, places: 2) }

/// The event source's figures in the summary: where new processes are heard of, and how well.
private func eventsSummary(_ e: EventStatus) -> String {
    guard e.source == "netlink" else { return "events: scanning every pass (\(e.fallbackReason ?? "no event source"))" }
    let latency = e.latencyMilliseconds.p50.map { p50 in
        ", move latency p50 \(fmt2(p50)) ms p99 \(fmt2(e.latencyMilliseconds.p99 ?? p50)) ms"
    } ?? ""
    return "events: \(e.received.total) received, \(e.overflows) overflows, \(e.rescans) rescans (\(e.rescanFound) found), \(e.races) races" + latency
}

private func eventsFields(_ e: EventStatus) -> Logger.Metadata {
    var m: Logger.Metadata = [
        "events_source": .string(e.source), "events_received": .string(String(e.received.total)),
        "events_overflows": .string(String(e.overflows)), "rescans": .string(String(e.rescans)),
        "rescan_found": .string(String(e.rescanFound)), "races": .string(String(e.races)),
    ]
    if let p50 = e.latencyMilliseconds.p50 { m["latency_p50_ms"] = .string(fmt2(p50)) }
    if let p99 = e.latencyMilliseconds.p99 { m["latency_p99_ms"] = .string(fmt2(p99)) }
    return m
}

/// A percentage for reports; "n/a" where it could not be measured.
private func pct(_ x: Double?) -> String { x.map { FixedPoint.format($0, places: 1) } ?? "n/a" }
