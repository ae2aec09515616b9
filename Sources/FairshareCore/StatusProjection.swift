/// `fairshare status` as a pure projection of the decide stage's state, the last observation and
/// the report stage's open failures: nothing here reads or writes anything, and nothing is shown
/// that was not observed or done.
public enum StatusProjection {
    /// What only the agent knows about itself.
    public struct AgentFacts: Sendable {
        public var pid: Int32
        public var startedAt: Double
        public var now: Double
        /// Absolute path of the managed root, and the same relative to the cgroup2 mount.
        public var cgroupRoot: String
        public var rootPath: CgroupPath
        public var intervalSeconds: Double
        public var capacity: Double
        public var ticks: Int
        public var passTimes: PassTimes
        public var policyPath: String
        public var policyLoadedAt: Double
        public var lastReload: ReloadOutcome?
        public var reloads: Int

        public init(pid: Int32, startedAt: Double, now: Double, cgroupRoot: String, rootPath: CgroupPath, intervalSeconds: Double,
                    capacity: Double, ticks: Int, passTimes: PassTimes, policyPath: String, policyLoadedAt: Double,
                    lastReload: ReloadOutcome?, reloads: Int) {
            self.pid = pid
            self.startedAt = startedAt
            self.now = now
            self.cgroupRoot = cgroupRoot
            self.rootPath = rootPath
            self.intervalSeconds = intervalSeconds
            self.capacity = capacity
            self.ticks = ticks
            self.passTimes = passTimes
            self.policyPath = policyPath
            self.policyLoadedAt = policyLoadedAt
            self.lastReload = lastReload
            self.reloads = reloads
        }
    }

    /// Members per group as the agent believes: its own groups' recorded members, the processes
    /// in the unit-backed groups' units.
    public static func memberCounts(_ r: Reconciler, observation: Observation?) -> [GroupName: Int] {
        r.enforcer.memberCounts().merging(r.unitMemberCounts(observation?.processes ?? [])) { _, units in units }
    }

    public static func report(_ r: Reconciler, observation: Observation?, hierarchy: HierarchySnapshot, failures: FailureBook,
                              facts: AgentFacts) -> StatusReport {
        let policy = r.policy
        let members = memberCounts(r, observation: observation)
        let targets = UsageSampler.targetPercents(policy: policy, memberCounts: members)
        let cpuWeights = policy.cpuWeights()
        let ioWeights = policy.ioWeights()
        let capacity = facts.capacity
        let groups = policy.groups.map { g -> GroupStatus in
            let rates = r.sampler.rates[g.name]
            let readings = stats(of: g, r, observation)
            var unavailable: [String: String] = [:]
            let cpuReason = readings.compactMap { $0.cpu.unavailableReason }.first
            var ioReason = readings.compactMap { $0.io.unavailableReason }.first
            if ioReason == nil, let rates, rates.ioReadBytesPerSecond == nil || rates.ioWriteBytesPerSecond == nil {
                // Read now but not at the interval's start: the rate is unknown, not zero.
                ioReason = "no io rate for the interval: io.stat could not be read at its start (or its counters went back)"
            }
            if let why = cpuReason {
                for field in ["usage_usec", "nr_throttled", "throttled_usec", "cpu_usage_cpus", "cpu_usage_pct"] { unavailable[field] = why }
            }
            if let why = ioReason {
                for field in ["io_read_bps", "io_write_bps"] { unavailable[field] = why }
            }
            // The counters as last read (a unit-backed group's summed over its units).
            let last = r.sampler.last[g.name]?.cpu
            // No rate: the cpu.stat reading failed (its reason), or no whole interval was
            // measured yet (the group is new, or its reading just came back).
            // A unit-backed group none of whose units has a cgroup runs nothing: a measured zero.
            let nothingRuns = g.isUnitBacked && observation != nil && readings.isEmpty
            let cpus: Double? = cpuReason != nil ? nil : rates?.cpus ?? (nothingRuns ? 0 : nil)
            if cpus == nil && cpuReason == nil {
                for field in ["cpu_usage_cpus", "cpu_usage_pct"] { unavailable[field] = "no whole interval measured yet" }
            }
            // An agent group's weights as written; a unit-backed group's as asked of systemd.
            let cpuWeight = g.isUnitBacked ? cpuWeights[g.name]?.value : r.applied.cpuWeight[g.name]?.value
            let ioWeight = g.isUnitBacked ? ioWeights[g.name]?.value : r.applied.ioWeight[g.name]?.value
            let notWritten = "not written yet (see agent.failures)"
            if cpuWeight == nil { unavailable["cpu_weight"] = notWritten }
            if ioWeight == nil { unavailable["io_weight"] = notWritten }
            let ioRead: Double? = ioReason != nil ? nil : rates?.ioReadBytesPerSecond ?? (nothingRuns ? 0 : nil)
            let ioWrite: Double? = ioReason != nil ? nil : rates?.ioWriteBytesPerSecond ?? (nothingRuns ? 0 : nil)
            if ioReason == nil && rates == nil && !nothingRuns {
                for field in ["io_read_bps", "io_write_bps"] { unavailable[field] = "no whole interval measured yet" }
            }
            if cpuReason == nil && last == nil {
                for field in ["usage_usec", "nr_throttled", "throttled_usec"] { unavailable[field] = "not read yet (no cgroup to read)" }
            }
            var status = GroupStatus(
                name: g.name.rawValue, shares: g.shares.value, ioShares: g.ioShares.value,
                cpuWeight: cpuWeight, ioWeight: ioWeight,
                members: members[g.name] ?? 0,
                cpuUsageCPUs: cpus, cpuUsagePercent: cpus.map { $0 / capacity * 100 }, cpuTargetPercent: targets[g.name] ?? 0,
                usageUsec: cpuReason != nil ? nil : last?.usageUsec,
                nrThrottled: cpuReason != nil ? nil : last?.nrThrottled,
                throttledUsec: cpuReason != nil ? nil : last?.throttledUsec,
                ioReadBytesPerSecond: ioRead, ioWriteBytesPerSecond: ioWrite)
            status.unavailable = unavailable.isEmpty ? nil : unavailable
            status.backing = g.isUnitBacked ? "unit" : "agent"
            if g.isUnitBacked {
                status.units = r.unitCgroups.placements(of: g.name).map { UnitStatus(name: $0.unit, cgroup: $0.cgroup) }
            }
            status.machineSharePercent = machineSharePercent(g, r, hierarchy: hierarchy, root: facts.rootPath)
            if let d = r.lastDecision?.decision(for: g.name) {
                status.redistribution = GroupRedistribution(
                    allocationCPUs: d.share.allocation, allocationPercent: d.share.allocation / capacity * 100,
                    borrowedCPUs: d.share.borrowed, hungry: d.hungry, demand: d.demandReason, limit: d.share.limit.rawValue,
                    pressurePercent: rates?.pressure.map { $0 * 100 }, fairnessFactor: d.factor,
                    cpuMax: r.applied.cpuMax[g.name]?.fileText ?? "not written yet", weightReason: d.weightReason,
                    min: g.floor?.description, max: g.ceiling?.description, burst: g.burst?.description, borrow: g.borrow)
            }
            return status
        }
        let open = failures.failures
        return StatusReport(
            agent: AgentStatus(
                pid: facts.pid, startedAt: facts.startedAt, uptimeSeconds: facts.now - facts.startedAt,
                cgroupRoot: facts.cgroupRoot, intervalSeconds: facts.intervalSeconds, cpus: capacity, ticks: facts.ticks,
                lastPassSeconds: facts.passTimes.last, passSecondsMedian: facts.passTimes.median,
                failures: open, untrackedFailures: failures.untracked > 0 ? failures.untracked : nil),
            policy: PolicyStatus(path: facts.policyPath, loadedAt: facts.policyLoadedAt, lastReload: facts.lastReload, reloads: facts.reloads),
            groups: groups
        )
    }

    /// The readings a group's figures come from: its cgroup's, or its units'.
    static func stats(of g: GroupPolicy, _ r: Reconciler, _ o: Observation?) -> [CgroupStats] {
        guard let o else { return [] }
        if g.isUnitBacked {
            return r.unitCgroups.placements(of: g.name).compactMap { o.units.stats[$0.unit] }
        }
        return o.groupStats[g.name].map { [$0] } ?? []
    }

    /// The share of the machine (percent) that follows from the hierarchy, per group.
    static func machineSharePercent(_ g: GroupPolicy, _ r: Reconciler, hierarchy: HierarchySnapshot, root: CgroupPath) -> Double? {
        let fraction: Double?
        if g.isUnitBacked {
            fraction = MachineShare.fraction(ofAll: r.unitCgroups.placements(of: g.name).map(\.cgroup), in: hierarchy)
        } else {
            fraction = MachineShare.fraction(of: root.appending(g.name.rawValue)!.description, in: hierarchy)
        }
        return fraction.map { $0 * 100 }
    }
}
