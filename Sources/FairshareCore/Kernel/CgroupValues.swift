/// The values the agent writes into cgroup interface files, validated once: a value of these
/// types is always one the kernel accepts, so no write fails for a value out of range.

/// A value the agent writes into a cgroup file: validated when it is made (a value of a
/// conforming type is always one the kernel accepts), with the one text the file is given.
public protocol CgroupFileValue: Sendable, CustomStringConvertible {
    /// The text written into the file.
    var fileText: String { get }
}

/// Any value of a cgroup file, as the generic step and the applied record carry it. Two values
/// are the same when the kernel would be given the same text.
public struct SettingValue: Sendable, Hashable, CustomStringConvertible {
    public let value: any CgroupFileValue

    public init(_ value: some CgroupFileValue) { self.value = value }

    public var fileText: String { value.fileText }
    /// How reports show it ("400" for cpu.weight, "50000 100000" for cpu.max).
    public var description: String { value.description }
    /// The typed value, if it is one of `V`.
    public func `as`<V: CgroupFileValue>(_: V.Type = V.self) -> V? { value as? V }

    public static func == (a: SettingValue, b: SettingValue) -> Bool { a.fileText == b.fileText }
    public func hash(into h: inout Hasher) { h.combine(fileText) }
}

/// Which weight file a `Weight` is for, that file's range and its text (phantom types: a
/// cpu.weight can not be written as an io.weight by mistake).
public protocol WeightFile: Sendable {
    static var range: ClosedRange<Int> { get }
    /// The file's text for a weight.
    static func text(_ weight: Int) -> String
}

/// cpu.weight: 1...10000 (cgroup v2's CGROUP_WEIGHT_MIN...MAX).
public enum CPUResource: WeightFile {
    public static var range: ClosedRange<Int> { 1...10000 }
    public static func text(_ weight: Int) -> String { String(weight) }
}

/// io.weight (read by io.cost): 1...10000, as cpu.weight; the default for every device.
public enum IOResource: WeightFile {
    public static var range: ClosedRange<Int> { 1...10000 }
    public static func text(_ weight: Int) -> String { "default \(weight)" }
}

/// io.bfq.weight, BFQ's own (BFQ does not read io.weight): 1...1000 (BFQ_MIN_WEIGHT...MAX),
/// written as io.weight's text.
public enum BFQResource: WeightFile {
    public static var range: ClosedRange<Int> { 1...1000 }
    public static func text(_ weight: Int) -> String { "default \(weight)" }
}

/// A weight its file accepts: within the file's range, always.
public struct Weight<Resource: WeightFile>: Sendable, Hashable, Comparable, CgroupFileValue {
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
    public var fileText: String { Resource.text(value) }

    /// The weight in a text of its file ("400", "default 400"; a device line is not the default's).
    public init?(fileText: String) {
        let line = fileText.split(separator: "\n").first { !$0.contains(":") }.map(String.init) ?? ""
        let words = line.split(separator: " ")
        let number = words.count == 2 && words[0] == "default" ? words[1] : words.count == 1 ? words[0] : ""
        guard let n = Int(number) else { return nil }
        self.init(n)
    }
}

public typealias CPUWeight = Weight<CPUResource>
public typealias IOWeight = Weight<IOResource>
public typealias BFQWeight = Weight<BFQResource>

/// cpu.max: a quota per period in microseconds, or no limit ("max PERIOD").
public struct CPUMax: Sendable, Hashable, CgroupFileValue {
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

    /// cpu.max as the kernel shows it; nil for a text this agent would not write (another period).
    public init?(fileText: String) {
        let words = fileText.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 2, Int(words[1]) == Self.periodUsec else { return nil }
        if words[0] == "max" {
            self.init(quotaUsec: nil)
        } else {
            guard let q = Int(words[0]), (Self.minQuotaUsec...Self.maxQuotaUsec).contains(q) else { return nil }
            self.init(quotaUsec: q)
        }
    }
}

/// cpu.idle: 1 makes the group idle (it runs only on CPU time no sibling wants), 0 ordinary.
public struct CPUIdle: Sendable, Hashable, CgroupFileValue {
    public let idle: Bool

    public init(_ idle: Bool) { self.idle = idle }

    public init?(fileText: String) {
        switch fileText.trimmingSpaces() {
        case "0": self.init(false)
        case "1": self.init(true)
        default: return nil
        }
    }

    public var fileText: String { idle ? "1" : "0" }
    public var description: String { fileText }
}

/// cgroup.subtree_control as the agent writes it in its groups: the controllers the groups need
/// (cpu, io) on for a group that holds subgroups (a nested parent, a per_user group), off for one
/// that holds processes (cgroup v2: no process in a cgroup that enables controllers for its
/// children).
public struct SubtreeControl: Sendable, Hashable, CgroupFileValue {
    public static let controllers = ["cpu", "io"]
    public let enabled: Bool

    public init(_ enabled: Bool) { self.enabled = enabled }

    /// What the kernel reads back ("cpu io", "" with nothing enabled) or what the agent writes.
    public init?(fileText: String) {
        let tokens = fileText.split(whereSeparator: { $0 == " " || $0 == "\n" })
        if tokens.isEmpty || tokens == Self(false).fileText.split(separator: " ") { self.init(false); return }
        if tokens == Self(true).fileText.split(separator: " ") || Self.controllers.allSatisfy({ tokens.contains(Substring($0)) }) {
            self.init(true)
            return
        }
        return nil
    }

    public var fileText: String { Self.controllers.map { (enabled ? "+" : "-") + $0 }.joined(separator: " ") }
    public var description: String { enabled ? Self.controllers.joined(separator: " ") : "none" }
}
