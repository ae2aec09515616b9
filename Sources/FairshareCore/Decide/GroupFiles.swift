/// The files the agent writes in its own groups' cgroups, one row each. A row says everything the
/// stages need of its file: the controller it needs, the value type (its range lives in the type),
/// how the kernel's text reads back, what a new cgroup holds (and so what "unset" means and what a
/// group left behind at release gets back), what a missing file means, how the journal tells a
/// write, and the rule that computes the value a group should hold. The reconciler plans, the
/// actuator writes, the reporter, status, `fairshare plan` and the fake kernel all follow this
/// table: adding a file is adding a row (docs/architecture.md, "Where a change goes").
public struct GroupFile: Sendable, Identifiable {
    /// When in a pass the file is written: the controllers of the groups' children first (a
    /// child's files exist only once its parent enabled them), weights, then limits (after every
    /// weight, as before the table); memberships follow all of them.
    public enum Phase: Int, Sendable, Comparable {
        case controllers, weights, limits
        public static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    /// What it means when the file is missing from a group's cgroup that exists.
    public enum Absence: Sendable {
        /// A controller is not enabled for the group: a failure to report (once) and retry.
        /// The text says why, for the group named.
        case controllerOff(@Sendable (GroupName) -> String)
        /// This kernel has no such file (too old, or a module is not loaded). A value equal to
        /// `harmless` is what the group holds anyway (done); any other value fails with the cause
        /// `GroupFile.lacksCause(file)`, which the reconciler learns from, and `why` explains.
        case kernelLacks(harmless: String, why: @Sendable (GroupName) -> String)
    }

    /// A file whose value the kernel keeps within another's (cpu.max.burst within cpu.max's
    /// quota): when both change in one pass, it is written before the other if its new value fits
    /// the other's value in force, else after.
    public struct Bound: Sendable {
        public let file: ControlFile
        public let fits: @Sendable (_ value: SettingValue, _ within: SettingValue) -> Bool
    }

    /// How the journal tells a write: the event (FAIRSHARE_EVENT; writes of one group and event in
    /// one pass are one entry), the field the value goes in, and whether it is news (info) or a
    /// detail (debug).
    public struct Journal: Sendable {
        public let event: String
        public let field: String
        public let isNews: @Sendable (SettingValue, WeightSource) -> Bool
        /// A few words after the value ("idle: runs only on CPU time no other group wants").
        public var note: @Sendable (SettingValue) -> String? = { _ in nil }
        /// The entry names the shares ("(shares 4)"), or says "effective" for the controller's values.
        public var namesShares = false
    }

    public var id: ControlFile { file }
    public let file: ControlFile
    /// The controller that must be enabled for the group (in the root's subtree_control).
    public let controller: String
    public let phase: Phase
    /// What a new cgroup holds: the kernel's default, what "unset" means, and what a group that
    /// could not be removed at release is given back.
    public let kernelDefault: SettingValue
    /// True when a new cgroup is taken to hold `kernelDefault` (nothing written unless the rule
    /// wants another value); false when the agent writes the value once anyway (the weights: the
    /// journal then shows every group's weights).
    public let assumedAtCreation: Bool
    /// The kernel's text read back into a value; nil for a text the agent would not write.
    public let readBack: @Sendable (String) -> SettingValue?
    public let absence: Absence
    /// Files the kernel sets itself when this one is written (cpu.idle resets cpu.weight).
    public var resets: [ControlFile] = []
    public var within: Bound? = nil
    public let journal: Journal
    /// What the agent does about a failed write.
    public let onFailure: String
    /// The value the group's cgroup should hold now; nil leaves the file alone this pass.
    public let rule: @Sendable (SettingContext) -> Setting?

    /// The failure cause of a write the kernel could not take because it has no such file.
    public static func lacksCause(_ file: ControlFile) -> String { "no \(file)" }
}

/// A value a rule wants, and whether it is the shares' own or the controller's adjustment.
public struct Setting: Sendable, Equatable {
    public var value: SettingValue
    public var source: WeightSource

    public init(_ value: some CgroupFileValue, _ source: WeightSource = .shares) {
        self.value = SettingValue(value)
        self.source = source
    }
}

/// What a rule sees: the group, the controller's decision for it, the policy's weights, the kernel's
/// facts, and the values of the rows before it (a later row may depend on an earlier one's).
public struct SettingContext: Sendable {
    public var group: GroupPolicy
    /// The group holds subgroups, not processes (a nested parent, a per_user group).
    public var isInterior: Bool = false
    public var decision: Controller.GroupDecision?
    public var weights: ShareWeights
    /// CPUs available to the root.
    public var capacity: Double
    /// Files this kernel has been found to lack.
    public var kernelLacks: Set<ControlFile>
    /// Some disk schedules with BFQ.
    public var bfqActive: Bool
    /// Values wanted by earlier rows, this pass.
    public var wanted: [ControlFile: SettingValue] = [:]
}

/// The policy's shares as weights, computed once per pass for every group.
public struct ShareWeights: Sendable {
    public let cpu: [GroupName: CPUWeight]
    public let io: [GroupName: IOWeight]
    public let bfq: [GroupName: BFQWeight]

    public init(_ policy: Policy) {
        cpu = policy.cpuWeights()
        io = policy.ioWeights()
        bfq = policy.bfqWeights().weights
    }
}

public enum GroupFiles {
    /// Every row, in the order a pass writes them within a phase.
    public static let all: [GroupFile] = [subtreeControl, cpuIdle, cpuWeight, ioWeight, ioBFQWeight, cpuMax, cpuMaxBurst]

    private static let byFile = Dictionary(uniqueKeysWithValues: all.map { ($0.file, $0) })

    /// The row of a file the agent writes in its groups.
    public static func row(_ file: ControlFile) -> GroupFile? { byFile[file] }

    /// cgroup.subtree_control: cpu and io on for the children of a group that holds subgroups,
    /// off for a group that holds processes (a new cgroup has them off: nothing is written for a
    /// leaf unless a reload turned a parent into one). Enabling fails with EBUSY while the group
    /// still holds processes (a reload made a leaf a parent): retried every pass, once they left.
    public static let subtreeControl = GroupFile(
        file: .subtreeControl, controller: "", phase: .controllers, kernelDefault: SettingValue(SubtreeControl(false)), assumedAtCreation: true,
        readBack: { SubtreeControl(fileText: $0).map(SettingValue.init) },
        absence: .controllerOff { g in "group \(g) has no cgroup.subtree_control" },
        journal: .init(event: "controllers", field: "subtree_control", isNews: { _, _ in false }),
        onFailure: "retried every pass; its subgroups get their weights once it holds no process of its own",
        rule: { c in Setting(SubtreeControl(c.isInterior)) })

    /// cpu.idle, before any cpu.weight: the kernel refuses cpu.weight while cpu.idle = 1 and
    /// resets it when it is written.
    public static let cpuIdle = GroupFile(
        file: .cpuIdle, controller: "cpu", phase: .weights, kernelDefault: SettingValue(CPUIdle(false)), assumedAtCreation: true,
        readBack: { CPUIdle(fileText: $0).map(SettingValue.init) },
        absence: .kernelLacks(harmless: "0", why: { g in
            "this kernel has no cpu.idle, which needs Linux 5.15 or later; group \(g) runs as an ordinary group with cpu.weight 1 instead" }),
        resets: [.cpuWeight],
        // Going idle is news; "0" is mostly a restart confirming an ordinary group.
        journal: .init(event: "cpu_idle", field: "cpu_idle", isNews: { v, _ in v.as(CPUIdle.self)?.idle == true },
                       note: { v in v.as(CPUIdle.self)?.idle == true ? "idle: runs only on CPU time no other group wants" : nil }),
        onFailure: "the group runs as an ordinary group meanwhile",
        rule: { c in Setting(CPUIdle(c.group.idle)) })

    /// cpu.weight: the controller's effective weight where it decided, else the shares'. None
    /// while cpu.idle = 1 holds; a kernel without cpu.idle gives an idle group the smallest.
    public static let cpuWeight = GroupFile(
        file: .cpuWeight, controller: "cpu", phase: .weights, kernelDefault: SettingValue(CPUWeight.kernelDefault), assumedAtCreation: false,
        readBack: { CPUWeight(fileText: $0).map(SettingValue.init) },
        absence: .controllerOff { g in "the cpu controller is not enabled for group \(g)" },
        journal: .init(event: "weights", field: "cpu_weight", isNews: { _, source in source == .shares }, namesShares: true),
        onFailure: "retried every pass",
        rule: { c in
            let g = c.group
            if g.idle && !c.kernelLacks.contains(.cpuIdle) { return nil }
            let own = g.idle ? CPUWeight.range.lowerBound : c.weights.cpu[g.name]!.value
            let weight = c.decision?.cpuWeight ?? CPUWeight(own)!
            return Setting(weight, weight.value == own ? .shares : .controller)
        })

    /// io.weight, read by io.cost: written always (the owner may enable io.cost at any time).
    public static let ioWeight = GroupFile(
        file: .ioWeight, controller: "io", phase: .weights, kernelDefault: SettingValue(IOWeight.kernelDefault), assumedAtCreation: false,
        readBack: { IOWeight(fileText: $0).map(SettingValue.init) },
        absence: .controllerOff { g in "the io controller is not enabled for group \(g); cpu shares still apply" },
        journal: .init(event: "weights", field: "io_weight", isNews: { _, source in source == .shares }, namesShares: true),
        onFailure: "retried every pass; cpu shares still apply",
        rule: { c in
            let own = c.weights.io[c.group.name]!
            let weight = c.decision?.ioWeight ?? own
            return Setting(weight, weight == own ? .shares : .controller)
        })

    /// io.bfq.weight: the io shares on BFQ's range times the same fairness factor as io.weight,
    /// written only while some disk schedules with BFQ (the file exists only while its module is
    /// loaded, and BFQ alone reads it).
    public static let ioBFQWeight = GroupFile(
        file: .ioBFQWeight, controller: "io", phase: .weights, kernelDefault: SettingValue(BFQWeight.kernelDefault), assumedAtCreation: false,
        readBack: { BFQWeight(fileText: $0).map(SettingValue.init) },
        absence: .controllerOff { g in "no io.bfq.weight in group \(g): the io controller is not enabled for it, or BFQ is no longer loaded" },
        journal: .init(event: "weights", field: "io_bfq_weight", isNews: { _, _ in true }, namesShares: true),
        onFailure: "retried every pass; cpu shares still apply",
        rule: { c in
            guard c.bfqActive else { return nil }
            return Setting(BFQWeight(clamping: Double(c.weights.bfq[c.group.name]!.value) * (c.decision?.factor ?? 1)))
        })

    /// cpu.max: the controller's ceiling where it decided (raised while borrowing), else the
    /// group's `max`, so a capped group is capped from its first moment.
    public static let cpuMax = GroupFile(
        file: .cpuMax, controller: "cpu", phase: .limits, kernelDefault: SettingValue(CPUMax.unlimited), assumedAtCreation: true,
        readBack: { CPUMax(fileText: $0).map(SettingValue.init) },
        absence: .controllerOff { g in "the cpu controller is not enabled for group \(g)" },
        journal: .init(event: "cpu_max", field: "cpu_max", isNews: { _, _ in false }),
        onFailure: "retried every pass",
        rule: { c in Setting(c.decision?.cpuMaxValue ?? CPUMax(cpus: c.group.ceiling?.cpus(capacity: c.capacity))) })

    /// cpu.max.burst (Linux 5.14+): the unused quota a capped group may bank and spend in a later
    /// period, `max_burst`; 0 without it. The kernel keeps it within cpu.max's quota, so it is
    /// clamped to the quota this pass writes (a `max_burst` in CPUs beside a `max` in percent may
    /// exceed it on a small machine).
    public static let cpuMaxBurst = GroupFile(
        file: ControlFile("cpu.max.burst"), controller: "cpu", phase: .limits, kernelDefault: SettingValue(CPUMaxBurst(usec: 0)!),
        assumedAtCreation: true, readBack: { Int($0.trimmingSpaces()).flatMap(CPUMaxBurst.init(usec:)).map(SettingValue.init) },
        absence: .kernelLacks(harmless: "0", why: { g in
            "this kernel has no cpu.max.burst, which needs Linux 5.14 or later; group \(g) is held to its max without a burst" }),
        within: .init(file: .cpuMax, fits: { burst, max in
            guard let quota = max.as(CPUMax.self)?.quotaUsec else { return true }
            return (burst.as(CPUMaxBurst.self)?.usec ?? 0) <= quota
        }),
        journal: .init(event: "cpu_max", field: "cpu_max_burst", isNews: { _, _ in false }),
        onFailure: "retried every pass; the group's max still holds",
        rule: { c in
            guard let quota = c.wanted[.cpuMax]?.as(CPUMax.self)?.quotaUsec,
                  let burst = c.group.maxBurst?.cpus(capacity: c.capacity), burst.isFinite
            else { return Setting(CPUMaxBurst(usec: 0)!) }
            // Pinned as a Double first: Int(_:) traps beyond Int's range ("1e20" CPUs parses).
            return Setting(CPUMaxBurst(usec: Int(min((burst * Double(CPUMax.periodUsec)).rounded(), Double(quota))))!)
        })
}

/// cpu.max.burst's value: microseconds of unused quota per period a group may bank, 0 up to the
/// kernel's largest quota (the rule keeps it within the group's own).
public struct CPUMaxBurst: Sendable, Hashable, CgroupFileValue {
    public let usec: Int

    public init?(usec: Int) {
        guard (0...CPUMax.maxQuotaUsec).contains(usec) else { return nil }
        self.usec = usec
    }

    public var fileText: String { String(usec) }
    public var description: String { fileText }
}
