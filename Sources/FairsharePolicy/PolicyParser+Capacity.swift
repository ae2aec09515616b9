extension PolicyParser {
    /// Problems that depend on the root's capacity in CPUs (the agent calls this at load and
    /// reload with the real capacity; `fairshare check` with this machine's CPU count).
    ///
    /// With every amount in CPUs: the top-level groups' `min` must add up to at most `capacity`,
    /// the `min` of a group's child groups to at most its `min` (or, without one, its `max`), and
    /// within each group `min <= max <= burst`, `user_min <= user_max <= user_burst` and
    /// `user_min <= max`. A group without a `min` of its own counts its child groups' `min`. A
    /// `max` or `burst` above the capacity is fine (it never binds). Each problem is located at
    /// the group's `[[group]]` header, column 1.
    public static func capacityProblems(_ policy: Policy, capacity: Double) -> [PolicyError.Problem] {
        func location(_ line: Int) -> SourceLocation {
            SourceLocation(file: policy.sourcePath, line: max(line, 1), column: 1)
        }
        guard capacity.isFinite, capacity > 0 else {
            return [.init(location: location(1), message: "the root's capacity must be a positive number of CPUs, got \(capacity)")]
        }
        let tolerance = 1e-9 * max(1, capacity)
        let ofCapacity = "of \(PolicyValidator.formatNumber(capacity))"
        func describe(_ amount: CPUAmount) -> String {
            switch amount {
            case .cpus(let c): PolicyValidator.describeCPUs(c)
            case .percent: "\(PolicyValidator.describeAmount(amount)) (\(PolicyValidator.describeCPUs(amount.cpus(capacity: capacity))) \(ofCapacity))"
            }
        }

        var problems: [(line: Int, problem: PolicyError.Problem)] = []
        func report(_ group: GroupPolicy, _ message: String) {
            problems.append((group.line, .init(location: location(group.line), message: message)))
        }
        for group in policy.groups {
            let label = "[[group]] '\(group.name)'"
            var pairs: [(String, CPUAmount?, String, CPUAmount?)] = [
                ("min", group.floor, "max", group.ceiling),
                ("max", group.ceiling, "burst", group.burst),
            ] + (group.ceiling == nil ? [("min", group.floor, "burst", group.burst)] : [])
            if let users = group.perUser {
                pairs += [
                    ("user_min", users.floor, "user_max", users.ceiling),
                    ("user_max", users.ceiling, "user_burst", users.burst),
                    ("user_min", users.floor, "max", group.ceiling),
                ] + (users.ceiling == nil ? [("user_min", users.floor, "user_burst", users.burst)] : [])
            }
            for (lowKey, low, highKey, high) in pairs {
                guard let low, let high, low.cpus(capacity: capacity) > high.cpus(capacity: capacity) + tolerance else { continue }
                report(
                    group,
                    "in \(label), \(lowKey) \(describe(low)) is larger than \(highKey) \(describe(high)) on a root with \(PolicyValidator.describeCPUs(capacity)); expected \(lowKey) <= \(highKey)"
                )
            }
        }

        // A group's floor in CPUs: its min, else what its child groups' floors add up to (0 for none).
        // Deepest first, so every child's is known before its parent's.
        var effective: [GroupName: Double] = [:]
        for g in policy.groups.sorted(by: { $0.name.depth > $1.name.depth }) {
            let own = g.floor.map { $0.cpus(capacity: capacity) }
            effective[g.name] = own ?? policy.children(of: g.name).reduce(0) { $0 + (effective[$1.name] ?? 0) }
        }
        func floorTerms(_ groups: [GroupPolicy]) -> [(group: GroupPolicy, text: String, cpus: Double)] {
            groups.compactMap { g in
                if let floor = g.floor { return (g, describe(floor), floor.cpus(capacity: capacity)) }
                guard let cpus = effective[g.name], cpus > 0 else { return nil }
                return (g, "\(PolicyValidator.describeCPUs(cpus)) (its groups' min)", cpus)
            }
        }
        for parent in policy.groups {
            guard let bound = parent.floor ?? parent.ceiling else { continue }
            let boundKey = parent.floor != nil ? "min" : "max"
            let limit = bound.cpus(capacity: capacity)
            let kids = floorTerms(policy.children(of: parent.name))
            let total = kids.reduce(0) { $0 + $1.cpus }
            guard total > limit + tolerance else { continue }
            var sum = 0.0
            let culprit = kids.first { sum += $0.cpus; return sum > limit + tolerance } ?? kids[kids.count - 1]
            let terms = kids.map { "\($0.group.shortName) \($0.text)" }.joined(separator: " + ")
            report(
                culprit.group,
                "the min of the groups in [[group]] '\(parent.name)' add up to \(PolicyValidator.describeCPUs(total)) (\(terms)), more than its \(boundKey) \(describe(bound)) on a root with \(PolicyValidator.describeCPUs(capacity)); expected at most their parent's \(boundKey) in all, from [[group]] '\(culprit.group.name)' on they do not fit"
            )
        }

        let floors = floorTerms(policy.children(of: nil))
        let total = floors.reduce(0) { $0 + $1.cpus }
        if total > capacity + tolerance {
            // Blame the group whose min makes the running sum exceed the capacity.
            var sum = 0.0
            let culprit = floors.first { sum += $0.cpus; return sum > capacity + tolerance } ?? floors[floors.count - 1]
            let terms = floors.map { "\($0.group.name) \($0.text)" }.joined(separator: " + ")
            report(
                culprit.group,
                "the groups' min add up to \(PolicyValidator.describeCPUs(total)) but the root has \(PolicyValidator.formatNumber(capacity)) (\(terms)); expected at most \(PolicyValidator.describeCPUs(capacity)) in all, from [[group]] '\(culprit.group.name)' on they do not fit"
            )
        }
        return problems.enumerated().sorted { a, b in
            a.element.line != b.element.line ? a.element.line < b.element.line : a.offset < b.offset
        }.map(\.element.problem)
    }
}

extension PolicyParser {
    /// The one validation a policy passes before it is put in force or planned: the whole text
    /// parsed and checked (size, syntax, every key and value), then the limits against the
    /// root's capacity. `fairshare run` and `check`, a reload and a plan all call it.
    ///
    /// - Parameter resolveUser: as for `parse`: when given, unknown user names are warnings.
    public static func validate(
        _ text: String, file: String, capacity: Double, resolveUser: ((String) -> UInt32?)? = nil
    ) throws(PolicyError) -> Policy {
        let policy = try parse(text, file: file, resolveUser: resolveUser)
        let problems = capacityProblems(policy, capacity: capacity)
        if !problems.isEmpty { throw PolicyError(problems: problems) }
        return policy
    }
}
