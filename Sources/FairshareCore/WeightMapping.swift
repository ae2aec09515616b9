/// Maps shares onto cgroup v2 weights (`cpu.weight`, `io.weight`, both 1...10000).
///
/// Weights only compare among siblings, so any common factor keeps the ratios, and a whole
/// factor keeps them exactly. The factor is chosen so the smallest share lands at the kernel's
/// default weight of 100 or just above it, where the range allows: tiny weights are rounded
/// coarsely by the scheduler (cpu.weight 1 is 10 in its units, 5 is 51: a 2% error), and weights
/// near 100 read naturally next to systemd's slices (CPUWeight= defaults to 100). The largest
/// weight never exceeds 10000.
public enum WeightMapping {
    public static let weightRange: ClosedRange<Int> = 1...10000
    public static let kernelDefaultWeight = 100

    /// The whole factor for a set of shares: ceil(100 / smallest), but no more than
    /// 10000 / largest, and at least 1.
    public static func factor(for shares: some Sequence<Shares>) -> Int {
        let values = shares.map(\.value)
        guard let smallest = values.min(), let largest = values.max() else { return 1 }
        let towardsDefault = (kernelDefaultWeight + smallest - 1) / smallest
        let withinRange = weightRange.upperBound / largest
        return max(1, min(towardsDefault, withinRange))
    }

    public static func weights(for shares: [GroupName: Shares]) -> [GroupName: Int] {
        let k = factor(for: shares.values)
        return shares.mapValues { $0.value * k }
    }
}
