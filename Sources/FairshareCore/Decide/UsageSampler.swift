/// Turns cumulative counters into rates: delta usage over delta monotonic time, only between
/// two consecutive samples of the same group (a group created or reset starts afresh).
public struct UsageSampler: Sendable {
    public struct Sample: Sendable, Equatable {
        public var cpu: CPUStat
        public var io: IOStat?
        public var pressure: PressureStat?
        /// Monotonic clock, nanoseconds.
        public var at: UInt64

        public init(cpu: CPUStat, io: IOStat?, pressure: PressureStat? = nil, at: UInt64) {
            self.cpu = cpu
            self.io = io
            self.pressure = pressure
            self.at = at
        }
    }

    public struct Rates: Sendable, Equatable {
        /// CPUs used on average over the interval (1.0 = one CPU fully busy).
        public var cpus: Double
        /// nil when io.stat could not be read at either end of the interval (never a zero).
        public var ioReadBytesPerSecond: Double?
        public var ioWriteBytesPerSecond: Double?
        public var throttledIncrease: UInt64
        /// Share of the interval in which some task waited for a CPU (0...1); nil without PSI.
        public var pressure: Double?
        /// Seconds between the two samples.
        public var seconds: Double

        public static let zero = Rates(cpus: 0, ioReadBytesPerSecond: 0, ioWriteBytesPerSecond: 0, throttledIncrease: 0, pressure: nil, seconds: 0)
    }

    public private(set) var last: [GroupName: Sample] = [:]
    public private(set) var rates: [GroupName: Rates] = [:]
    /// For groups measured over several cgroups (a unit-backed group's units): each part's last
    /// sample, by part (unit name), and which parts each group had.
    public private(set) var partLast: [String: Sample] = [:]
    private var parts: [GroupName: Set<String>] = [:]

    public init() {}

    /// The group's counters stood unchanged until `at` (a quiet user's subgroup, not read in the
    /// passes since its last reading: `UserReadSchedule`): its next rate is measured from then,
    /// so a user who wakes shows their usage over one interval, not spread over the quiet ones.
    public mutating func restate(_ group: GroupName, unchangedUntil at: UInt64) {
        if let s = last[group], s.at < at { last[group]?.at = at }
    }

    /// Records a sample; the group's rates are updated when there is an earlier one to compare.
    public mutating func record(_ group: GroupName, _ sample: Sample) {
        defer { last[group] = sample }
        // No time passed (two passes in one instant): nothing new measured, the rates stand.
        if let prev = last[group], prev.at == sample.at, sample.cpu.usageUsec >= prev.cpu.usageUsec, rates[group] != nil {
            // ...except what could not be read now: that is unknown, not what it was.
            if sample.io == nil { rates[group]?.ioReadBytesPerSecond = nil; rates[group]?.ioWriteBytesPerSecond = nil }
            if sample.pressure == nil { rates[group]?.pressure = nil }
            return
        }
        rates[group] = last[group].flatMap { Self.rates(from: $0, to: sample) }
    }

    /// Records a group that is the sum of several cgroups (a unit glob group). Rates are taken
    /// per part and then added up, so a unit that appears or vanishes between two samples never
    /// shows as a jump in the group's counters; a part seen for the first time counts from its
    /// next sample. Pressure is the largest of the parts' (the union waits at least that long).
    /// `last` holds the parts' counters added up.
    public mutating func record(_ group: GroupName, parts now: [(key: String, sample: Sample)], at: UInt64) {
        var total: Rates?
        var sum = Sample(cpu: CPUStat(), io: nil, pressure: nil, at: at)
        for (key, sample) in now {
            if let prev = partLast[key], let r = Self.rates(from: prev, to: sample) {
                var t = total ?? .zero
                t.cpus += r.cpus
                // A part whose io.stat is unknown makes the group's io rate unknown.
                t.ioReadBytesPerSecond = t.ioReadBytesPerSecond.flatMap { a in r.ioReadBytesPerSecond.map { a + $0 } }
                t.ioWriteBytesPerSecond = t.ioWriteBytesPerSecond.flatMap { a in r.ioWriteBytesPerSecond.map { a + $0 } }
                t.throttledIncrease += r.throttledIncrease
                if let p = r.pressure { t.pressure = max(t.pressure ?? 0, p) }
                t.seconds = max(t.seconds, r.seconds)
                total = t
            }
            partLast[key] = sample
            sum.cpu.usageUsec += sample.cpu.usageUsec
            sum.cpu.userUsec += sample.cpu.userUsec
            sum.cpu.systemUsec += sample.cpu.systemUsec
            sum.cpu.nrPeriods += sample.cpu.nrPeriods
            sum.cpu.nrThrottled += sample.cpu.nrThrottled
            sum.cpu.throttledUsec += sample.cpu.throttledUsec
            if let io = sample.io {
                var s = sum.io ?? IOStat()
                s.readBytes += io.readBytes
                s.writeBytes += io.writeBytes
                s.readIOs += io.readIOs
                s.writeIOs += io.writeIOs
                sum.io = s
            }
        }
        let keys = Set(now.map(\.key))
        for gone in (parts[group] ?? []).subtracting(keys) { partLast[gone] = nil }
        parts[group] = keys
        rates[group] = total
        last[group] = sum
    }

    /// The rates between two consecutive samples of one cgroup; nil when there is nothing to
    /// compare (no time passed, or a counter went back: a new cgroup).
    public static func rates(from prev: Sample, to sample: Sample) -> Rates? {
        guard sample.at > prev.at, sample.cpu.usageUsec >= prev.cpu.usageUsec else { return nil }
        let seconds = Double(sample.at - prev.at) / 1e9
        let cpus = Double(sample.cpu.usageUsec - prev.cpu.usageUsec) / 1e6 / seconds
        var read: Double?
        var write: Double?
        if let now = sample.io, let before = prev.io, now.readBytes >= before.readBytes, now.writeBytes >= before.writeBytes {
            read = Double(now.readBytes - before.readBytes) / seconds
            write = Double(now.writeBytes - before.writeBytes) / seconds
        }
        let throttled = sample.cpu.nrThrottled >= prev.cpu.nrThrottled ? sample.cpu.nrThrottled - prev.cpu.nrThrottled : 0
        var pressure: Double?
        if let now = sample.pressure, let before = prev.pressure, now.someTotalUsec >= before.someTotalUsec {
            pressure = min(1, Double(now.someTotalUsec - before.someTotalUsec) / 1e6 / seconds)
        }
        return Rates(cpus: cpus, ioReadBytesPerSecond: read, ioWriteBytesPerSecond: write, throttledIncrease: throttled,
                     pressure: pressure, seconds: seconds)
    }

    public mutating func forget(_ group: GroupName) {
        last[group] = nil
        rates[group] = nil
        for key in parts[group] ?? [] { partLast[key] = nil }
        parts[group] = nil
    }

    /// Each group's target share of the capacity, in percent: its shares over the sum of the
    /// shares of the groups that have members (an empty group takes no part: weights are
    /// work-conserving).
    /// Unit-backed groups get 0: they are not siblings of the agent's groups (see their machine share).
    public static func targetPercents(policy: Policy, memberCounts: [GroupName: Int]) -> [GroupName: Double] {
        // A group holding subgroups has the members of its descendants.
        let counts = policy.subtreeCounts(memberCounts)
        let children = Dictionary(grouping: policy.groups, by: \.parent)
        var out: [GroupName: Double] = [:]
        // Level by level: siblings divide their parent's part (the machine at the top) by shares
        // among those with members. Idle groups are due nothing: they run only on what the
        // others leave.
        var levels: [(GroupName?, Double)] = [(nil, 100)]
        while let (parent, part) = levels.popLast() {
            let siblings = children[parent] ?? []
            let active = siblings.filter { !$0.isUnitBacked && !$0.idle && (counts[$0.name] ?? 0) > 0 }
            let total = active.reduce(0) { $0 + $1.shares.value }
            for g in siblings {
                let isActive = !g.isUnitBacked && !g.idle && (counts[g.name] ?? 0) > 0
                out[g.name] = isActive && total > 0 ? part * Double(g.shares.value) / Double(total) : 0
                if children[g.name] != nil { levels.append((g.name, out[g.name]!)) }
            }
        }
        return out
    }
}
