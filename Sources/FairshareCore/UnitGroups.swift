#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A systemd unit name or an fnmatch(3) glob over unit names (`docker-*.scope`), matched the way
/// systemd's ListUnitsByPatterns matches it (FNM_NOESCAPE: `\` is an ordinary character of unit
/// names, as in `systemd-fsck@dev-disk-by\x2duuid.service`).
public struct UnitPattern: Sendable, Hashable, CustomStringConvertible {
    /// The unit types a unit-backed group may name: the ones that hold processes in a cgroup of
    /// their own and whose CPUWeight/IOWeight systemd sets on it.
    public static let suffixes = [".service", ".scope", ".slice"]
    /// systemd's UNIT_NAME_MAX - 1.
    public static let maxBytes = 255

    public let pattern: String

    /// Nil for anything `problem(_:)` objects to.
    public init?(_ pattern: String) {
        guard UnitPattern.problem(pattern) == nil else { return nil }
        self.pattern = pattern
    }

    /// True for a glob, false for a literal unit name.
    public var isGlob: Bool { pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

    public func matches(_ unit: String) -> Bool {
        isGlob ? fnmatch(pattern, unit, FNM_NOESCAPE) == 0 : pattern == unit
    }

    public var description: String { pattern }

    /// Why `text` is not a usable unit name or glob, as the end of a sentence that starts with
    /// the entry's location; nil when it is fine.
    public static func problem(_ text: String) -> String? {
        guard text.utf8.count <= maxBytes else {
            return "unit '\(text.prefix(40))...' is \(text.utf8.count) bytes long; systemd allows at most \(maxBytes)"
        }
        let expected = "expected a full unit name ending in .service, .scope or .slice"
        guard let dot = text.lastIndex(of: ".") else {
            return "unit '\(text)' has no type suffix; \(expected), e.g. '\(text).service'"
        }
        let prefix = text[..<dot]
        let suffix = String(text[dot...])
        if suffix.contains(where: { "*?[]".contains($0) }) {
            return "the type suffix of unit '\(text)' must be written out; \(expected) (a glob may stand only before it, e.g. 'docker-*.scope')"
        }
        if !suffixes.contains(suffix) {
            let type = String(suffix.dropFirst())
            let otherTypes = ["socket", "target", "mount", "automount", "swap", "timer", "path", "device"]
            if otherTypes.contains(type) {
                return "unit '\(text)' is a \(type) unit; only .service, .scope and .slice units can back a group (they hold the processes whose CPU is shared)"
            }
            var message = "unit '\(text)' has the unknown type '\(suffix)'; \(expected)"
            if let near = KeySuggestion.closest(to: type, in: suffixes.map { String($0.dropFirst()) }) {
                message += "; did you mean '\(prefix).\(near)'?"
            }
            return message
        }
        guard !prefix.isEmpty else { return "unit '\(text)' has no name before its type suffix; \(expected)" }
        if text == "-.slice" {
            return "the root slice -.slice is the whole machine: it has no siblings, so a weight on it means nothing; name the slices below it, e.g. 'system.slice'"
        }
        var inClass = false
        for c in prefix {
            if inClass {
                if c == "]" { inClass = false; continue }
                if c == "!" || c == "^" { continue }
            } else if c == "[" {
                inClass = true
                continue
            } else if c == "*" || c == "?" {
                continue
            }
            guard isUnitNameCharacter(c) else {
                let shown = c.unicodeScalars.first.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? $0.codePoint : "'\(c)'" } ?? "'\(c)'"
                return "unit '\(text)' contains \(shown), which systemd does not allow in unit names; expected letters, digits and : - _ . \\ @ (and * ? [...] in a glob)"
            }
        }
        if inClass { return "invalid glob '\(text)' in units: an unterminated '[' class; expected a shell glob, e.g. 'docker-*.scope'" }
        let ats = prefix.filter { $0 == "@" }.count
        if ats > 1 { return "unit '\(text)' has more than one '@'; expected NAME@INSTANCE\(suffix) at most" }
        if prefix.hasSuffix("@") {
            return "unit '\(text)' is a template: it never runs itself and has no cgroup; name an instance such as '\(prefix)1\(suffix)' or a glob '\(prefix)*\(suffix)'"
        }
        return nil
    }

    /// systemd's VALID_CHARS plus '@' (unit-name.h).
    static func isUnitNameCharacter(_ c: Character) -> Bool {
        guard c.isASCII, let a = c.asciiValue else { return false }
        switch a {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return ":-_.\\@".utf8.contains(a)
        }
    }
}

extension GroupPolicy {
    /// A group with `units` in its match table: its processes stay in their systemd units and the
    /// agent sets the units' CPUWeight/IOWeight through systemd instead of moving anything.
    public var isUnitBacked: Bool { !match.units.isEmpty }
}

extension Policy {
    public var agentGroups: [GroupPolicy] { groups.filter { !$0.isUnitBacked } }
    public var unitGroups: [GroupPolicy] { groups.filter(\.isUnitBacked) }
    /// The unit names (or globs) systemd is asked about, each once, sorted.
    public var unitPatterns: [String] { Set(unitGroups.flatMap { $0.match.units.map(\.pattern) }).sorted() }

    /// cpu.weight / CPUWeight per group: one whole factor over every group, agent-owned and
    /// unit-backed alike, so shares 2 beside 1 : 2 : 5 is CPUWeight 200, twice a default unit.
    /// Idle groups have none (cpu.idle = 1 in its place) and take no part in the scale.
    public func cpuWeights() -> [GroupName: CPUWeight] {
        WeightMapping.weights(for: Dictionary(uniqueKeysWithValues: groups.filter { !$0.idle }.map { ($0.name, $0.shares) }))
    }

    public func ioWeights() -> [GroupName: IOWeight] {
        WeightMapping.weights(for: Dictionary(uniqueKeysWithValues: groups.map { ($0.name, $0.ioShares) }))
    }

    /// io.bfq.weight per agent group (BFQ's 1...1000). Unit-backed groups are left to systemd,
    /// which maps IOWeight= onto BFQ's range itself.
    public func bfqWeights() -> BFQWeightMapping.Result {
        BFQWeightMapping.weights(for: Dictionary(uniqueKeysWithValues: agentGroups.map { ($0.name, $0.ioShares) }))
    }

    /// Said when some disk uses BFQ and its range can not keep the io shares' ratios.
    public func bfqRangeWarning() -> String? {
        let mapping = bfqWeights()
        guard !mapping.unkept.isEmpty else { return nil }
        let named = mapping.unkept.map { g in "\(g) (io_shares \(group(named: g)!.ioShares.value) -> io.bfq.weight \(mapping.weights[g]!.value))" }
        return "BFQ's io.bfq.weight range (1..1000) can not keep the io_shares ratios of "
            + named.joined(separator: ", ")
            + ": under BFQ these groups get the nearest weights; io.cost (io.weight, 1..10000) keeps them"
    }
}

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
