/// Maps shares onto cgroup v2 weights (`cpu.weight`, `io.weight`, both 1...10000).
///
/// Weights only compare among siblings, so any common factor keeps the ratios. The kernel
/// rounds small weights coarsely (cpu.weight 1 is 10 in the scheduler's units, 5 is 51: a 2%
/// error), so every share is multiplied by the largest whole factor that keeps the largest
/// weight within 10000. A whole factor keeps every ratio exact.
public enum WeightMapping {
    public static let weightRange: ClosedRange<Int> = 1...10000

    /// The factor for a set of shares: 10000 / max (integer division), at least 1.
    public static func factor(for shares: some Sequence<Shares>) -> Int {
        let largest = shares.map(\.value).max() ?? 1
        return max(1, weightRange.upperBound / largest)
    }

    public static func weights(for shares: [GroupName: Shares]) -> [GroupName: Int] {
        let k = factor(for: shares.values)
        return shares.mapValues { $0.value * k }
    }
}
