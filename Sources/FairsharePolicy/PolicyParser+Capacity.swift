extension PolicyParser {
    /// Problems that depend on the root's capacity in CPUs (the agent calls this at load and
    /// reload with the real capacity; `fairshare check` with this machine's CPU count).
    ///
    /// With every amount in CPUs: the groups' `min` must add up to at most `capacity`, and within
    /// each group `min <= max <= burst`. A `max` or `burst` above the capacity is fine (it never
    /// binds). Each problem is located at the group's `[[group]]` header, column 1.
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
            let pairs: [(String, CPUAmount?, String, CPUAmount?)] = [
                ("min", group.floor, "max", group.ceiling),
                ("max", group.ceiling, "burst", group.burst),
            ] + (group.ceiling == nil ? [("min", group.floor, "burst", group.burst)] : [])
            for (lowKey, low, highKey, high) in pairs {
                guard let low, let high, low.cpus(capacity: capacity) > high.cpus(capacity: capacity) + tolerance else { continue }
                report(
                    group,
                    "in \(label), \(lowKey) \(describe(low)) is larger than \(highKey) \(describe(high)) on a root with \(PolicyValidator.describeCPUs(capacity)); expected \(lowKey) <= \(highKey)"
                )
            }
        }

        let floors = policy.groups.compactMap { g in g.floor.map { (group: g, amount: $0, cpus: $0.cpus(capacity: capacity)) } }
        let total = floors.reduce(0) { $0 + $1.cpus }
        if total > capacity + tolerance {
            // Blame the group whose min makes the running sum exceed the capacity.
            var sum = 0.0
            let culprit = floors.first { sum += $0.cpus; return sum > capacity + tolerance } ?? floors[floors.count - 1]
            let terms = floors.map { "\($0.group.name) \(describe($0.amount))" }.joined(separator: " + ")
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
    public static func validate(_ text: String, file: String, capacity: Double) throws(PolicyError) -> Policy {
        let policy = try parse(text, file: file)
        let problems = capacityProblems(policy, capacity: capacity)
        if !problems.isEmpty { throw PolicyError(problems: problems) }
        return policy
    }
}
