#if canImport(Glibc)
import Glibc
#endif

/// A small deterministic random generator (SplitMix64), for replayable randomized tests and the
/// fuzz suite: a case is rebuilt from its seed alone, on any machine.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 0..<n (0 when n <= 1).
    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// Log-uniform in 1...max: mostly small, sometimes as large as allowed.
    public mutating func size(upTo max: Int) -> Int {
        let bits = log2(Double(Swift.max(max, 1)))
        let exponent = Double(next() >> 11) / Double(1 << 53) * bits
        return Swift.max(1, Swift.min(max, Int(exp2(exponent))))
    }

    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
