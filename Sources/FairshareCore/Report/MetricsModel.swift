/// What the agent exports to Prometheus, decided apart from any registry: the metric families
/// (names, kinds, help), the samples a status report maps to, the carry that keeps counters fed
/// from absolute kernel counters monotonic, and the tally of step outcomes. FairshareAgent's
/// `AgentMetrics` feeds these into swift-prometheus, which renders the text.
///
/// Naming follows Prometheus (and cAdvisor's per-cgroup series): the `fairshare_` prefix, base
/// units (seconds, CPUs), `_total` for counters, a `group` label for per-group series.
public struct MetricFamily: Sendable, Hashable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public var name: String
    public var kind: Kind
    public var help: String

    public init(_ name: String, _ kind: Kind, _ help: String) {
        self.name = name
        self.kind = kind
        self.help = help
    }
}

public enum MetricFamilies {
    // Per group. The counters come from cpu.stat and cpu.pressure (absolute kernel counters).
    public static let cpuUsage = MetricFamily("fairshare_group_cpu_usage_seconds_total", .counter,
                                              "CPU time used by the group's processes (cpu.stat usage_usec).")
    public static let throttledPeriods = MetricFamily("fairshare_group_cpu_cfs_throttled_periods_total", .counter,
                                                      "Enforcement periods in which the group was throttled by cpu.max (cpu.stat nr_throttled).")
    public static let throttledSeconds = MetricFamily("fairshare_group_cpu_cfs_throttled_seconds_total", .counter,
                                                      "Time the group's processes were throttled by cpu.max (cpu.stat throttled_usec).")
    public static let pressureWaiting = MetricFamily("fairshare_group_pressure_cpu_waiting_seconds_total", .counter,
                                                     "Time in which some of the group's tasks waited for a CPU (cpu.pressure some total).")
    public static let cpuWeight = MetricFamily("fairshare_group_cpu_weight", .gauge, "cpu.weight in force for the group (1..10000).")
    public static let ioWeight = MetricFamily("fairshare_group_io_weight", .gauge, "io.weight in force for the group (1..10000).")
    public static let bfqWeight = MetricFamily("fairshare_group_io_bfq_weight", .gauge,
                                               "io.bfq.weight written for the group (1..1000); only while some disk uses BFQ.")
    public static let members = MetricFamily("fairshare_group_members", .gauge, "Processes the agent keeps in the group.")
    public static let allocation = MetricFamily("fairshare_group_allocation_cpus", .gauge,
                                                "CPUs the allocator gave the group for the last interval.")
    public static let allocationLimit = MetricFamily("fairshare_group_allocation_limit_info", .gauge,
                                                     "What bounds the group's allocation (label limit: share, floor, demand, ceiling, borrowing, burst); always 1.")
    public static let fairnessFactor = MetricFamily("fairshare_group_fairness_factor", .gauge,
                                                    "The fairness factor applied to the group's weight (1 = neutral).")
    public static let decayedUsage = MetricFamily("fairshare_group_decayed_usage_cpus", .gauge,
                                                  "Exponentially decayed CPU usage of the group (fairness = \"decayed\").")
    public static let entitlement = MetricFamily("fairshare_group_entitlement_cpus", .gauge,
                                                 "Exponentially decayed CPU entitlement of the group (fairness = \"decayed\").")
    public static let idle = MetricFamily("fairshare_group_idle", .gauge, "1 for an idle = true group (cpu.idle = 1), else 0.")

    // Per agent.
    public static let passes = MetricFamily("fairshare_passes_total", .counter, "Enforcement passes done.")
    public static let passDuration = MetricFamily("fairshare_pass_duration_seconds", .histogram, "Duration of an enforcement pass.")
    public static let moves = MetricFamily("fairshare_process_moves_total", .counter,
                                           "Moves of processes into groups, by result (done, gone, failed, skipped).")
    public static let restores = MetricFamily("fairshare_process_restores_total", .counter,
                                              "Processes given back to where they came from, by result (done, gone, failed, skipped).")
    public static let reloads = MetricFamily("fairshare_policy_reloads_total", .counter, "Policy reloads, by result (applied, rejected).")
    public static let policyLoaded = MetricFamily("fairshare_policy_loaded_timestamp_seconds", .gauge,
                                                  "When the policy in force was loaded (seconds since the Unix epoch).")
    public static let events = MetricFamily("fairshare_process_events_total", .counter, "Process events received, by kind.")
    public static let eventOverflows = MetricFamily("fairshare_process_event_overflows_total", .counter,
                                                    "Times the event socket overflowed (events lost; a full rescan followed).")
    public static let rescans = MetricFamily("fairshare_rescans_total", .counter, "Full scans of /proc.")
    public static let classificationLatency = MetricFamily("fairshare_classification_latency_seconds", .histogram,
                                                           "Time from a process event (exec, fork) to the process in its group.")
    public static let diskIOShares = MetricFamily("fairshare_disk_io_shares_in_force", .gauge,
                                                  "1 when io shares divide the disk (label through: io.cost, bfq, io.cost+bfq), 0 when nothing does (through none).")
    public static let info = MetricFamily("fairshare_agent_info", .gauge, "The agent's version (label version); always 1.")
    // Observe mode ([agent] mode = "observe"): what enforcing would do; nothing of it is done.
    public static let observing = MetricFamily("fairshare_agent_observing", .gauge,
                                               "1 in observe mode (nothing is written, moved or set), 0 while enforcing.")
    public static let wouldMove = MetricFamily("fairshare_would_move_processes", .gauge,
                                               "Observe mode: processes enforcing would move now, by from and to (group, outside, (origin)).")
    public static let wouldCPUWeight = MetricFamily("fairshare_would_cpu_weight", .gauge, "Observe mode: the cpu.weight enforcing would give the group.")
    public static let wouldIOWeight = MetricFamily("fairshare_would_io_weight", .gauge, "Observe mode: the io.weight enforcing would give the group.")
    public static let wouldMembers = MetricFamily("fairshare_would_members", .gauge, "Observe mode: the processes the group would hold.")

    public static let groupFamilies: [MetricFamily] = [
        cpuUsage, throttledPeriods, throttledSeconds, pressureWaiting, cpuWeight, ioWeight, bfqWeight, members, allocation, allocationLimit,
        fairnessFactor, decayedUsage, entitlement, idle,
    ]

    /// Pass durations: from a fraction of a millisecond (an idle machine with events) to seconds
    /// (a scan of 10^5 processes under emulation).
    public static let passDurationBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    /// Exec-to-group latencies: the event path takes about a millisecond, a burst tens of them.
    public static let latencyBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
}

/// One value of a family: a gauge's value, or a counter's absolute source value (the carry
/// turns that into increments).
public struct MetricSample: Sendable, Equatable {
    public var family: MetricFamily
    /// Label names and values, in order; `group` first for per-group series.
    public var labels: [MetricLabel]
    public var value: Double

    public init(_ family: MetricFamily, _ labels: [MetricLabel], _ value: Double) {
        self.family = family
        self.labels = labels
        self.value = value
    }

    /// The series' identity: family name and labels.
    public var key: SeriesKey { SeriesKey(name: family.name, labels: labels) }
}

public struct MetricLabel: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

public struct SeriesKey: Sendable, Hashable {
    public var name: String
    public var labels: [MetricLabel]

    public init(name: String, labels: [MetricLabel]) {
        self.name = name
        self.labels = labels
    }
}

public enum MetricsMapping {
    /// A group's series. Readings that are unavailable (null in status) are left out rather than
    /// exported as zero; the redistribution's figures exist only once the controller decided.
    /// The allocation's bound is an info-style gauge (`limit` label, value 1) rather than a label
    /// on the allocation: the allocation stays one series whatever bounds it, so its graph and
    /// rate() are continuous, and the bound joins in with `* on(group) group_left(limit)`.
    public static func groupSamples(_ g: GroupStatus) -> [MetricSample] {
        groupSamples(g, labels: [MetricLabel("group", g.name)])
    }

    static func groupSamples(_ g: GroupStatus, labels group: [MetricLabel]) -> [MetricSample] {
        var out: [MetricSample] = []
        func add(_ f: MetricFamily, _ v: Double?, _ labels: [MetricLabel]? = nil) {
            if let v { out.append(MetricSample(f, labels ?? group, v)) }
        }
        add(MetricFamilies.cpuUsage, g.usageUsec.map { Double($0) / 1e6 })
        add(MetricFamilies.throttledPeriods, g.nrThrottled.map { Double($0) })
        add(MetricFamilies.throttledSeconds, g.throttledUsec.map { Double($0) / 1e6 })
        add(MetricFamilies.pressureWaiting, g.pressureTotalUsec.map { Double($0) / 1e6 })
        add(MetricFamilies.cpuWeight, g.cpuWeight.map { Double($0) })
        add(MetricFamilies.ioWeight, g.ioWeight.map { Double($0) })
        add(MetricFamilies.bfqWeight, g.ioBFQWeight.map { Double($0) })
        add(MetricFamilies.members, Double(g.members))
        add(MetricFamilies.idle, g.idle == true ? 1 : 0)
        if let r = g.redistribution {
            add(MetricFamilies.allocation, r.allocationCPUs)
            add(MetricFamilies.allocationLimit, 1, group + [MetricLabel("limit", r.limit)])
            add(MetricFamilies.fairnessFactor, r.fairnessFactor)
            add(MetricFamilies.decayedUsage, r.decayedUsageCPUs)
            add(MetricFamilies.entitlement, r.entitlementCPUs)
        }
        return out
    }

    /// The agent's series that status carries: the loaded policy's time and, with an event
    /// source, the event counters (absolute, since the start).
    public static func agentSamples(_ report: StatusReport) -> [MetricSample] {
        var out = [MetricSample(MetricFamilies.policyLoaded, [], report.policy.loadedAt)]
        if let e = report.agent.events {
            let r = e.received
            for (kind, n) in [("fork", r.fork), ("exec", r.exec), ("uid", r.uid), ("gid", r.gid), ("comm", r.comm), ("exit", r.exit),
                              ("thread", r.thread), ("other", r.other)] {
                out.append(MetricSample(MetricFamilies.events, [MetricLabel("kind", kind)], Double(n)))
            }
            out.append(MetricSample(MetricFamilies.eventOverflows, [], Double(e.overflows)))
            out.append(MetricSample(MetricFamilies.rescans, [], Double(e.rescans)))
        }
        out.append(MetricSample(MetricFamilies.observing, [], report.would != nil ? 1 : 0))
        if let would = report.would {
            // Bounded by the plan's own bounds (PlanReport.maxMoves pairs, the policy's groups).
            for m in would.moves {
                out.append(MetricSample(MetricFamilies.wouldMove, [MetricLabel("from", m.from), MetricLabel("to", m.to)], Double(m.count)))
            }
            for g in would.groups {
                guard let a = g.after else { continue }
                let label = [MetricLabel("group", g.name)]
                if let w = a.cpuWeight { out.append(MetricSample(MetricFamilies.wouldCPUWeight, label, Double(w))) }
                out.append(MetricSample(MetricFamilies.wouldIOWeight, label, Double(a.ioWeight)))
                out.append(MetricSample(MetricFamilies.wouldMembers, label, Double(a.members)))
            }
        }
        for d in report.ioDevices ?? [] {
            out.append(MetricSample(MetricFamilies.diskIOShares, [MetricLabel("disk", d.name), MetricLabel("through", d.through.rawValue)],
                                    d.inForce ? 1 : 0))
        }
        return out
    }

    /// Every sample of a report. The users' subgroups of a per_user group are series of their
    /// group with a `user` label (the name, or the uid where it has none), for its `maxUsers`
    /// busiest users only; the others add up into `user="other"`: a label per uid on every node
    /// is how Prometheus servers die, so the series stay bounded by the agent's setting whatever
    /// the number of users.
    public static func samples(_ report: StatusReport, maxUsers: Int = AgentSettings.defaultMetricsUsers) -> [MetricSample] {
        var out = agentSamples(report) + report.groups.filter { $0.uid == nil }.flatMap(groupSamples)
        let users = Dictionary(grouping: report.groups.filter { $0.uid != nil && $0.parent != nil }, by: { $0.parent! })
        for (group, rows) in users.sorted(by: { $0.key < $1.key }) {
            let ranked = rows.sorted { ($0.cpuUsageCPUs ?? 0, $1.name) > ($1.cpuUsageCPUs ?? 0, $0.name) }
            for row in ranked.prefix(maxUsers) {
                out += groupSamples(row, labels: [MetricLabel("group", group), MetricLabel("user", row.user ?? String(row.uid!))])
            }
            let rest = ranked.dropFirst(maxUsers)
            if !rest.isEmpty { out += groupSamples(otherUsers(rest, group: group), labels: [MetricLabel("group", group), MetricLabel("user", "other")]) }
        }
        return out
    }

    /// The users beyond the bound as one: their counters, usage and members added up (the
    /// weights and the controller's figures are each user's own: left out).
    static func otherUsers(_ rows: ArraySlice<GroupStatus>, group: String) -> GroupStatus {
        func sum<T: AdditiveArithmetic>(_ value: (GroupStatus) -> T?) -> T? {
            rows.reduce(T?.some(.zero)) { total, row in total.flatMap { t in value(row).map { t + $0 } } }
        }
        return GroupStatus(name: group, shares: 0, ioShares: 0, cpuWeight: nil, ioWeight: nil, members: rows.reduce(0) { $0 + $1.members },
                           cpuUsageCPUs: sum(\.cpuUsageCPUs), cpuUsagePercent: sum(\.cpuUsagePercent), cpuTargetPercent: 0,
                           usageUsec: sum(\.usageUsec), nrThrottled: sum(\.nrThrottled), throttledUsec: sum(\.throttledUsec),
                           ioReadBytesPerSecond: sum(\.ioReadBytesPerSecond), ioWriteBytesPerSecond: sum(\.ioWriteBytesPerSecond))
    }
}

/// Turns absolute source counters into the increments of exported counters, so an exported
/// counter never goes back. A source that went back (the group's cgroup was removed and made
/// again, or a unit-backed group's sum lost a unit that stopped) is rebased: that step adds
/// nothing, and the next ones add what the new source gains. This may leave out what a new
/// cgroup used before its first reading (at most one report interval of it); adding the new
/// source's whole value instead would count a unit-backed group's remaining units twice.
public struct CounterCarry: Sendable {
    private struct Entry: Sendable {
        var source: Double
        var total: Double
    }

    private var entries: [SeriesKey: Entry] = [:]

    public init() {}

    /// How much to add to the exported counter for `key`, given the source's value now. The
    /// first reading of a series adds all of it (the counter starts at the source's value).
    public mutating func increment(_ key: SeriesKey, to value: Double) -> Double {
        guard let before = entries[key] else {
            entries[key] = Entry(source: value, total: value)
            return value
        }
        let step = value >= before.source ? value - before.source : 0
        entries[key] = Entry(source: value, total: before.total + step)
        return step
    }

    /// What the exported counter for `key` holds: the sum of the increments.
    public func total(_ key: SeriesKey) -> Double { entries[key]?.total ?? 0 }

    /// Forgets the series `keep` says no to (a group that left the policy): memory stays
    /// bounded by the series in force.
    public mutating func retain(_ keep: (SeriesKey) -> Bool) {
        entries = entries.filter { keep($0.key) }
    }

    public var count: Int { entries.count }
}

/// How the moves and restores of a plan ended, for the counters by result.
public struct StepTally: Sendable, Equatable {
    public var moves: [String: Int] = [:]
    public var restores: [String: Int] = [:]

    public init() {}

    public init(_ plan: Plan, _ outcomes: [StepOutcome]) {
        for (step, outcome) in zip(plan.steps, outcomes) {
            let result = Self.result(outcome)
            switch step {
            case .move: moves[result, default: 0] += 1
            case .restore: restores[result, default: 0] += 1
            default: break
            }
        }
    }

    public static func result(_ o: StepOutcome) -> String {
        switch o {
        case .done: "done"
        case .gone: "gone"
        case .failed: "failed"
        case .skipped: "skipped"
        }
    }

    public static let results = ["done", "gone", "failed", "skipped"]
}
