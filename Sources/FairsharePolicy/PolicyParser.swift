/// Turns the text of a policy file into a validated `Policy`.
///
/// Pure: the caller reads the file. Every problem found is reported (not just the first), each
/// with the file, line and column of the offending key and a message that says what is wrong
/// and what is expected. Only a TOML syntax error stops the parse early.
public enum PolicyParser {
    /// Parses and validates a whole policy. Never crashes on any input; collects ALL problems it can find.
    ///
    /// Linear in time and memory: the text is checked against `limits` (size first, then one
    /// scan for the others, see `PolicyLimits`) before toml++ sees it, so toml++ and the
    /// conversion into Swift values never recurse more than a few levels, whatever the file holds.
    ///
    /// - Parameter resolveUser: name -> uid on this host; when given, a user name that does not
    ///   exist (in `users` of a match table, in `user_shares`) is a warning at its entry.
    public static func parse(
        _ text: String, file: String, limits: PolicyLimits = .standard, resolveUser: ((String) -> UInt32?)? = nil
    ) throws(PolicyError) -> Policy {
        func syntaxError(line: Int, column: Int, _ message: String) -> PolicyError {
            PolicyError(problems: [.init(location: SourceLocation(file: file, line: max(line, 1), column: max(column, 1)), message: message)])
        }
        if let hit = limits.fileSizeHit(text.utf8) {
            throw syntaxError(line: hit.position.line, column: hit.position.column, hit.message)
        }
        let index = PolicySourceIndex(scanning: text, limits: limits)
        let early = [index.tomlTrap.map { PolicyLimitHit(position: $0.position, message: $0.message) }, index.limitHit]
            .compactMap { $0 }.sorted { $0.position < $1.position }
        if !early.isEmpty {
            throw PolicyError(problems: early.map {
                .init(location: SourceLocation(file: file, line: $0.position.line, column: $0.position.column), message: $0.message)
            })
        }
        let root: TOMLTable
        do {
            root = try TOMLDocument.parse(text)
        } catch {
            throw syntaxError(line: error.line, column: error.column, "invalid TOML: \(error.message)")
        }

        var validator = PolicyValidator(file: file, index: index, resolveUser: resolveUser)
        let policy = validator.validate(root)
        let problems = validator.problems
        guard problems.isEmpty else { throw PolicyError(problems: problems) }
        return policy
    }
}

extension Unicode.Scalar {
    /// `'x'`, or an escape such as `'\n'` for a control character.
    var escapedForMessage: String {
        "'" + escaped(asASCII: false) + "'"
    }

    /// "U+2028"
    var codePoint: String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

/// The keys a policy may use, in the order the documentation lists them.
enum PolicyKeys {
    static let topLevel = ["agent", "group"]
    static let agent = [
        "interval", "report_interval", "rescan_interval", "cgroup_root", "fairness", "half_life", "max_boost", "metrics_textfile", "metrics_users", "mode",
    ]
    static let group = [
        "name", "shares", "io_shares", "idle", "min", "max", "borrow", "burst", "max_burst", "match",
        "parent", "per_user", "user_shares", "user_min", "user_max", "user_borrow", "user_burst", "max_users",
    ]
    /// The keys that belong to a `per_user = true` group only.
    static let perUser = ["user_shares", "user_min", "user_max", "user_borrow", "user_burst", "max_users"]
    static let match = ["users", "groups", "comm", "exe", "cmdline", "cgroup", "units"]
}

/// Walks a parsed TOML document, builds the `Policy` and collects problems and warnings,
/// locating each through the source index.
struct PolicyValidator {
    typealias Path = PolicySourceIndex.Path
    typealias Position = PolicySourceIndex.Position

    let file: String
    let index: PolicySourceIndex
    private var reportedProblems: [(position: Position, message: String)] = []
    private var reportedWarnings: [(position: Position, message: String)] = []
    /// Every valid percentage `min` of a top-level group, in file order, for the check that they
    /// add up to at most 100%.
    var percentFloors: [(percent: Double, position: Position, label: String)] = []
    /// name -> uid, to warn about a user name that does not exist; nil: names are not checked.
    let resolveUser: ((String) -> UInt32?)?
    /// The group that names each literal unit first, for the check that no unit is in two groups.
    var unitOwners: [String: (label: String, line: Int)] = [:]
    /// cmdline patterns and exe/cgroup globs compiled so far, for `Pattern.maxPerPolicy`.
    var compiledPatterns = 0

    init(file: String, index: PolicySourceIndex, resolveUser: ((String) -> UInt32?)? = nil) {
        self.file = file
        self.index = index
        self.resolveUser = resolveUser
    }

    /// Problems in source order.
    var problems: [PolicyError.Problem] {
        Self.inSourceOrder(reportedProblems).map { .init(location: location($0.position), message: $0.message) }
    }

    /// Warnings in source order.
    var warnings: [PolicyWarning] {
        Self.inSourceOrder(reportedWarnings).map { .init(location: location($0.position), message: $0.message) }
    }

    mutating func validate(_ root: TOMLTable) -> Policy {
        for position in index.nulEscapes {
            error(at: position, "\\u0000 (NUL) is not allowed in a policy string or key; remove it")
        }
        // A key or value cut by a NUL would only bring confusing follow-up errors.
        guard index.nulEscapes.isEmpty else { return Policy(groups: [], sourcePath: file) }
        checkTopLevelKeys(root)
        let agent = agentSettings(root["agent"])
        let groups = groupPolicies(root["group"])
        return Policy(agent: agent, groups: groups, sourcePath: file, warnings: warnings)
    }

    // MARK: Reporting

    mutating func error(at position: Position, _ message: String) {
        reportedProblems.append((position, message))
    }

    mutating func error(at path: Path, _ message: String) {
        error(at: index.locate(path), message)
    }

    mutating func warn(at position: Position, _ message: String) {
        reportedWarnings.append((position, message))
    }

    private func location(_ p: Position) -> SourceLocation {
        SourceLocation(file: file, line: p.line, column: p.column)
    }

    private static func inSourceOrder(_ items: [(position: Position, message: String)]) -> [(position: Position, message: String)] {
        items.enumerated()
            .sorted { a, b in a.element.position != b.element.position ? a.element.position < b.element.position : a.offset < b.offset }
            .map(\.element)
    }

    /// Reports every key of `table` not in `known`, suggesting the closest known key.
    mutating func checkKeys(_ table: TOMLTable, at path: Path, in label: String, known: [String]) {
        for key in Self.unknownKeys(table, known: known) {
            var message = "unknown key '\(key)' in \(label)"
            if let suggestion = KeySuggestion.closest(to: key, in: known) {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += "; expected one of: \(known.joined(separator: ", "))"
            }
            error(at: path + [.key(key)], message)
        }
    }

    // MARK: Top level

    /// The keys of `table` not in `known`, in the table's order.
    static func unknownKeys(_ table: TOMLTable, known: [String]) -> [String] {
        table.keys.filter { !known.contains($0) }
    }

    private mutating func checkTopLevelKeys(_ root: TOMLTable) {
        for key in Self.unknownKeys(root, known: PolicyKeys.topLevel) {
            guard let value = root[key] else { continue }
            let isTable = value.table.map { !$0.inline } ?? false
            let isArrayOfTables = value.array.map { a in !a.isEmpty && (0..<a.count).allSatisfy { a[$0].table?.inline == false } } ?? false
            var message: String
            if isTable {
                message = "unknown table [\(key)]"
            } else if isArrayOfTables {
                message = "unknown table [[\(key)]]"
            } else {
                message = "unknown top-level key '\(key)'"
            }
            if PolicyKeys.agent.contains(key) {
                message += "; '\(key)' belongs in the [agent] table"
            } else if PolicyKeys.group.contains(key) {
                message += "; '\(key)' belongs in a [[group]] table"
            } else if let suggestion = KeySuggestion.closest(to: key, in: PolicyKeys.topLevel) {
                message += suggestion == "agent" ? "; did you mean [agent]?" : "; did you mean [[group]]?"
            } else {
                message += "; expected only an [agent] table and [[group]] tables"
            }
            error(at: [.key(key)], message)
        }
    }

    // MARK: [agent]

    private mutating func agentSettings(_ value: TOMLValueConvertible?) -> AgentSettings {
        var settings = AgentSettings()
        guard let value else { return settings }
        let path: Path = [.key("agent")]
        guard let table = value.table else {
            if value.type == .array {
                error(at: path, "[[agent]] must be a single table; write [agent] once")
            } else {
                error(at: path, "agent must be a table ([agent]), got \(Self.describe(value))")
            }
            return settings
        }
        checkKeys(table, at: path, in: "[agent]", known: PolicyKeys.agent)

        var intervalIsValid = true
        if let v = table["interval"] {
            if let d = duration(v, key: "interval", in: path, range: AgentSettings.intervalRange) {
                settings.interval = d
            } else {
                intervalIsValid = false
            }
        }
        if let v = table["report_interval"], let d = duration(v, key: "report_interval", in: path, range: nil) {
            if intervalIsValid && d < settings.interval {
                error(
                    at: path + [.key("report_interval")],
                    "report_interval (\(DurationText.format(d))) is shorter than interval (\(DurationText.format(settings.interval))); expected report_interval >= interval")
            } else {
                settings.reportInterval = d
            }
        }
        if let v = table["rescan_interval"], let d = duration(v, key: "rescan_interval", in: path, range: AgentSettings.rescanIntervalRange) {
            settings.rescanInterval = d
        }
        if let v = table["cgroup_root"] {
            let keyPath = path + [.key("cgroup_root")]
            if let s = v.string {
                switch Self.cgroupRoot(s) {
                case .success(let root): settings.cgroupRoot = root
                case .failure(let problem): error(at: keyPath, problem.message)
                }
            } else {
                error(at: keyPath, "cgroup_root must be a string (\"auto\" or a path beneath /sys/fs/cgroup), got \(Self.describe(v))")
            }
        }
        settings.fairness = fairnessMode(table, at: path)
        if let v = table["metrics_textfile"] {
            let keyPath = path + [.key("metrics_textfile")]
            if let s = v.string {
                switch Self.metricsTextfile(s) {
                case .success(let file): settings.metricsTextfile = file
                case .failure(let problem): error(at: keyPath, problem.message)
                }
            } else {
                error(at: keyPath, "metrics_textfile must be a string (an absolute path ending in .prom, or \"\" for none), got \(Self.describe(v))")
            }
        }
        if let v = table["metrics_users"],
            let n = integer(v, key: "metrics_users", at: path + [.key("metrics_users")], range: AgentSettings.metricsUsersRange,
                            meaning: "how many users' series of per_user groups the metrics carry, the busiest first; 0 for none")
        {
            settings.metricsUsers = n
        }
        if let v = table["mode"] {
            let keyPath = path + [.key("mode")]
            let expected = AgentMode.allCases.map { "\"\($0)\"" }.joined(separator: " or ")
            if let s = v.string {
                if let mode = AgentMode(rawValue: s) {
                    settings.mode = mode
                } else {
                    error(at: keyPath, "unknown mode '\(s)'; expected \(expected)")
                }
            } else {
                error(at: keyPath, "mode must be a string, \(expected), got \(Self.describe(v))")
            }
        }
        return settings
    }

    /// The metrics textfile: "" for none, else an absolute path ending in `.prom` (the only
    /// names node_exporter's textfile collector reads), outside the kernel's pseudo file systems
    /// (the agent runs as root: a typo must not write into /proc/sys or /dev), with no `.` or `..`
    /// component (so "beneath" means what it says), at most PATH_MAX bytes.
    static func metricsTextfile(_ text: String) -> Result<String?, CgroupRootProblem> {
        if text.isEmpty { return .success(nil) }
        let expected = "expected an absolute path ending in .prom, e.g. \"\(AgentSettings.defaultMetricsTextfile)\", or \"\" for none"
        let maxBytes = 4096
        guard text.utf8.count <= maxBytes else {
            return .failure(.init(message: "metrics_textfile is \(text.utf8.count) bytes long; expected at most \(maxBytes) (PATH_MAX)"))
        }
        guard !text.utf8.contains(0) else { return .failure(.init(message: "metrics_textfile contains a NUL byte; \(expected)")) }
        guard text.hasPrefix("/") else { return .failure(.init(message: "metrics_textfile '\(text)' is not an absolute path; \(expected)")) }
        guard text.hasSuffix(".prom"), !text.hasSuffix("/.prom") else {
            return .failure(.init(message: "metrics_textfile '\(text)' does not end in .prom (node_exporter reads only *.prom files); \(expected)"))
        }
        let components = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            return .failure(.init(message: "metrics_textfile '\(text)' contains an empty, '.' or '..' component; \(expected)"))
        }
        if let top = components.first, ["proc", "sys", "dev"].contains(top) {
            return .failure(.init(message: "metrics_textfile '\(text)' is beneath /\(top), a kernel file system the agent must not write files into; \(expected)"))
        }
        return .success(text)
    }

    mutating func duration(_ value: TOMLValueConvertible, key: String, in table: Path, range: ClosedRange<Duration>?) -> Duration? {
        let path = table + [.key(key)]
        guard let text = value.string else {
            error(at: path, "\(key) must be a duration string like \"2s\" or \"500ms\", got \(Self.describe(value))")
            return nil
        }
        guard let d = DurationText.parse(text) else {
            error(at: path, "invalid duration '\(text)' for \(key); expected a number and a unit (ms, s, m or h), e.g. \"2s\" or \"500ms\"")
            return nil
        }
        if let range, !range.contains(d) {
            error(
                at: path,
                "\(key) '\(text)' is out of range; expected \(DurationText.format(range.lowerBound))..\(DurationText.format(range.upperBound))")
            return nil
        }
        return d
    }

    struct CgroupRootProblem: Error {
        var message: String
    }

    /// "auto", or a plain absolute path on the cgroup2 mount; a trailing `/` is dropped.
    static func cgroupRoot(_ text: String) -> Result<CgroupRootSetting, CgroupRootProblem> {
        if text == "auto" { return .success(.auto) }
        let mount = "/sys/fs/cgroup"
        let expected = "expected \"auto\" or an absolute path beneath \(mount), e.g. \"\(mount)/fairshare\""
        guard text == mount || text.hasPrefix(mount + "/") else {
            return .failure(.init(message: "invalid cgroup_root '\(text)'; \(expected)"))
        }
        guard !text.contains("//") else {
            return .failure(.init(message: "cgroup_root '\(text)' contains '//'; \(expected)"))
        }
        let components = text.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains(where: { $0 == "." || $0 == ".." }) else {
            return .failure(.init(message: "cgroup_root '\(text)' contains a '.' or '..' component; \(expected)"))
        }
        var path = text
        if path.hasSuffix("/") { path.removeLast() }
        return .success(.path(path))
    }

    // MARK: [[group]]

    private mutating func groupPolicies(_ value: TOMLValueConvertible?) -> [GroupPolicy] {
        let path: Path = [.key("group")]
        let noGroups = "no [[group]] tables, so the agent manages no processes; add a [[group]] with name, shares and a [group.match] table"
        guard let value else {
            warn(at: .start, noGroups)
            return []
        }
        var tables: [(table: TOMLTable, path: Path)] = []
        if let table = value.table {
            error(
                at: path,
                "[group] is a single table, but groups are an array of tables; write [[group]] (double brackets) before each group")
            tables = [(table, path)]
        } else if let array = value.array {
            if array.isEmpty { warn(at: index.locate(path), noGroups) }
            for i in 0..<array.count {
                let element = array[i]
                if let table = element.table {
                    tables.append((table, path + [.index(i)]))
                } else {
                    error(at: path + [.index(i)], "each group must be a table ([[group]] or { name = ..., shares = ... }), got \(Self.describe(element))")
                }
            }
        } else {
            error(at: path, "group must be an array of tables ([[group]]), got \(Self.describe(value))")
        }

        // The groups some group names as its parent: they hold no processes, so a missing match
        // table is what they should have (a match table is an error, reported by resolveTree).
        let parentNames = Set(tables.compactMap { $0.table["parent"]?.string })
        var firstLineOfName: [String: Int] = [:]
        var drafts: [GroupDraft] = []
        for (n, entry) in tables.enumerated() {
            drafts.append(groupDraft(entry.table, at: entry.path, number: n + 1, firstLineOfName: &firstLineOfName, parentNames: parentNames))
        }
        for d in drafts where d.parent == .absent {
            if case .percent(let p) = d.floor { percentFloors.append((p, index.locate(d.path + [.key("min")]), d.label)) }
        }
        checkPercentFloorsSum()
        return resolveTree(drafts)
    }

    /// One `[[group]]` as written: its own keys checked, its place in the tree not yet
    /// (`resolveTree` does that once every group is known).
    private mutating func groupDraft(
        _ table: TOMLTable, at path: Path, number: Int, firstLineOfName: inout [String: Int], parentNames: Set<String>
    ) -> GroupDraft {
        let header = index.locate(path)
        let rawName = table["name"]?.string
        let label = rawName.map { $0.isEmpty ? "[[group]] #\(number)" : "[[group]] '\($0)'" } ?? "[[group]] #\(number)"
        checkKeys(table, at: path, in: label, known: PolicyKeys.group)

        var name: GroupName?
        let nameRule = "1..63 lowercase letters, digits, '_' or '-', starting with a letter"
        if let v = table["name"] {
            let namePath = path + [.key("name")]
            if let s = v.string {
                if let valid = GroupName(s) {
                    if let firstLine = firstLineOfName[s] {
                        error(at: namePath, "duplicate group name '\(s)'; the [[group]] on line \(firstLine) already uses it; expected each group name to be unique")
                    } else {
                        firstLineOfName[s] = header.line
                        name = valid
                    }
                } else {
                    error(at: namePath, "invalid group name '\(s)'; expected \(nameRule) (it becomes a cgroup directory name)")
                }
            } else {
                error(at: namePath, "name must be a string like \"batch\", got \(Self.describe(v))")
            }
        } else {
            error(at: header, "\(label) has no name; expected name = \"...\" (\(nameRule))")
        }

        // A unit-backed group (units in its match table) can not have limits: see groupLimits.
        let unitBacked = table["match"]?.table?["units"] != nil
        let idle = idleFlag(table, at: path, group: label, unitBacked: unitBacked)

        var shares: Shares?
        if idle == true {
            if table["shares"] != nil {
                error(
                    at: path + [.key("shares")],
                    "shares can not be set on \(label): it is idle (idle = true), and an idle group has no CPU weight (the kernel refuses cpu.weight while cpu.idle = 1; the group gets only CPU time no other group wants); remove shares, and set its disk share with io_shares (default 100)")
            }
        } else if let v = table["shares"] {
            shares = self.shares(v, key: "shares", at: path + [.key("shares")])
        } else if idle == false {
            error(at: header, "\(label) has no shares; expected shares = N, an integer \(Shares.range.lowerBound)..\(Shares.range.upperBound) (100 is the kernel's default weight), or idle = true for a group that runs only on CPU time nobody else wants")
        }
        var ioShares: Shares?
        var ioSharesAreValid = true
        if let v = table["io_shares"] {
            ioShares = self.shares(v, key: "io_shares", at: path + [.key("io_shares")])
            ioSharesAreValid = ioShares != nil
        }

        let limits = groupLimits(table, at: path, group: label, unitBacked: unitBacked, idle: idle == true)
        let parent = parentKey(table, at: path)
        let perUser = perUserPolicy(table, at: path, group: label, unitBacked: unitBacked, idle: idle == true, groupCeiling: limits.ceiling)

        let isParent = rawName.map(parentNames.contains) ?? false
        let match = matchRule(table["match"], at: path + [.key("match")], group: label, header: header, warnIfNone: !isParent)

        var draft = GroupDraft(
            rawName: rawName, name: name, label: label, path: path, header: header, parent: parent, unitBacked: unitBacked,
            hasMatch: table["match"] != nil, perUser: perUser.enabled, floor: limits.floor, ceiling: limits.ceiling)
        guard let name, let idle, ioSharesAreValid, limits.isValid, perUser.isValid else { return draft }
        // An idle group has no CPU share: its `shares` stands for its disk share (io_shares,
        // default 100) so every group has one; nothing that sets a CPU weight reads it.
        let diskShares = ioShares ?? Shares(100)!
        guard let cpuShares = idle ? diskShares : shares else { return draft }
        draft.group = GroupPolicy(
            name: name, shares: cpuShares, ioShares: idle ? diskShares : ioShares, match: match, line: header.line,
            floor: limits.floor, ceiling: limits.ceiling, borrow: limits.borrow, burst: limits.burst, maxBurst: limits.maxBurst, idle: idle,
            perUser: perUser.policy)
        return draft
    }

    /// `idle`: true, false or absent (false). nil when it is invalid, or set on a unit-backed
    /// group: the agent writes no file of a unit's cgroup, and systemd has its own way.
    private mutating func idleFlag(_ table: TOMLTable, at path: Path, group label: String, unitBacked: Bool) -> Bool? {
        guard let v = table["idle"] else { return false }
        guard let idle = v.bool else {
            error(at: path + [.key("idle")], "idle must be true or false, got \(Self.describe(v))")
            return nil
        }
        if idle && unitBacked {
            error(
                at: path + [.key("idle")],
                "idle = true can not be set on \(label): it is unit-backed (units in its match table), and the agent never writes cpu.idle or any other file of a cgroup systemd owns; give the units CPUWeight=idle in systemd instead (systemctl set-property UNIT CPUWeight=idle), or remove idle")
            return nil
        }
        return idle
    }

    mutating func shares(_ value: TOMLValueConvertible, key: String, at path: Path) -> Shares? {
        let expected = "\(key) must be an integer \(Shares.range.lowerBound)..\(Shares.range.upperBound)"
        guard let n = value.int else {
            error(at: path, "\(expected), got \(Self.describe(value))")
            return nil
        }
        guard let shares = Shares(n) else {
            error(at: path, "\(expected), got \(n)")
            return nil
        }
        return shares
    }

    // MARK: Describing values

    /// "a string", "an integer", ...: for "got ..." in messages.
    static func describe(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .string: "a string"
        case .int: "an integer"
        case .double: "a floating-point number"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: value.table?.inline == true ? "an inline table" : "a table"
        case .date: "a date"
        case .time: "a time"
        case .dateTime: "a date-time"
        }
    }
}
