/// What a shutdown (or `fairshare recover`) really did, from the outcomes of its steps and a
/// listing of the root taken afterwards: which processes went back and which did not, which
/// groups are gone and which are left, which units have their own weights again. Nothing is
/// claimed that no outcome or reading shows.
public struct ReleaseReport: Sendable, Equatable {
    public struct Process: Sendable, Equatable {
        public var pid: Int32
        public var comm: String
        public var origin: String
        /// Why it is still in its group.
        public var why: String
    }

    public struct Group: Sendable, Equatable {
        public var group: GroupName
        public var why: String
    }

    public struct Unit: Sendable, Equatable {
        public var unit: String
        public var why: String
    }

    public var givenBack = 0
    /// Processes that had exited before they could be given back (nothing to give back).
    public var exited = 0
    public var notGivenBack: [Process] = []
    public var groupsRemoved: [GroupName] = []
    public var groupsLeft: [Group] = []
    public var unitsRestored: [String] = []
    public var unitsNotRestored: [Unit] = []
    /// Set when the root could not be listed afterwards: then nobody can say no group is left.
    public var listingUnavailable: String?
    /// Set when /proc could not be read (or some processes in it): those processes were not
    /// given back; their origins stay in the ledger for `fairshare recover`.
    public var processesUnreadable: String?

    public init() {}

    /// - Parameters:
    ///   - after: the root's group cgroups listed once the plan ran.
    ///   - scan: the scan the release was planned on (nil: not said).
    public init(plan: Plan, outcomes: [StepOutcome], after: Reading<Set<GroupName>>, scan: Reading<ProcessScan>? = nil) {
        switch scan {
        case .unavailable(let why)?:
            processesUnreadable = "/proc could not be read, so no process was given back: \(why)"
        case .value(let s)? where !s.unreadable.isEmpty:
            processesUnreadable = "\(s.unreadable.count) process(es) could not be read and stay where they are (\(s.firstProblem ?? "unknown"))"
        default:
            break
        }
        var removed: Set<GroupName> = []
        var failedRemovals: [GroupName: String] = [:]
        var planned: Set<GroupName> = []
        for (step, outcome) in zip(plan.steps, outcomes) {
            if case .removeGroup(let g) = step { planned.insert(g) }
            switch (step, outcome) {
            case (.restore, .done):
                givenBack += 1
            case (.restore, .gone):
                exited += 1
            case (.restore(let id, let comm, _, let origin), .failed(_, let message)):
                notGivenBack.append(Process(pid: id.pid, comm: comm, origin: origin, why: message))
            case (.restore(let id, let comm, _, let origin), .skipped(let why)):
                notGivenBack.append(Process(pid: id.pid, comm: comm, origin: origin, why: why))
            case (.removeGroup(let g), .done), (.removeGroup(let g), .gone):
                removed.insert(g)
            case (.removeGroup(let g), .failed(_, let message)), (.removeGroup(let g), .skipped(let message)):
                failedRemovals[g] = message
            case (.restoreUnitWeights(let unit, _), .done), (.restoreUnitWeights(let unit, _), .gone):
                unitsRestored.append(unit)
            case (.restoreUnitWeights(let unit, _), .failed(_, let message)), (.restoreUnitWeights(let unit, _), .skipped(let message)):
                unitsNotRestored.append(Unit(unit: unit, why: message))
            default:
                break
            }
        }
        switch after {
        case .value(let left):
            groupsRemoved = removed.subtracting(left).sorted()
            // A group the release did not plan to remove (unknown when it was planned: the root
            // could not be listed) was not removed; only a removed one can have come back.
            groupsLeft = left.sorted().map { g in
                Group(group: g, why: failedRemovals[g] ?? (planned.contains(g) ? "it appeared after the removal (a new cgroup)"
                    : "no removal of it was planned (it was not known when the release was planned)"))
            }
        case .unavailable(let why):
            groupsRemoved = removed.sorted()
            groupsLeft = failedRemovals.keys.sorted().map { Group(group: $0, why: failedRemovals[$0]!) }
            listingUnavailable = why
        }
    }

    /// True only when every process went back, every unit has its own weights and the root was
    /// seen without a group afterwards.
    public var complete: Bool {
        notGivenBack.isEmpty && groupsLeft.isEmpty && unitsNotRestored.isEmpty && listingUnavailable == nil && processesUnreadable == nil
    }

    /// One sentence for the journal.
    public var summary: String {
        if complete {
            return "every process given back (\(givenBack)" + (exited > 0 ? ", \(exited) had exited" : "") + "), groups removed" + (unitsRestored.isEmpty ? "" : ", \(unitsRestored.count) unit(s) have their own weights back")
        }
        var parts: [String] = ["\(givenBack) process(es) given back" + (exited > 0 ? " (\(exited) had exited)" : "")]
        if !notGivenBack.isEmpty {
            parts.append("not given back: " + notGivenBack.map { "\($0.comm)[\($0.pid)] (to \($0.origin): \($0.why))" }.joined(separator: ", "))
        }
        if !groupsRemoved.isEmpty { parts.append("groups removed: " + groupsRemoved.map(\.rawValue).joined(separator: ", ")) }
        if !groupsLeft.isEmpty {
            parts.append("groups \(groupsLeft.map(\.group.rawValue).joined(separator: ", ")) could not be removed ("
                + groupsLeft.map { "\($0.group): \($0.why)" }.joined(separator: "; ") + ")")
        }
        if !unitsNotRestored.isEmpty {
            parts.append("units keep the weights the agent gave them: " + unitsNotRestored.map { "\($0.unit) (\($0.why))" }.joined(separator: ", ")
                + "; they are gone at the next reboot, or: systemctl set-property --runtime UNIT CPUWeight= IOWeight=")
        }
        if let why = processesUnreadable { parts.append(why + "; their origins stay in the ledger: run fairshare recover once /proc can be read") }
        if let why = listingUnavailable { parts.append("cannot confirm that no group is left: \(why)") }
        return parts.joined(separator: "; ")
    }
}
