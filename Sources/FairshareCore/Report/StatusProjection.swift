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
        public var events: EventStatus?
        /// Names of the users whose subgroups are shown, where they resolve.
        public var userNames: [UInt32: String] = [:]

        public init(pid: Int32, startedAt: Double, now: Double, cgroupRoot: String, rootPath: CgroupPath, intervalSeconds: Double,
                    capacity: Double, ticks: Int, passTimes: PassTimes, policyPath: String, policyLoadedAt: Double,
                    lastReload: ReloadOutcome?, reloads: Int, events: EventStatus? = nil, userNames: [UInt32: String] = [:]) {
            self.events = events
            self.userNames = userNames
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

    public static func report(_ r: ReconcilerSnapshot, observation: Observation?, hierarchy: HierarchySnapshot, failures: FailureBook,
                              facts: AgentFacts) -> StatusReport {
        // The tree: nested groups and users' subgroups are rows too (with their parent).
        let policy = r.tree
        // A group holding subgroups counts its descendants' members.
        let members = policy.subtreeCounts(r.memberCounts)
        let targets = UsageSampler.targetPercents(policy: policy, memberCounts: members)
        let cpuWeights = policy.cpuWeights()
        let ioWeights = policy.ioWeights()
        let capacity = facts.capacity
        // Every agent group's machine share from one index of the hierarchy.
        let agentShares = MachineShare.fractions(of: policy.agentGroups.map { facts.rootPath.appending(group: $0.name).description },
                                                 in: hierarchy)
        let layout = GroupLayout(r.policy)
        let groups = policy.groups.map { g -> GroupStatus in
            let rates = r.rates[g.name]
            let readings = stats(of: g, r, observation)
            var unavailable: [String: String] = [:]
            /// The figure, or nil with the reason under each of its status fields: `unreadable`
            /// when its file could not be read now, else `otherwise`.
            func figure<T>(_ value: T?, _ fields: [String], unreadable: String?, otherwise: String) -> T? {
                guard let value, unreadable == nil else {
                    for field in fields { unavailable[field] = unreadable ?? otherwise }
                    return nil
                }
                return value
            }
            let cpuReason = readings.compactMap { $0.cpu.unavailableReason }.first
            let ioReason = readings.compactMap { $0.io.unavailableReason }.first
            let noInterval = "no whole interval measured yet"
            // A unit-backed group none of whose units has a cgroup runs nothing: a measured zero.
            let nothingRuns = g.isUnitBacked && observation != nil && readings.isEmpty
            // The counters as last read (a unit-backed group's summed over its units).
            let last = figure(r.counters[g.name]?.cpu, ["usage_usec", "nr_throttled", "throttled_usec"],
                              unreadable: cpuReason, otherwise: "not read yet (no cgroup to read)")
            // No rate: the cpu.stat reading failed, or no whole interval was measured yet (the
            // group is new, or its reading just came back).
            let cpus = figure(rates?.cpus ?? (nothingRuns ? 0 : nil), ["cpu_usage_cpus", "cpu_usage_pct"],
                              unreadable: cpuReason, otherwise: noInterval)
            let ioRates = rates.map { r in r.ioReadBytesPerSecond.flatMap { read in r.ioWriteBytesPerSecond.map { (read, $0) } } }
            let io = figure(ioRates ?? (nothingRuns ? (0, 0) : nil), ["io_read_bps", "io_write_bps"], unreadable: ioReason,
                            otherwise: rates == nil ? noInterval
                                : "no io rate for the interval: io.stat could not be read at its start (or its counters went back)")
            // An agent group's weights as written; a unit-backed group's as asked of systemd.
            let notWritten = "not written yet (see agent.failures)"
            // An idle group has no weight while its cpu.idle = 1 holds (a kernel without cpu.idle
            // gives it the smallest weight instead, shown as written).
            let applied = { (file: ControlFile) in r.applied.value(file, of: g.name) }
            let idleInKernel = g.idle && !r.applied.kernelLacks.contains(.cpuIdle)
            let cpuWeight = figure(idleInKernel ? nil : g.isUnitBacked ? cpuWeights[g.name]?.value : applied(.cpuWeight)?.as(CPUWeight.self)?.value,
                                   ["cpu_weight"], unreadable: nil,
                                   otherwise: idleInKernel ? (applied(.cpuIdle)?.as(CPUIdle.self)?.idle == true ? Controller.idleWeightReason : "idle group: cpu.idle = 1 not written yet (see agent.failures)") : notWritten)
            let ioWeight = figure(g.isUnitBacked ? ioWeights[g.name]?.value : applied(.ioWeight)?.as(IOWeight.self)?.value, ["io_weight"],
                                  unreadable: nil, otherwise: notWritten)
            var status = GroupStatus(
                name: g.name.rawValue, shares: g.shares.value, ioShares: g.ioShares.value,
                cpuWeight: cpuWeight, ioWeight: ioWeight,
                members: members[g.name] ?? 0,
                cpuUsageCPUs: cpus, cpuUsagePercent: cpus.map { $0 / capacity * 100 }, cpuTargetPercent: targets[g.name] ?? 0,
                usageUsec: last?.usageUsec, nrThrottled: last?.nrThrottled, throttledUsec: last?.throttledUsec,
                ioReadBytesPerSecond: io?.0, ioWriteBytesPerSecond: io?.1)
            status.unavailable = unavailable.isEmpty ? nil : unavailable
            status.parent = g.parent?.rawValue
            if let uid = g.name.userNode.flatMap({ _ in layout.perUserGroup(of: g.name) }).flatMap({ _ in g.name.userNode?.uid }) {
                status.uid = uid
                status.user = facts.userNames[uid]
            }
            status.pressureTotalUsec = r.counters[g.name]?.pressure?.someTotalUsec
            status.ioBFQWeight = g.isUnitBacked ? nil : applied(.ioBFQWeight)?.as(BFQWeight.self)?.value
            if !g.isUnitBacked {
                status.cgroupFiles = Dictionary(uniqueKeysWithValues: r.applied.all(of: g.name).map { ($0.key.rawValue, $0.value.fileText) })
            }
            status.backing = g.isUnitBacked ? "unit" : "agent"
            status.idle = g.idle ? true : nil
            if g.isUnitBacked {
                status.units = r.unitCgroups.placements(of: g.name).map { UnitStatus(name: $0.unit, cgroup: $0.cgroup) }
            }
            status.machineSharePercent = g.isUnitBacked
                ? MachineShare.fraction(ofAll: r.unitCgroups.placements(of: g.name).map(\.cgroup), in: hierarchy).map { $0 * 100 }
                : agentShares[facts.rootPath.appending(group: g.name).description].map { $0 * 100 }
            if let d = r.decision?.decision(for: g.name) {
                status.redistribution = GroupRedistribution(
                    allocationCPUs: d.share.allocation, allocationPercent: d.share.allocation / capacity * 100,
                    borrowedCPUs: d.share.borrowed, hungry: d.hungry, demand: d.demandReason, limit: d.share.limit.rawValue,
                    pressurePercent: rates?.pressure.map { $0 * 100 }, fairnessFactor: d.factor,
                    cpuMax: applied(.cpuMax)?.fileText ?? "not written yet", weightReason: d.weightReason,
                    min: g.floor?.description, max: g.ceiling?.description, burst: g.burst?.description, borrow: g.borrow)
                // The ledger's figures behind the factor (decayed fairness; idle groups have none).
                if case .decayed = policy.agent.fairness, !g.idle {
                    status.redistribution?.decayedUsageCPUs = r.fairness.usage[g.name] ?? 0
                    status.redistribution?.entitlementCPUs = r.fairness.entitlement[g.name] ?? 0
                }
            }
            return status
        }
        let open = failures.failures
        var report = StatusReport(
            agent: AgentStatus(
                pid: facts.pid, startedAt: facts.startedAt, uptimeSeconds: facts.now - facts.startedAt,
                cgroupRoot: facts.cgroupRoot, intervalSeconds: facts.intervalSeconds, cpus: capacity, ticks: facts.ticks,
                lastPassSeconds: facts.passTimes.last, passSecondsMedian: facts.passTimes.median,
                failures: open, untrackedFailures: failures.untracked > 0 ? failures.untracked : nil, events: facts.events),
            policy: PolicyStatus(path: facts.policyPath, loadedAt: facts.policyLoadedAt, lastReload: facts.lastReload, reloads: facts.reloads),
            groups: groups
        )
        report.ioDevices = r.disks.map(IOShares.statuses)
        report.cgroupFileDefaults = Dictionary(uniqueKeysWithValues: GroupFiles.all.map { ($0.file.rawValue, $0.kernelDefault.fileText) })
        return report
    }

    /// The readings a group's figures come from: its cgroup's, or its units'.
    static func stats(of g: GroupPolicy, _ r: ReconcilerSnapshot, _ o: Observation?) -> [CgroupStats] {
        guard let o else { return [] }
        if g.isUnitBacked {
            return r.unitCgroups.placements(of: g.name).compactMap { o.units.stats[$0.unit] }
        }
        if let stats = o.groupStats[g.name] { return [stats] }
        // A quiet user's subgroup not read this pass: what was read last stands.
        return g.parent != nil && g.name.userNode != nil ? [.user(cpu: .value(r.counters[g.name]?.cpu ?? CPUStat()))] : []
    }
}
