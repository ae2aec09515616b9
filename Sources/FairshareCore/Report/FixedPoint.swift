/// Numbers for people: a fixed number of decimals, without Foundation's formatters.
public enum FixedPoint {
    /// "12.5", "0.25", "-0.50"; "-" for a value that is not finite or too large to print.
    public static func format(_ x: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        guard x.isFinite, abs(x * scale) < 9e15 else { return "-" }
        let n = Int((x * scale).rounded())
        if places == 0 { return String(n) }
        let whole = abs(n) / Int(scale)
        let frac = String(abs(n) % Int(scale))
        return "\(n < 0 ? "-" : "")\(whole).\(String(repeating: "0", count: places - frac.count))\(frac)"
    }
}
