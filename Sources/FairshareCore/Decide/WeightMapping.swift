/// Maps shares onto cgroup v2 weights (`cpu.weight`, `io.weight`, both 1...10000).
///
/// Weights only compare among siblings, so any common factor keeps the ratios, and a whole
/// factor keeps them exactly. The factor is chosen so the smallest share lands at the kernel's
/// default weight of 100 or just above it, where the range allows: tiny weights are rounded
/// coarsely by the scheduler (cpu.weight 1 is 10 in its units, 5 is 51: a 2% error), and weights
/// near 100 read naturally next to systemd's slices (CPUWeight= defaults to 100). The largest
/// weight never exceeds 10000.
public enum WeightMapping {
    public static var weightRange: ClosedRange<Int> { CPUWeight.range }
    public static var kernelDefaultWeight: Int { CPUWeight.kernelDefault.value }

    /// The whole factor for a set of shares: ceil(100 / smallest), but no more than
    /// 10000 / largest, and at least 1.
    public static func factor(for shares: some Sequence<Shares>) -> Int {
        let values = shares.map(\.value)
        guard let smallest = values.min(), let largest = values.max() else { return 1 }
        let towardsDefault = (kernelDefaultWeight + smallest - 1) / smallest
        let withinRange = weightRange.upperBound / largest
        return max(1, min(towardsDefault, withinRange))
    }

    /// Shares x the whole factor: always within 1...10000 (the factor sees to it).
    public static func weights<R: WeightFile>(for shares: [GroupName: Shares]) -> [GroupName: Weight<R>] {
        let k = factor(for: shares.values)
        return shares.mapValues { Weight(clamping: Double($0.value * k)) }
    }

    /// Raw weights scaled down together so the largest fits 10000 (ratios kept), then each
    /// rounded and clamped: the controller's effective weights.
    public static func scaledIntoRange<R: WeightFile>(_ raw: [Double]) -> [Weight<R>] {
        let top = raw.max() ?? 1
        let limit = Double(weightRange.upperBound)
        let scale = top > limit ? limit / top : 1
        return raw.map { Weight(clamping: $0 * scale) }
    }
}

/// io shares onto BFQ's io.bfq.weight (1...1000): the same one-factor rule in a tenth of the
/// range. While the largest share fits, the factor is whole and every ratio is exact; beyond
/// that one fractional factor scales all down so the largest is 1000, and a group whose weight
/// then rounds (or pins at 1) away from its share by more than 1% is named as not kept.
public enum BFQWeightMapping {
    public struct Result: Sendable, Equatable {
        public var weights: [GroupName: BFQWeight]
        /// Groups whose ratio to the others BFQ's range can not hold, sorted.
        public var unkept: [GroupName]
        /// The factor applied to the shares.
        public var factor: Double
    }

    public static func weights(for shares: [GroupName: Shares]) -> Result {
        let values = shares.values.map(\.value)
        guard let smallest = values.min(), let largest = values.max() else { return Result(weights: [:], unkept: [], factor: 1) }
        let top = BFQWeight.range.upperBound
        let factor: Double = largest <= top
            ? Double(max(1, min((BFQWeight.kernelDefault.value + smallest - 1) / smallest, top / largest)))
            : Double(top) / Double(largest)
        var weights: [GroupName: BFQWeight] = [:]
        var unkept: [GroupName] = []
        for (g, s) in shares {
            let exact = Double(s.value) * factor
            let w = BFQWeight(clamping: exact)
            weights[g] = w
            if abs(Double(w.value) - exact) > 0.01 * exact { unkept.append(g) }
        }
        return Result(weights: weights, unkept: unkept.sorted(), factor: factor)
    }
}

/// The policy's shares as the kernel's weights (the one mapping, used by every stage).
extension Policy {
    /// cpu.weight / CPUWeight per group: one whole factor over every group, agent-owned and
    /// unit-backed alike, so shares 2 beside 1 : 2 : 5 is CPUWeight 200, twice a default unit.
    /// Idle groups have none (cpu.idle = 1 in its place) and take no part in the scale.
    /// Nested groups and users' subgroups are weighed among their siblings only, each level on
    /// its own scale (the kernel compares weights among siblings only).
    public func cpuWeights() -> [GroupName: CPUWeight] {
        bySiblings(groups.filter { !$0.idle }) { WeightMapping.weights(for: Dictionary(uniqueKeysWithValues: $0.map { ($0.name, $0.shares) })) }
    }

    public func ioWeights() -> [GroupName: IOWeight] {
        bySiblings(groups) { WeightMapping.weights(for: Dictionary(uniqueKeysWithValues: $0.map { ($0.name, $0.ioShares) })) }
    }

    /// io.bfq.weight per agent group (BFQ's 1...1000). Unit-backed groups are left to systemd,
    /// which maps IOWeight= onto BFQ's range itself.
    public func bfqWeights() -> BFQWeightMapping.Result {
        var result = BFQWeightMapping.Result(weights: [:], unkept: [], factor: 1)
        for (i, level) in Dictionary(grouping: agentGroups, by: \.parent).sorted(by: { ($0.key?.rawValue ?? "") < ($1.key?.rawValue ?? "") }).enumerated() {
            let r = BFQWeightMapping.weights(for: Dictionary(uniqueKeysWithValues: level.value.map { ($0.name, $0.ioShares) }))
            result.weights.merge(r.weights) { a, _ in a }
            result.unkept = (result.unkept + r.unkept).sorted()
            if i == 0 || level.key == nil { result.factor = r.factor }
        }
        return result
    }

    /// One mapping per set of siblings, merged.
    private func bySiblings<W>(_ groups: [GroupPolicy], _ map: ([GroupPolicy]) -> [GroupName: W]) -> [GroupName: W] {
        var weights: [GroupName: W] = [:]
        for (_, level) in Dictionary(grouping: groups, by: \.parent) { weights.merge(map(level)) { a, _ in a } }
        return weights
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
