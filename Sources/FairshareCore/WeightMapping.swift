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
    public static func weights<R>(for shares: [GroupName: Shares]) -> [GroupName: Weight<R>] {
        let k = factor(for: shares.values)
        return shares.mapValues { Weight(clamping: Double($0.value * k)) }
    }

    /// Raw weights scaled down together so the largest fits 10000 (ratios kept), then each
    /// rounded and clamped: the controller's effective weights.
    public static func scaledIntoRange<R>(_ raw: [Double]) -> [Weight<R>] {
        let top = raw.max() ?? 1
        let limit = Double(weightRange.upperBound)
        let scale = top > limit ? limit / top : 1
        return raw.map { Weight(clamping: $0 * scale) }
    }
}
