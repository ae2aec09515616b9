/// `[group.match]`: users, groups, comm, exe, cmdline and cgroup. Each key takes a list or a
/// single value (`comm = "bash"` is `comm = ["bash"]`).
extension PolicyValidator {
    /// The largest uid/gid a process can have: (uid_t)-1 means "no id" to the kernel.
    static let idRange: ClosedRange<Int> = 0...4_294_967_294
    /// The kernel keeps TASK_COMM_LEN - 1 bytes of a process name.
    static let commMaxBytes = 15

    /// - Parameter warnIfNone: false for a group named as a parent: it holds no processes, so
    ///   having no match table (or an empty one) is right for it.
    mutating func matchRule(_ value: TOMLValueConvertible?, at path: Path, group label: String, header: Position, warnIfNone: Bool = true) -> MatchRule {
        let keysHint = "add [group.match] with users, groups, comm, exe, cmdline, cgroup or units"
        guard let value else {
            if warnIfNone { warn(at: header, "\(label) has no [group.match] table, so it matches no process; \(keysHint)") }
            return MatchRule()
        }
        guard let table = value.table else {
            error(at: path, "match must be a table ([group.match] or match = { ... }), got \(Self.describe(value))")
            return MatchRule()
        }
        if table.isEmpty {
            if warnIfNone { warn(at: index.locate(path), "\(label) has an empty match table, so it matches no process; \(keysHint)") }
            return MatchRule()
        }
        checkKeys(table, at: path, in: "[group.match] of \(label)", known: PolicyKeys.match)

        var rule = MatchRule()
        rule.users = idRefs(table, key: "users", at: path, noun: "user", idNoun: "uid")
        rule.groups = idRefs(table, key: "groups", at: path, noun: "group", idNoun: "gid")
        rule.comm = strings(table, key: "comm", at: path, expecting: "process names (strings)", entry: "a process name of 1..15 bytes").compactMap { s, position in
            let bytes = s.utf8.count
            guard bytes <= Self.commMaxBytes else {
                error(
                    at: position,
                    "comm '\(s)' is \(bytes) bytes long, but the kernel keeps only the first \(Self.commMaxBytes) bytes of a process name, so it would never match; expected 1..\(Self.commMaxBytes) bytes (match longer names with exe or cmdline)")
                return nil
            }
            return s
        }
        rule.exe = strings(table, key: "exe", at: path, expecting: "absolute paths or globs (strings)", entry: "an absolute path or glob").compactMap { s, position in
            guard s.hasPrefix("/") || s.hasPrefix("*") || s.hasPrefix("?") || s.hasPrefix("[") else {
                error(at: position, "exe '\(s)' is not absolute; expected the full path of an executable or a glob starting with '/' or a glob character, e.g. \"/usr/bin/python3*\" (match a bare process name with comm)")
                return nil
            }
            return glob(s, key: "exe", at: position, example: "/usr/bin/python3*")
        }
        rule.cmdline = strings(table, key: "cmdline", at: path, expecting: "regular expressions (strings)", entry: "a regular expression").compactMap { s, position in
            guard reservePattern(at: position) else { return nil }
            do throws(PatternError) {
                return try Pattern(s)
            } catch {
                self.error(at: position, "invalid regular expression '\(Self.excerpt(s))' in cmdline: \(error); expected a regex searched in the space-joined command line")
                return nil
            }
        }
        rule.cgroup = strings(table, key: "cgroup", at: path, expecting: "cgroup path globs (strings)", entry: "a cgroup path glob").compactMap { s, position in
            guard s.hasPrefix("/") else {
                error(at: position, "cgroup '\(s)' does not start with '/'; expected a cgroup path glob relative to the cgroup2 mount, e.g. \"/user.slice/*\"")
                return nil
            }
            return glob(s, key: "cgroup", at: position, example: "/user.slice/*")
        }
        rule.units = unitPatterns(table, at: path, group: label, line: header.line)
        return rule
    }

    /// `units`: systemd unit names or globs. A group with units is unit-backed: its processes stay
    /// in their units, so no other match key can apply to it; and a unit named outright belongs to
    /// one group only.
    private mutating func unitPatterns(_ table: TOMLTable, at path: Path, group label: String, line: Int) -> [UnitPattern] {
        guard table["units"] != nil else { return [] }
        let others = PolicyKeys.match.filter { $0 != "units" && table[$0] != nil }
        if !others.isEmpty {
            let keys = others.joined(separator: ", ")
            error(
                at: path + [.key("units")],
                "units can not be combined with \(keys) in \(label): a unit-backed group's processes stay in their units (the agent moves nothing into or out of them), so there is nothing for \(keys) to select; put \(others.count == 1 ? "that key" : "those keys") in a group of its own"
            )
        }
        var seen: Set<String> = []
        return strings(table, key: "units", at: path, expecting: "unit names or globs (strings)", entry: "a unit name such as \"postgresql.service\" or a glob such as \"docker-*.scope\"").compactMap { s, position in
            if let problem = UnitPattern.problem(s) {
                error(at: position, problem)
                return nil
            }
            let unit = UnitPattern(s)!
            guard !unit.isGlob else { return unit }
            if seen.contains(s) {
                error(at: position, "unit '\(s)' is listed twice in \(label); remove one")
                return nil
            }
            seen.insert(s)
            if let owner = unitOwners[s] {
                error(at: position, "unit '\(s)' is already in \(owner.label) (line \(owner.line)); a unit can belong to one group only")
                return nil
            }
            unitOwners[s] = (label, line)
            return unit
        }
    }

    private mutating func glob(_ s: String, key: String, at position: Position, example: String) -> Glob? {
        guard reservePattern(at: position) else { return nil }
        do throws(PatternError) {
            return try Glob(validating: s)
        } catch {
            self.error(at: position, "invalid glob '\(Self.excerpt(s))' in \(key): \(error); expected a shell glob, e.g. \"\(example)\"")
            return nil
        }
    }

    /// Counts one more compiled program against `Pattern.maxPerPolicy`; false (reported at the
    /// first one over) when the policy already holds that many.
    private mutating func reservePattern(at position: Position) -> Bool {
        compiledPatterns += 1
        guard compiledPatterns > Pattern.maxPerPolicy else { return true }
        if compiledPatterns == Pattern.maxPerPolicy + 1 {
            error(
                at: position,
                "more than \(Pattern.maxPerPolicy) cmdline patterns and exe/cgroup globs in the policy; each is a compiled program the agent keeps, so at most \(Pattern.maxPerPolicy) are allowed (join alternatives into one regex with '|')")
        }
        return false
    }

    /// A pattern as quoted in a message: whole when short, else its start (a refused pattern
    /// may be kilobytes long).
    static func excerpt(_ s: String) -> String {
        s.utf8.count <= 80 ? s : String(String.UnicodeScalarView(s.unicodeScalars.prefix(60))) + "..."
    }

    /// The elements of a list key (or its single value), each with the position to blame.
    /// An empty list is an error: `comm = []` would otherwise silently match everything.
    private mutating func elements(_ table: TOMLTable, key: String, at tablePath: Path) -> [(value: TOMLValueConvertible, position: Position)] {
        guard let value = table[key] else { return [] }
        let path = tablePath + [.key(key)]
        guard let array = value.array else { return [(value, index.locate(path))] }
        if array.isEmpty {
            error(at: path, "\(key) is an empty list; expected at least one entry, or remove the key")
        }
        return (0..<array.count).map { i in (array[i], index.entry(path + [.index(i)]) ?? index.locate(path)) }
    }

    /// Non-empty strings of a list key; anything else is reported.
    private mutating func strings(_ table: TOMLTable, key: String, at path: Path, expecting what: String, entry: String) -> [(String, Position)] {
        elements(table, key: key, at: path).compactMap { value, position in
            guard let s = value.string else {
                error(at: position, "\(key) entries must be \(what), got \(Self.describe(value))")
                return nil
            }
            guard !s.isEmpty else {
                error(at: position, "\(key) entry is an empty string; expected \(entry)")
                return nil
            }
            return (s, position)
        }
    }

    private mutating func idRefs(_ table: TOMLTable, key: String, at path: Path, noun: String, idNoun: String) -> [IDRef] {
        elements(table, key: key, at: path).compactMap { value, position in
            if let s = value.string {
                guard !s.isEmpty else {
                    error(at: position, "\(key) entry is an empty string; expected a \(noun) name or a \(idNoun)")
                    return nil
                }
                if key == "users" { warnIfUnknownUser(s, at: position, in: "users", effect: "so it matches no process") }
                return .name(s)
            }
            if let n = value.int {
                guard Self.idRange.contains(n) else {
                    error(at: position, "\(idNoun) \(n) in \(key) is out of range; expected \(Self.idRange.lowerBound)..\(Self.idRange.upperBound)")
                    return nil
                }
                return .id(UInt32(n))
            }
            error(at: position, "\(key) entries must be \(noun) names (strings) or \(idNoun)s (integers), got \(Self.describe(value))")
            return nil
        }
    }
}
