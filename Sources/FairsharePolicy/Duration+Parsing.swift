/// Durations in the policy and on the command line: "250ms", "2s", "1.5s", "5m", "1h".
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let t = text.trimmingSpaces()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count)
            // "5ms" also ends in "s": only accept when what remains is a number.
            guard let value = Double(number), value.isFinite, value >= 0, !number.isEmpty,
                number.allSatisfy({ $0.isNumber || $0 == "." })
            else { continue }
            // Int64(_:) traps on a value it can not hold ("99999999999999999h").
            let ms = (value * seconds * 1000).rounded()
            guard ms < Double(Int64.max) else { return nil }
            return .milliseconds(Int64(ms))
        }
        return nil
    }

    public static func format(_ d: Duration) -> String {
        let ms = d.milliseconds
        if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

extension Duration {
    public var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }

    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

extension StringProtocol {
    /// Without the leading and trailing blanks (space, tab, CR, LF): no Foundation needed.
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
