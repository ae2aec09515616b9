/// `[[group]]` per_user, user_shares, user_min, user_max, user_borrow, user_burst and max_users;
/// `[agent]` metrics_users. The per-user limits follow the rules of the group's own (`groupLimits`
/// with `LimitKeys.perUser`).
extension PolicyValidator {
    /// What `per_user` and its keys came to.
    struct PerUserResult {
        /// `per_user` as written: false when absent; nil when it is not a boolean or can not apply
        /// (a unit-backed group), so whether the user keys belong is unknown.
        var enabled: Bool?
        var policy: PerUserPolicy?
        var isValid = true
    }

    /// Why each per-user key needs `per_user = true`, for the message when it is missing.
    private static let perUserKeyMeaning: [String: String] = [
        "user_shares": "it weights the group's users against each other",
        "user_min": "it guarantees CPU to each user's subgroup",
        "user_max": "it caps each user's subgroup",
        "user_borrow": "it lets each user's subgroup borrow above its user_max",
        "user_burst": "it bounds how far a borrowing user may go",
        "max_users": "it bounds how many users' subgroups the agent makes",
    ]

    mutating func perUserPolicy(
        _ table: TOMLTable, at path: Path, group label: String, unitBacked: Bool, idle: Bool, groupCeiling: CPUAmount?
    ) -> PerUserResult {
        var result = PerUserResult(enabled: false)
        if let v = table["per_user"] {
            if let b = v.bool {
                result.enabled = b
            } else {
                error(at: path + [.key("per_user")], "per_user must be true or false, got \(Self.describe(v))")
                result.enabled = nil
                result.isValid = false
            }
        }
        if result.enabled == true && unitBacked {
            error(
                at: path + [.key("per_user")],
                "per_user can not be set on \(label): it is unit-backed (units in its match table), and its processes stay in their units' cgroups, which the agent never divides; share a unit between users in systemd (user-*.slice units are per user already), or remove per_user")
            return PerUserResult(enabled: nil, isValid: false)
        }
        guard let enabled = result.enabled else { return result }
        guard enabled else {
            let why = table["per_user"] == nil ? "it has no per_user" : "its per_user is false"
            for key in PolicyKeys.perUser where table[key] != nil {
                error(
                    at: path + [.key(key)],
                    "\(key) in \(label) applies only with per_user = true (\(Self.perUserKeyMeaning[key]!)), but \(why); add per_user = true or remove \(key)")
                result.isValid = false
            }
            return result
        }

        var policy = PerUserPolicy()
        if let v = table["user_shares"] {
            if let shares = userShares(v, at: path + [.key("user_shares")]) {
                policy.shares = shares
            } else {
                result.isValid = false
            }
        }
        let limits = groupLimits(table, at: path, group: label, idle: idle, keys: .perUser)
        if !limits.isValid { result.isValid = false }
        policy.floor = limits.floor
        policy.ceiling = limits.ceiling
        policy.borrow = limits.borrow
        policy.burst = limits.burst
        // A user's subgroup lives within the group: a guarantee above the group's own ceiling
        // could never be kept (mixed units need the capacity: capacityProblems).
        if let floor = limits.floor, let groupCeiling, Self.sameUnitExceeds(floor, groupCeiling) {
            error(
                at: path + [.key("user_min")],
                "user_min (\(Self.describeAmount(floor))) is larger than the group's max (\(Self.describeAmount(groupCeiling))) in \(label); each user's subgroup is within the group, expected user_min <= max")
            result.isValid = false
        }
        if let v = table["max_users"] {
            if let n = integer(
                v, key: "max_users", at: path + [.key("max_users")], range: PerUserPolicy.maxUsersRange,
                meaning: "the most users' subgroups the agent makes in the group at once")
            {
                policy.maxUsers = n
            } else {
                result.isValid = false
            }
        }
        result.policy = policy
        return result
    }

    /// `user_shares = { alice = 3, "1005" = 2 }`: user names or uids (decimal, as string keys) and
    /// their shares. Every bad entry is reported; nil if there was one.
    private mutating func userShares(_ value: TOMLValueConvertible, at path: Path) -> [IDRef: Shares]? {
        guard let table = value.table else {
            error(at: path, "user_shares must be a table of user names or uids and their shares, like user_shares = { alice = 3, \"1005\" = 2 }, got \(Self.describe(value))")
            return nil
        }
        var shares: [IDRef: Shares] = [:]
        var isValid = true
        for key in table.keys {
            let keyPath = path + [.key(key)]
            guard let ref = userRef(key, at: keyPath) else {
                isValid = false
                continue
            }
            guard let n = self.shares(table[key]!, key: "user_shares for '\(key)'", at: keyPath) else {
                isValid = false
                continue
            }
            if case .name(let name) = ref {
                warnIfUnknownUser(name, at: index.locate(keyPath), in: "user_shares", effect: "so its entry applies to no one")
            }
            shares[ref] = n
        }
        return isValid ? shares : nil
    }

    /// A key of `user_shares`: a decimal uid (digits only) or a user name.
    private mutating func userRef(_ key: String, at path: Path) -> IDRef? {
        if !key.isEmpty, key.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            if key.utf8.count > 1 && key.hasPrefix("0") {
                let digits = key.drop { $0 == "0" }
                error(at: path, "uid '\(key)' in user_shares has a leading zero; expected a decimal uid without one, like \"\(digits.isEmpty ? "0" : digits)\"")
                return nil
            }
            // More digits than a uid has can not be in range (and would not fit an Int).
            guard key.utf8.count <= 10, let n = Int(key), Self.idRange.contains(n) else {
                error(at: path, "uid \(key) in user_shares is out of range; expected \(Self.idRange.lowerBound)..\(Self.idRange.upperBound)")
                return nil
            }
            return .id(UInt32(n))
        }
        guard Self.isUserName(key) else {
            error(
                at: path,
                "invalid user name '\(Self.excerpt(key))' in user_shares; expected a user name (1..32 lowercase letters, digits, '_', '.' or '-', starting with a letter or '_', with an optional '$' at the end) or a uid as a quoted key, like \"1005\" = 2")
            return nil
        }
        return .name(key)
    }

    /// `^[a-z_][a-z0-9_.-]{0,31}\$?$`: the names useradd accepts by default (NAME_REGEX), with
    /// Samba's trailing '$'.
    static func isUserName(_ s: String) -> Bool {
        var bytes = Array(s.utf8)
        if bytes.last == UInt8(ascii: "$") { bytes.removeLast() }
        guard (1...32).contains(bytes.count) else { return false }
        func isLower(_ b: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) }
        guard isLower(bytes[0]) || bytes[0] == UInt8(ascii: "_") else { return false }
        return bytes.dropFirst().allSatisfy { b in
            isLower(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
        }
    }

    /// A warning for a user name this host does not know, when the caller gave a way to ask.
    mutating func warnIfUnknownUser(_ name: String, at position: Position, in key: String, effect: String) {
        guard let resolveUser, resolveUser(name) == nil else { return }
        warn(at: position, "user '\(Self.excerpt(name))' in \(key) does not exist on this host, \(effect)")
    }

    /// An integer in `range`; `meaning` says what it is, for the message.
    mutating func integer(_ value: TOMLValueConvertible, key: String, at path: Path, range: ClosedRange<Int>, meaning: String) -> Int? {
        let expected = "\(key) must be an integer \(range.lowerBound)..\(range.upperBound) (\(meaning))"
        guard let n = value.int else {
            error(at: path, "\(expected), got \(Self.describe(value))")
            return nil
        }
        guard range.contains(n) else {
            error(at: path, "\(expected), got \(n)")
            return nil
        }
        return n
    }
}
