import FairshareCore
import FairshareEdge
import Prometheus

/// The agent's Prometheus registry (swift-prometheus renders the text format 0.0.4 that
/// node_exporter's textfile collector and `promtool check metrics` read). The agent feeds it:
/// passes and their durations per pass, step outcomes and classification latencies as they
/// happen, reloads as they end, and everything status knows (per group) once per report, from
/// `MetricsMapping`'s samples. Owned by the agent actor.
struct AgentMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private var carry = CounterCarry()
    /// The series fed from status reports, by identity, so they can be removed again.
    private var counters: [SeriesKey: Counter] = [:]
    private var gauges: [SeriesKey: Gauge] = [:]

    private let passes: Counter
    private let passDuration: ValueHistogram
    private let classificationLatency: ValueHistogram
    private let moves: [String: Counter]
    private let restores: [String: Counter]
    private let reloads: [Bool: Counter]

    init(version: String) {
        let r = registry
        passes = r.makeCounter(descriptor: MetricFamilies.passes.descriptor)
        passDuration = r.makeValueHistogram(descriptor: MetricFamilies.passDuration.descriptor, buckets: MetricFamilies.passDurationBuckets)
        classificationLatency = r.makeValueHistogram(descriptor: MetricFamilies.classificationLatency.descriptor,
                                                     buckets: MetricFamilies.latencyBuckets)
        // Every result from the start, at 0: a rate over a series that appears late misses its first increase.
        func byResult(_ f: MetricFamily) -> [String: Counter] {
            Dictionary(uniqueKeysWithValues: StepTally.results.map { ($0, r.makeCounter(descriptor: f.descriptor, labels: [("result", $0)])) })
        }
        moves = byResult(MetricFamilies.moves)
        restores = byResult(MetricFamilies.restores)
        reloads = [
            true: r.makeCounter(descriptor: MetricFamilies.reloads.descriptor, labels: [("result", "applied")]),
            false: r.makeCounter(descriptor: MetricFamilies.reloads.descriptor, labels: [("result", "rejected")]),
        ]
        r.makeGauge(descriptor: MetricFamilies.info.descriptor, labels: [("version", version)]).set(to: 1.0)
    }

    func pass(seconds: Double) {
        passes.increment()
        passDuration.record(seconds)
    }

    func outcomes(_ tally: StepTally) {
        for (result, n) in tally.moves { moves[result]?.increment(by: Int64(n)) }
        for (result, n) in tally.restores { restores[result]?.increment(by: Int64(n)) }
    }

    func reload(applied: Bool) {
        reloads[applied]?.increment()
    }

    func classified(latencySeconds: Double) {
        classificationLatency.record(latencySeconds)
    }

    /// Brings the status-fed series to `report`: gauges set, counters advanced through the
    /// carry. A series the report no longer has (its group left the policy, its reading is
    /// unavailable) is unregistered, so the registry holds only the series in force. The carry
    /// keeps a counter's total while its group stays in the policy, so a reading that comes back
    /// continues where it was.
    /// - Parameter maxUsers: `[agent] metrics_users`: users' series per per_user group.
    mutating func update(_ report: StatusReport, maxUsers: Int = AgentSettings.defaultMetricsUsers) {
        let samples = MetricsMapping.samples(report, maxUsers: maxUsers)
        var seen = Set<SeriesKey>()
        for s in samples {
            let key = s.key
            seen.insert(key)
            let labels = s.labels.map { ($0.name, $0.value) }
            switch s.family.kind {
            case .counter:
                let step = carry.increment(key, to: s.value)
                if let c = counters[key] {
                    if step > 0 { c.increment(by: step) }
                } else {
                    let c = labels.isEmpty ? registry.makeCounter(descriptor: s.family.descriptor)
                        : registry.makeCounter(descriptor: s.family.descriptor, labels: labels)
                    let total = carry.total(key)
                    if total > 0 { c.increment(by: total) }
                    counters[key] = c
                }
            case .gauge:
                let g = gauges[key] ?? (labels.isEmpty ? registry.makeGauge(descriptor: s.family.descriptor)
                    : registry.makeGauge(descriptor: s.family.descriptor, labels: labels))
                g.set(to: s.value)
                gauges[key] = g
            case .histogram:
                break
            }
        }
        for (key, c) in counters where !seen.contains(key) {
            registry.unregisterCounter(c)
            counters[key] = nil
        }
        for (key, g) in gauges where !seen.contains(key) {
            registry.unregisterGauge(g)
            gauges[key] = nil
        }
        let groups = Set(report.groups.map(\.name))
        // A user's series is kept only while it is shown: the users who come and go (or leave the
        // busiest) cost nothing once gone.
        carry.retain { key in
            if key.labels.contains(where: { $0.name == "user" }) { return seen.contains(key) }
            return key.labels.first { $0.name == "group" }.map { groups.contains($0.value) } ?? true
        }
    }

    /// The text format 0.0.4 (no OpenMetrics `# EOF`).
    func render() -> String {
        registry.emitToString()
    }

    /// Series fed from status, and counters the carry remembers (tests: memory stays bounded).
    var statusSeries: Int { counters.count + gauges.count }
    var carriedCounters: Int { carry.count }
}

extension MetricFamily {
    /// The family as swift-prometheus names it: the whole name (unit suffix included) as the
    /// metric name, no namespace, subsystem or unit of its own, so the rendered name is `name`
    /// exactly (the descriptor joins only its non-empty parts); the help line is `help`.
    var descriptor: MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
