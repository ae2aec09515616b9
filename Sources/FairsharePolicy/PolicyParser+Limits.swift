/// `[[group]]` min, max, borrow, burst and max_burst; `[agent]` fairness, half_life and max_boost. The checks
/// that need the root's capacity are in `PolicyParser.capacityProblems`.
extension PolicyValidator {
    static let cpuAmountExample = "a number of CPUs like \"1.5\" (or 1.5) or a percentage of the root's capacity like \"25%\""

    /// The keys of one set of limits and whom they bound, for the messages: a group's own
    /// (`min`, `max`, ...) or each user's of a `per_user` group (`user_min`, `user_max`, ...).
    /// Both follow the same rules.
    struct LimitKeys {
        var min: String
        var max: String
        var borrow: String
        var burst: String
        /// nil: no cpu.max.burst key in this set.
        var maxBurst: String?
        /// "the group", "each user"
        var subject: String
        /// "group", "user": "a borrowing group"
        var borrower: String
        /// "its", "their"
        var possessive: String

        static let group = LimitKeys(
            min: "min", max: "max", borrow: "borrow", burst: "burst", maxBurst: "max_burst", subject: "the group", borrower: "group", possessive: "its")
        static let perUser = LimitKeys(
            min: "user_min", max: "user_max", borrow: "user_borrow", burst: "user_burst", maxBurst: nil, subject: "each user", borrower: "user",
            possessive: "their")
    }

    struct GroupLimits {
        var floor: CPUAmount?
        var ceiling: CPUAmount?
        var borrow = false
        var burst: CPUAmount?
        var maxBurst: CPUAmount?
        var isValid = true
    }

    mutating func groupLimits(
        _ table: TOMLTable, at path: Path, group label: String, unitBacked: Bool = false, idle: Bool = false, keys k: LimitKeys = .group
    ) -> GroupLimits {
        var limits = GroupLimits()
        if idle, table[k.min] != nil {
            // max, borrow and burst still make sense: they bound what it takes of the leftover.
            error(
                at: path + [.key(k.min)],
                "\(k.min) can not be set on \(label): it is idle (idle = true) and runs only on CPU time no other group wants, so nothing can be guaranteed to it; remove \(k.min), or remove idle and give it shares")
            limits.isValid = false
        }
        if unitBacked {
            // systemd owns a unit's cgroup: the agent sets CPUWeight/IOWeight through systemd and
            // writes nothing itself, and unit groups take no part in redistribution.
            let why: [String: String] = [
                "min": "a floor works by raising the group's weight past its shares, and unit groups take no part in redistribution; remove min",
                "max": "use the unit's own CPUQuota= for a ceiling, or remove max",
                "borrow": "borrowing raises cpu.max while capacity is idle; remove borrow",
                "burst": "burst bounds borrowing through cpu.max; remove burst",
                "max_burst": "it would be the unit's cpu.max.burst; remove max_burst",
            ]
            for key in ["min", "max", "borrow", "burst", "max_burst"] where table[key] != nil {
                error(
                    at: path + [.key(key)],
                    "\(key) can not be set on \(label): it is unit-backed (units in its match table), and the agent never writes cpu.max or any other file of a cgroup systemd owns; \(why[key]!)")
                limits.isValid = false
            }
            return limits
        }
        func amount(_ key: String) -> CPUAmount? {
            guard let v = table[key] else { return nil }
            let amount = cpuAmount(v, key: key, at: path + [.key(key)])
            if amount == nil { limits.isValid = false }
            return amount
        }
        limits.floor = idle ? nil : amount(k.min)
        limits.ceiling = amount(k.max)
        limits.burst = amount(k.burst)
        if let maxBurstKey = k.maxBurst {
            limits.maxBurst = amount(maxBurstKey)
            if table[maxBurstKey] != nil && table[k.max] == nil {
                error(
                    at: path + [.key(maxBurstKey)],
                    "\(maxBurstKey) in \(label) needs a \(k.max): it is unused quota the group may bank to run above its \(k.max) for a moment (cpu.max.burst), and it has no \(k.max); add \(k.max) = \"...\" or remove \(maxBurstKey)")
                limits.isValid = false
            }
        }

        var borrowIsKnown = true
        if let v = table[k.borrow] {
            if let b = v.bool {
                limits.borrow = b
            } else {
                error(at: path + [.key(k.borrow)], "\(k.borrow) must be true or false, got \(Self.describe(v))")
                limits.isValid = false
                borrowIsKnown = false
            }
        }
        if limits.borrow && table[k.max] == nil {
            error(
                at: path + [.key(k.borrow)],
                "\(k.borrow) = true in \(label) needs a \(k.max): borrowing lets \(k.subject) use idle capacity above \(k.possessive) \(k.max), and it has no \(k.max) to go beyond; add \(k.max) = \"...\" or remove \(k.borrow)"
            )
            limits.isValid = false
        }
        if table[k.burst] != nil && borrowIsKnown && !limits.borrow {
            let why = table[k.borrow] == nil ? "it has no \(k.borrow)" : "its \(k.borrow) is false"
            error(
                at: path + [.key(k.burst)],
                "\(k.burst) in \(label) applies only with \(k.borrow) = true (it bounds how far a borrowing \(k.borrower) may go above \(k.possessive) \(k.max)), but \(why); add \(k.borrow) = true or remove \(k.burst)"
            )
            limits.isValid = false
        }

        // Order within the set, when both amounts are in the same unit (mixed units need the
        // capacity: capacityProblems).
        if let floor = limits.floor, let ceiling = limits.ceiling, Self.sameUnitExceeds(floor, ceiling) {
            error(
                at: path + [.key(k.min)],
                "\(k.min) (\(Self.describeAmount(floor))) is larger than \(k.max) (\(Self.describeAmount(ceiling))) in \(label); expected \(k.min) <= \(k.max)")
            limits.isValid = false
        }
        if let ceiling = limits.ceiling, let burst = limits.burst, Self.sameUnitExceeds(ceiling, burst) {
            error(
                at: path + [.key(k.max)],
                "\(k.max) (\(Self.describeAmount(ceiling))) is larger than \(k.burst) (\(Self.describeAmount(burst))) in \(label); expected \(k.max) <= \(k.burst) (\(k.burst) is how far \(k.subject) may borrow above \(k.max))"
            )
            limits.isValid = false
        }

        if let maxBurstKey = k.maxBurst, let ceiling = limits.ceiling, let maxBurst = limits.maxBurst, Self.sameUnitExceeds(maxBurst, ceiling) {
            error(
                at: path + [.key(maxBurstKey)],
                "\(maxBurstKey) (\(Self.describeAmount(maxBurst))) is larger than \(k.max) (\(Self.describeAmount(ceiling))) in \(label); the kernel keeps a burst within the quota, expected \(maxBurstKey) <= \(k.max)")
            limits.isValid = false
        }
        return limits
    }

    /// A string for `CPUAmount.parse`, or a TOML integer or float as a number of CPUs.
    mutating func cpuAmount(_ value: TOMLValueConvertible, key: String, at path: Path) -> CPUAmount? {
        let positive = "\(key) must be more than zero"
        if let n = value.int {
            guard n > 0 else {
                error(at: path, "\(positive), got \(n); expected \(Self.cpuAmountExample)")
                return nil
            }
            return .cpus(Double(n))
        }
        if let d = value.double {
            guard d.isFinite else {
                error(at: path, "invalid CPU amount \(d) for \(key); expected \(Self.cpuAmountExample)")
                return nil
            }
            guard d > 0 else {
                error(at: path, "\(positive), got \(Self.formatNumber(d)); expected \(Self.cpuAmountExample)")
                return nil
            }
            return .cpus(d)
        }
        guard let text = value.string else {
            error(at: path, "\(key) must be \(Self.cpuAmountExample), got \(Self.describe(value))")
            return nil
        }
        if let amount = CPUAmount.parse(text) { return amount }
        // Why not: the number (with a sign, which CPUAmount.parse refuses) and its unit.
        let t = text.trimmingSpaces()
        let isPercent = t.hasSuffix("%")
        let number = isPercent ? String(t.dropLast()) : t
        if !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" }), let v = Double(number), v.isFinite {
            if v <= 0 {
                error(at: path, "\(positive), got '\(text)'; expected \(Self.cpuAmountExample)")
                return nil
            }
            if isPercent && v > 100 {
                error(
                    at: path,
                    "\(key) '\(text)' is more than 100% of the root's capacity; expected a percentage above 0% and at most 100%, or a number of CPUs like \"4\""
                )
                return nil
            }
        }
        error(at: path, "invalid CPU amount '\(text)' for \(key); expected \(Self.cpuAmountExample)")
        return nil
    }

    /// Across top-level groups: percentages of one capacity can be added up without knowing it.
    mutating func checkPercentFloorsSum() {
        var sum = 0.0
        for (n, floor) in percentFloors.enumerated() {
            sum += floor.percent
            guard sum > 100 + 1e-9 else { continue }
            let terms = percentFloors[...n].map { "\($0.label) \(Self.formatNumber($0.percent))%" }.joined(separator: " + ")
            error(
                at: floor.position,
                "the groups' percentage min add up to \(Self.formatNumber(sum))% with \(floor.label) (\(terms)); expected at most 100% of the root's capacity in all"
            )
            return
        }
    }

    /// Both CPUs or both percent, and `a` larger than `b`.
    static func sameUnitExceeds(_ a: CPUAmount, _ b: CPUAmount) -> Bool {
        switch (a, b) {
        case (.cpus(let x), .cpus(let y)), (.percent(let x), .percent(let y)): x > y
        default: false
        }
    }

    /// "1 CPU", "1.5 CPUs", "25%".
    static func describeAmount(_ amount: CPUAmount) -> String {
        switch amount {
        case .cpus(let c): describeCPUs(c)
        case .percent(let p): formatNumber(p) + "%"
        }
    }

    static func describeCPUs(_ c: Double) -> String {
        formatNumber(c) + (c == 1 ? " CPU" : " CPUs")
    }

    /// At most three decimals, no trailing zeros: 2, 1.5, 0.333. Never traps.
    static func formatNumber(_ x: Double) -> String {
        guard x.isFinite, abs(x) < 1e15 else { return String(x) }
        let rounded = (x * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    }

    // MARK: [agent] fairness

    mutating func fairnessMode(_ table: TOMLTable, at path: Path) -> FairnessMode {
        let modes = ["instant", "decayed"]
        /// nil: given but invalid, so whether half_life and max_boost belong is unknown.
        var mode: String? = "instant"
        let fairnessIsGiven = table["fairness"] != nil
        if let v = table["fairness"] {
            let keyPath = path + [.key("fairness")]
            if let s = v.string {
                if modes.contains(s) {
                    mode = s
                } else {
                    var message = "unknown fairness '\(s)'; expected one of: \"instant\", \"decayed\""
                    if let suggestion = KeySuggestion.closest(to: s, in: modes) { message += "; did you mean \"\(suggestion)\"?" }
                    error(at: keyPath, message)
                    mode = nil
                }
            } else {
                error(at: keyPath, "fairness must be a string, \"instant\" or \"decayed\", got \(Self.describe(v))")
                mode = nil
            }
        }

        if mode == "instant" {
            let why = fairnessIsGiven ? "but fairness is \"instant\"" : "and [agent] has no fairness (the default is \"instant\")"
            for key in ["half_life", "max_boost"] where table[key] != nil {
                error(at: path + [.key(key)], "\(key) applies only with fairness = \"decayed\", \(why); set fairness = \"decayed\" or remove \(key)")
            }
            return .instant
        }

        var halfLife = FairnessMode.defaultHalfLife
        if let v = table["half_life"], let d = duration(v, key: "half_life", in: path, range: FairnessMode.halfLifeRange) {
            halfLife = d
        }
        var maxBoost = FairnessMode.defaultMaxBoost
        if let v = table["max_boost"], let b = self.maxBoost(v, at: path + [.key("max_boost")]) {
            maxBoost = b
        }
        return mode == "decayed" ? .decayed(halfLife: halfLife, maxBoost: maxBoost) : .instant
    }

    private mutating func maxBoost(_ value: TOMLValueConvertible, at path: Path) -> Double? {
        let range = FairnessMode.maxBoostRange
        let expected = "expected a number \(Self.formatNumber(range.lowerBound))..\(Self.formatNumber(range.upperBound))"
        guard let b = value.int.map(Double.init) ?? value.double else {
            error(at: path, "max_boost must be a number, got \(Self.describe(value)); \(expected) (4 lets a group's weight move up to 4x from its shares)")
            return nil
        }
        guard range.contains(b) else {
            let shown = value.int.map(String.init) ?? Self.formatNumber(b)
            error(at: path, "max_boost \(shown) is out of range; \(expected) (1 means no boost)")
            return nil
        }
        return b
    }
}
