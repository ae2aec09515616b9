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
        public var ioReadBytesPerSecond: Double
        public var ioWriteBytesPerSecond: Double
        public var throttledIncrease: UInt64
        /// Share of the interval in which some task waited for a CPU (0...1); nil without PSI.
        public var pressure: Double?
        /// Seconds between the two samples.
        public var seconds: Double

        public static let zero = Rates(cpus: 0, ioReadBytesPerSecond: 0, ioWriteBytesPerSecond: 0, throttledIncrease: 0, pressure: nil, seconds: 0)
    }

    public private(set) var last: [GroupName: Sample] = [:]
    public private(set) var rates: [GroupName: Rates] = [:]

    public init() {}

    /// Records a sample; the group's rates are updated when there is an earlier one to compare.
    public mutating func record(_ group: GroupName, _ sample: Sample) {
        defer { last[group] = sample }
        guard let prev = last[group], sample.at > prev.at,
            sample.cpu.usageUsec >= prev.cpu.usageUsec  // a counter that went back: a new cgroup
        else {
            rates[group] = nil
            return
        }
        let seconds = Double(sample.at - prev.at) / 1e9
        let cpus = Double(sample.cpu.usageUsec - prev.cpu.usageUsec) / 1e6 / seconds
        var read = 0.0
        var write = 0.0
        if let now = sample.io, let before = prev.io, now.readBytes >= before.readBytes, now.writeBytes >= before.writeBytes {
            read = Double(now.readBytes - before.readBytes) / seconds
            write = Double(now.writeBytes - before.writeBytes) / seconds
        }
        let throttled = sample.cpu.nrThrottled >= prev.cpu.nrThrottled ? sample.cpu.nrThrottled - prev.cpu.nrThrottled : 0
        var pressure: Double?
        if let now = sample.pressure, let before = prev.pressure, now.someTotalUsec >= before.someTotalUsec {
            pressure = min(1, Double(now.someTotalUsec - before.someTotalUsec) / 1e6 / seconds)
        }
        rates[group] = Rates(cpus: cpus, ioReadBytesPerSecond: read, ioWriteBytesPerSecond: write, throttledIncrease: throttled,
                             pressure: pressure, seconds: seconds)
    }

    public mutating func forget(_ group: GroupName) {
        last[group] = nil
        rates[group] = nil
    }

    /// Each group's target share of the capacity, in percent: its shares over the sum of the
    /// shares of the groups that have members (an empty group takes no part: weights are
    /// work-conserving).
    public static func targetPercents(policy: Policy, memberCounts: [GroupName: Int]) -> [GroupName: Double] {
        let active = policy.groups.filter { (memberCounts[$0.name] ?? 0) > 0 }
        let total = active.reduce(0) { $0 + $1.shares.value }
        var out: [GroupName: Double] = [:]
        for g in policy.groups {
            let isActive = (memberCounts[g.name] ?? 0) > 0
            out[g.name] = isActive && total > 0 ? Double(g.shares.value) * 100 / Double(total) : 0
        }
        return out
    }
}
