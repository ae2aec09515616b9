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
    /// One file of one group's cgroup (a row of `GroupFiles`: cpu.weight, cpu.max, ...).
    case set(GroupSetting)
    case move(ProcessIdentity, comm: String, to: GroupName, origin: String, keys: [Classifier.MatchedKey])
    /// Take note of a process already inside a group, without moving it (no write).
    case adopt(ProcessIdentity, group: GroupName, origin: String, reason: Enforcer.Reason)
    case restore(ProcessIdentity, comm: String, from: GroupName, to: String)
    case removeGroup(GroupName)
    /// CPUWeight=/IOWeight= of a unit of a unit-backed group, through systemd (runtime only).
    case setUnitWeights(unit: String, group: GroupName, UnitWeights)
    /// A unit gets back the weights it had before the agent's first write.
    case restoreUnitWeights(unit: String, to: UnitWeights)

    public var isMove: Bool {
        if case .move = self { true } else { false }
    }

    /// The group file this step writes, if it writes one.
    public var setting: GroupSetting? {
        if case .set(let s) = self { s } else { nil }
    }

    /// A step that writes `file` (of group `g`, if given).
    public func sets(_ file: ControlFile, of g: GroupName? = nil) -> Bool {
        guard let s = setting else { return false }
        return s.file == file && (g == nil || s.group == g)
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
        case .set(let s): "\(s.file) of group \(s.group)"
        case .move(let id, let comm, let g, _, _): "moving \(comm)[\(id.pid)] to group \(g)"
        case .adopt(let id, let g, _, _): "adopting \(id.pid) in group \(g)"
        case .restore(let id, let comm, _, let origin): "giving \(comm)[\(id.pid)] back to \(origin)"
        case .removeGroup(let g): "removing group \(g)"
        case .setUnitWeights(let unit, let g, _): "weights of unit \(unit) (group \(g))"
        case .restoreUnitWeights(let unit, _): "giving unit \(unit) its own weights back"
        }
    }
}

/// A value for one file of one group's cgroup.
public struct GroupSetting: Sendable, Equatable {
    public var group: GroupName
    public var file: ControlFile
    public var value: SettingValue
    public var source: WeightSource

    public init(_ group: GroupName, _ file: ControlFile, _ value: SettingValue, source: WeightSource = .shares) {
        self.group = group
        self.file = file
        self.value = value
        self.source = source
    }

    /// Its row of the table (every setting is made from one).
    public var row: GroupFile { GroupFiles.row(file)! }
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
