/// The values the agent writes into cgroup interface files, validated once: a value of these
/// types is always one the kernel accepts, so no write fails for a value out of range.

/// Which weight file a `Weight` is for, and that file's range (phantom types: a cpu.weight can
/// not be written as an io.weight by mistake).
public protocol WeightFile: Sendable {
    static var range: ClosedRange<Int> { get }
}

/// cpu.weight: 1...10000 (cgroup v2's CGROUP_WEIGHT_MIN...MAX).
public enum CPUResource: WeightFile {
    public static var range: ClosedRange<Int> { 1...10000 }
}

/// io.weight (read by io.cost): 1...10000, as cpu.weight.
public enum IOResource: WeightFile {
    public static var range: ClosedRange<Int> { 1...10000 }
}

/// io.bfq.weight, BFQ's own (BFQ does not read io.weight): 1...1000 (BFQ_MIN_WEIGHT...MAX).
public enum BFQResource: WeightFile {
    public static var range: ClosedRange<Int> { 1...1000 }
}

/// A weight its file accepts: within the file's range, always.
public struct Weight<Resource: WeightFile>: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static var range: ClosedRange<Int> { Resource.range }
    /// The kernel's default for a new cgroup, the same 100 in every weight file (and systemd's
    /// for a unit without a setting).
    public static var kernelDefault: Weight { Weight(validated: 100) }

    public let value: Int

    /// Nil outside the range.
    public init?(_ value: Int) {
        guard Self.range.contains(value) else { return nil }
        self.value = value
    }

    /// The one clamp: rounds and pins anything into the range (NaN counts as the minimum).
    public init(clamping raw: Double) {
        let rounded = raw.isNaN ? Double(Self.range.lowerBound) : raw.rounded()
        self.value = Int(min(max(rounded, Double(Self.range.lowerBound)), Double(Self.range.upperBound)))
    }

    private init(validated: Int) { self.value = validated }

    public static func < (a: Weight, b: Weight) -> Bool { a.value < b.value }
    public var description: String { String(value) }
}

public typealias CPUWeight = Weight<CPUResource>
public typealias IOWeight = Weight<IOResource>
public typealias BFQWeight = Weight<BFQResource>

extension Weight where Resource == CPUResource {
    /// cpu.weight's text.
    public var fileText: String { String(value) }
}

extension Weight where Resource == IOResource {
    /// io.weight's text: the default for every device.
    public var fileText: String { "default \(value)" }
}

extension Weight where Resource == BFQResource {
    /// io.bfq.weight's text: the group's weight on every device, as io.weight's.
    public var fileText: String { "default \(value)" }
}

/// cpu.max: a quota per period in microseconds, or no limit ("max PERIOD").
public struct CPUMax: Sendable, Hashable, CustomStringConvertible {
    /// The kernel default period, and the smallest quota it accepts.
    public static let periodUsec = 100_000
    public static let minQuotaUsec = 1_000
    /// The largest quota it accepts (MAX_BW in kernel/sched/core.c: 2^44 - 1 us); a policy's
    /// `max` may be any positive number of CPUs ("1e20" parses).
    public static let maxQuotaUsec = (1 << 44) - 1
    /// What a new cgroup starts with.
    public static let unlimited = CPUMax(quotaUsec: nil)

    /// nil: no limit.
    public let quotaUsec: Int?
    public var periodUsec: Int { Self.periodUsec }

    private init(quotaUsec: Int?) { self.quotaUsec = quotaUsec }

    /// A quota in CPUs (nil, infinite or NaN: no limit), pinned into the kernel's
    /// minQuotaUsec...maxQuotaUsec (pinned as a Double first: Int(_:) traps beyond Int's range).
    public init(cpus: Double?) {
        guard let q = cpus, q.isFinite else {
            self.quotaUsec = nil
            return
        }
        let usec = (q * Double(Self.periodUsec)).rounded()
        self.quotaUsec = Int(min(max(usec, Double(Self.minQuotaUsec)), Double(Self.maxQuotaUsec)))
    }

    /// The quota in CPUs, nil for no limit.
    public var cpus: Double? { quotaUsec.map { Double($0) / Double(Self.periodUsec) } }

    /// cpu.max's text: "QUOTA PERIOD" or "max PERIOD".
    public var fileText: String { "\(quotaUsec.map(String.init) ?? "max") \(periodUsec)" }
    public var description: String { fileText }
}
