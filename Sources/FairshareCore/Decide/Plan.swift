/// The decide stage's output: every write of one pass, in the order it must happen. The act
/// stage carries the steps out one by one and answers each with a `StepOutcome`; the reconciler
/// learns from those outcomes, never from its own intentions.
public struct Plan: Sendable, Equatable {
    public var steps: [Step]

    public init(_ steps: [Step] = []) {
        self.steps = steps
    }

    public var isEmpty: Bool { steps.isEmpty }
}

/// Where a group's weights come from, for the report: the shares (loud, the admin's numbers) or
/// the controller's adjustment (quiet: floors, fairness).
public enum WeightSource: String, Sendable, Equatable {
    case shares
    case controller
}

public enum Step: Sendable, Equatable {
    /// Write-ahead: the origin of every process the plan moves and the own weights of every unit
    /// it changes, on disk before the first move or unit write. When it fails, the moves and unit
    /// writes after it are skipped (a process moved without a record could go back to the wrong
    /// place); the rest of the plan runs.
    case recordOrigins(OriginLedger.Contents)
    case createGroup(GroupName)
    case setCPUWeight(GroupName, CPUWeight, WeightSource)
    /// cpu.idle of an agent group: 1 for `idle = true`, 0 otherwise. Before any cpu.weight of
    /// the group: the kernel refuses cpu.weight while cpu.idle = 1, and resets it when it goes.
    case setCPUIdle(GroupName, Bool)
    case setIOWeight(GroupName, IOWeight, WeightSource)
    /// io.bfq.weight: written only while some disk schedules with BFQ (the file exists only
    /// while its module is loaded, and BFQ alone reads it).
    case setBFQWeight(GroupName, BFQWeight)
    case setCPUMax(GroupName, CPUMax)
    case move(ProcessIdentity, comm: String, to: GroupName, origin: String, keys: [Classifier.MatchedKey])
    /// Take note of a process already inside a group, without moving it (no write).
    case adopt(ProcessIdentity, group: GroupName, origin: String, reason: Enforcer.Reason)
    case restore(ProcessIdentity, comm: String, from: GroupName, to: String)
    case removeGroup(GroupName)
    /// CPUWeight=/IOWeight= of a unit of a unit-backed group, through systemd (runtime only).
    case setUnitWeights(unit: String, group: GroupName, UnitWeights)
    /// A unit gets back the weights it had before the agent's first write.
    case restoreUnitWeights(unit: String, to: UnitWeights)

    /// The cause a failed `setCPUIdle` carries when the kernel has no cpu.idle (before 5.15).
    public static let noCPUIdleCause = "no cpu.idle"

    public var isMove: Bool {
        if case .move = self { true } else { false }
    }

    /// Steps that must not run unless the origin ledger written before them is on disk.
    public var needsRecordedOrigins: Bool {
        switch self {
        case .move, .setUnitWeights: true
        default: false
        }
    }

    /// Steps that talk to systemd (skipped for the rest of a pass once it is unreachable).
    public var isUnitCall: Bool {
        switch self {
        case .setUnitWeights, .restoreUnitWeights: true
        default: false
        }
    }

    /// What the step writes, as a failure report names it ("io.weight of group batch").
    /// Failures are de-duplicated by this target and their cause.
    public var target: String {
        switch self {
        case .recordOrigins: "the origin ledger"
        case .createGroup(let g): "creating group \(g)"
        case .setCPUWeight(let g, _, _): "cpu.weight of group \(g)"
        case .setCPUIdle(let g, _): "cpu.idle of group \(g)"
        case .setIOWeight(let g, _, _): "io.weight of group \(g)"
        case .setBFQWeight(let g, _): "io.bfq.weight of group \(g)"
        case .setCPUMax(let g, _): "cpu.max of group \(g)"
        case .move(let id, let comm, let g, _, _): "moving \(comm)[\(id.pid)] to group \(g)"
        case .adopt(let id, let g, _, _): "adopting \(id.pid) in group \(g)"
        case .restore(let id, let comm, _, let origin): "giving \(comm)[\(id.pid)] back to \(origin)"
        case .removeGroup(let g): "removing group \(g)"
        case .setUnitWeights(let unit, let g, _): "weights of unit \(unit) (group \(g))"
        case .restoreUnitWeights(let unit, _): "giving unit \(unit) its own weights back"
        }
    }
}

/// What one step did, as the edge answered.
public enum StepOutcome: Sendable, Equatable {
    case done
    /// The process, cgroup or unit vanished: nothing to do.
    case gone
    /// The edge refused: the cause is the errno or D-Bus error name (the key failures are
    /// de-duplicated by), the message says what, where and why.
    case failed(cause: String, message: String)
    /// Not attempted, and why (the ledger could not be written, systemd is unreachable).
    case skipped(String)
}

extension Plan {
    /// Moves and give-backs that were done: what a rescan had to correct.
    public func membershipChangesDone(_ outcomes: [StepOutcome]) -> Int {
        zip(steps, outcomes).count { step, outcome in
            switch (step, outcome) {
            case (.move, .done), (.restore, .done): true
            default: false
            }
        }
    }
}
