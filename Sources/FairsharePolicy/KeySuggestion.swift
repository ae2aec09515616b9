/// "did you mean ...?" for a misspelt key.
enum KeySuggestion {
    /// The known key closest to `key` by edit distance, if within `maxDistance` (first wins a tie).
    static func closest(to key: String, in known: [String], maxDistance: Int = 2) -> String? {
        let a = Array(key.lowercased().unicodeScalars)
        var best: (key: String, distance: Int)?
        for candidate in known {
            let b = Array(candidate.unicodeScalars)
            guard abs(a.count - b.count) <= maxDistance else { continue }
            let d = editDistance(a, b)
            if d <= maxDistance, d < (best?.distance ?? .max) { best = (candidate, d) }
        }
        return best?.key
    }

    /// Levenshtein distance: insertions, deletions and substitutions.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
