/// A running systemd unit and where its cgroup is.
public struct UnitInfo: Sendable, Equatable {
    public var name: String
    /// The unit's ControlGroup property, relative to the cgroup2 mount ("/system.slice/cron.service").
    public var controlGroup: String

    public init(name: String, controlGroup: String) {
        self.name = name
        self.controlGroup = controlGroup
    }
}

/// A unit of a unit-backed group, where systemd keeps its cgroup.
public struct UnitPlacement: Sendable, Equatable {
    public var unit: String
    public var group: GroupName
    /// The unit's ControlGroup, relative to the cgroup2 mount, e.g. "/system.slice/postgresql.service".
    public var cgroup: String

    public init(unit: String, group: GroupName, cgroup: String) {
        self.unit = unit
        self.group = group
        self.cgroup = cgroup
    }

    /// Each unit goes to the first unit-backed group, in file order, whose patterns match it (as
    /// processes go to the first matching group). Units without a cgroup are left out.
    public static func assign(units: [(name: String, cgroup: String)], policy: Policy) -> [UnitPlacement] {
        let groups = policy.unitGroups
        return units.compactMap { u in
            guard u.cgroup.hasPrefix("/"), u.cgroup != "/",
                let g = groups.first(where: { g in g.match.units.contains { $0.matches(u.name) } })
            else { return nil }
            return UnitPlacement(unit: u.name, group: g.name, cgroup: u.cgroup)
        }.sorted { $0.unit < $1.unit }
    }
}

/// Where the units of unit-backed groups have their cgroups, as systemd last reported them: the
/// processes in there are never moved.
public struct UnitCgroups: Sendable, Equatable {
    public var placements: [UnitPlacement]
    /// The agent's own subtree (its cgroup root) is never a unit's, even where it lies inside one
    /// (units = ["system.slice"] with the agent in system.slice/fairshare.service).
    public var excluded: String?

    public static let none = UnitCgroups(placements: [], excluded: nil)

    public init(placements: [UnitPlacement], excluded: String?) {
        self.placements = placements
        self.excluded = excluded
    }

    /// The innermost unit whose cgroup holds `cgroup`, if any.
    public func placement(containing cgroup: String) -> UnitPlacement? {
        if let root = excluded, Self.isWithin(cgroup, root) { return nil }
        return placements.filter { Self.isWithin(cgroup, $0.cgroup) }.max { $0.cgroup.count < $1.cgroup.count }
    }

    /// True if `path` is `ancestor` or lies beneath it.
    public static func isWithin(_ path: String, _ ancestor: String) -> Bool {
        if ancestor == "/" || ancestor.isEmpty { return true }
        return path == ancestor || path.hasPrefix(ancestor + "/")
    }

    public func placements(of group: GroupName) -> [UnitPlacement] {
        placements.filter { $0.group == group }
    }
}

/// CPUWeight= and IOWeight= of a unit; nil where the unit does not set one (systemd reports
/// "[not set]", UINT64_MAX on the bus, and the kernel's default 100 applies).
public struct UnitWeights: Sendable, Hashable, CustomStringConvertible {
    public var cpu: Int?
    public var io: Int?

    public init(cpu: Int?, io: Int?) {
        self.cpu = cpu
        self.io = io
    }

    public var description: String {
        "CPUWeight=\(cpu.map(String.init) ?? "[not set]") IOWeight=\(io.map(String.init) ?? "[not set]")"
    }
}

/// The decide step for unit-backed groups, and the memory of what the agent did to each unit:
/// the weights the unit had before the agent's first write (restored when the unit leaves the
/// policy and at shutdown) and the weights last applied (so unchanged values are not sent again).
/// Pure: the agent talks to systemd and reports each outcome back through `record`.
public struct UnitWeightBook: Sendable, Equatable {
    public private(set) var originals: [String: UnitWeights] = [:]
    public private(set) var applied: [String: UnitWeights] = [:]

    public init() {}

    /// Of the units to be weighted, those whose own weights must be read first.
    public func unitsWithoutOriginal(_ units: some Sequence<String>) -> [String] {
        units.filter { originals[$0] == nil }
    }

    /// Takes note of a unit's weights read before the first write.
    public mutating func noteOriginal(_ unit: String, _ weights: UnitWeights) {
        if originals[unit] == nil { originals[unit] = weights }
    }

    /// The calls for one pass: a set for every unit whose desired weights differ from what was
    /// last applied (only once its original is known), a restore for every unit the agent
    /// changed that is no longer wanted (gone from the listing or from the policy).
    public func plan(desired: [UnitPlacement], weights: [GroupName: UnitWeights]) -> [Step] {
        var actions: [Step] = []
        var wanted: Set<String> = []
        for p in desired {
            wanted.insert(p.unit)
            guard originals[p.unit] != nil, let w = weights[p.group] else { continue }
            if applied[p.unit] != w { actions.append(.setUnitWeights(unit: p.unit, group: p.group, w)) }
        }
        for (unit, original) in originals.sorted(by: { $0.key < $1.key }) where !wanted.contains(unit) {
            actions.append(.restoreUnitWeights(unit: unit, to: original))
        }
        return actions
    }

    /// Every unit the agent changed, back to its own weights (shutdown).
    public func planRestoreAll() -> [Step] {
        originals.sorted { $0.key < $1.key }.map { .restoreUnitWeights(unit: $0.key, to: $0.value) }
    }

    /// Takes note of what a call did. A restored (or vanished) unit is forgotten entirely; a
    /// failed restore is tried again next pass.
    public mutating func record(_ step: Step, _ outcome: StepOutcome) {
        switch (step, outcome) {
        case (.setUnitWeights(let unit, _, let w), .done):
            applied[unit] = w
        case (.restoreUnitWeights(let unit, _), .done), (.setUnitWeights(let unit, _, _), .gone), (.restoreUnitWeights(let unit, _), .gone):
            originals[unit] = nil
            applied[unit] = nil
        default:
            break
        }
    }
}
