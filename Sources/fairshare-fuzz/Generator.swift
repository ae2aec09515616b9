/// Seeded inputs for the policy front end: mutations of the shipped policies and the shapes
/// that once took gigabytes, minutes or the stack (issue 8), up to 1 MB.
///
/// Input `n` of seed `s` depends on nothing else, so a batch can run in a child process and a
/// crash can be rebuilt from (seed, n) alone.

import FairshareTestSupport

#if canImport(Glibc)
import Glibc
#endif

enum Shape: String, CaseIterable {
    case mutatedPolicy = "mutated-policy"
    case splicedPolicies = "spliced-policies"
    case deepArrays = "deep-arrays"
    case deepInlineTables = "deep-inline-tables"
    case bracketFlood = "bracket-flood"
    case longDottedKey = "long-dotted-key"
    case impliedTables = "implied-tables"
    case manyGroups = "many-groups"
    case hugeArray = "huge-array"
    case longString = "long-string"
    case longKey = "long-key"
    case nulBytes = "nul-bytes"
    case invalidUTF8 = "invalid-utf8"
    case crlf = "crlf"
    case randomBytes = "random-bytes"
    case tokenSoup = "token-soup"
}

struct Generator {
    /// The largest input: the issue's bound is on every input up to 1 MB.
    static let maxBytes = 1 << 20
    let seeds: [[UInt8]]

    init(seeds: [[UInt8]]) {
        self.seeds = seeds.isEmpty ? [Array("[[group]]\nname = \"a\"\nshares = 1\n[group.match]\ncomm = \"x\"\n".utf8)] : seeds
    }

    /// Input `n` of `seed`: its shape and bytes.
    func input(seed: UInt64, number n: Int, only: Shape? = nil) -> (shape: Shape, bytes: [UInt8]) {
        var r = SplitMix64(seed: seed ^ (UInt64(n) &* 0xD6E8_FEB8_6659_FD93))
        _ = r.next()
        // Half mutations of real policies, half the hostile shapes.
        let shape: Shape = only ?? (r.chance(50) ? r.pick([.mutatedPolicy, .mutatedPolicy, .splicedPolicies, .crlf]) : r.pick(Array(Shape.allCases.dropFirst(2))))
        return (shape, make(shape, &r))
    }

    private func make(_ shape: Shape, _ r: inout SplitMix64) -> [UInt8] {
        let size = r.size(upTo: Self.maxBytes)
        let prefixes = ["", "a = ", "[[group]]\nname = \"g\"\nshares = 1\n[group.match]\ncmdline = ", "[agent]\n", "x = 1\n"]
        func repeated(_ unit: String, toFill bytes: Int) -> [UInt8] {
            let u = Array(unit.utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes + u.count)
            while out.count < bytes { out += u }
            return out
        }
        switch shape {
        case .mutatedPolicy:
            var text = r.pick(seeds)
            for _ in 0..<(1 + r.below(8)) { mutate(&text, &r) }
            return Array(text.prefix(Self.maxBytes))
        case .splicedPolicies:
            let a = r.pick(seeds), b = r.pick(seeds)
            var text = Array(a.prefix(r.below(a.count + 1))) + Array(b.suffix(r.below(b.count + 1)))
            if r.chance(50) { mutate(&text, &r) }
            return text
        case .deepArrays:
            let depth = r.size(upTo: size / 2 + 1)
            return Array(r.pick(prefixes).utf8) + repeated("[", toFill: depth) + (r.chance(50) ? Array("1".utf8) + repeated("]", toFill: depth) : [])
        case .deepInlineTables:
            return Array(r.pick(prefixes).utf8) + repeated(r.pick(["{a=", "{ a.b = ", "[{a="]), toFill: size)
        case .bracketFlood:
            return repeated(r.pick(["[", "[[", "[a.", "[ ", "{", "["]), toFill: size)
        case .longDottedKey:
            // '.'.join(['a'] * n) + ' = 1', and as a table name.
            let key = repeated(r.pick(["a.", "\"k\".", "'k'.", "a . "]), toFill: size)
            return r.chance(50) ? key + Array("a = 1\n".utf8) : Array("[".utf8) + key + Array("a]\nb = 1\n".utf8)
        case .impliedTables:
            var out: [UInt8] = []
            var k = 0
            let unit = r.pick(["[k%.x]\n", "[[k%.x]]\n", "k%.x = 1\n", "[group.k%]\n", "[[group]]\nname = \"g%\"\nshares = 1\n"])
            while out.count < size {
                out += Array(unit.replacing("%", with: String(k)).utf8)
                k += 1
            }
            return out
        case .manyGroups:
            return repeated("[[group]]\nname = \"g\"\nshares = 1\n[group.match]\ncomm = [\"a\"]\n", toFill: size)
        case .hugeArray:
            return Array(r.pick(prefixes).utf8) + Array("[".utf8) + repeated(r.pick(["1,", "\"a\",", "[],", "{},", "1,\n"]), toFill: size) + Array("]".utf8)
        case .longString:
            let quote = r.pick(["\"", "'", "\"\"\"", "'''"])
            return Array((r.pick(prefixes) + quote).utf8) + repeated(r.pick(["a", "\\n", "é", "[", "\\u0041"]), toFill: size) + Array(quote.utf8)
        case .longKey:
            let key = repeated(r.pick(["k", "é"]), toFill: size)
            return r.chance(50) ? key + Array(" = 1\n".utf8) : Array("\"".utf8) + key + Array("\" = 1\n".utf8)
        case .nulBytes:
            var text = r.pick(seeds)
            for _ in 0..<(1 + r.below(4)) { text.insert(0, at: r.below(text.count + 1)) }
            return text
        case .invalidUTF8:
            var text = r.pick(seeds)
            let bad: [[UInt8]] = [[0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xC0, 0xAF]]
            for _ in 0..<(1 + r.below(4)) { text.insert(contentsOf: r.pick(bad), at: r.below(text.count + 1)) }
            return text
        case .crlf:
            var out: [UInt8] = []
            for b in r.pick(seeds) {
                if b == UInt8(ascii: "\n") { out += r.chance(90) ? [13, 10] : [13] } else { out.append(b) }
            }
            return out
        case .randomBytes:
            let n = r.size(upTo: size)
            var out = [UInt8](repeating: 0, count: n)
            let printable = r.chance(50)
            for i in 0..<n {
                let v = UInt8(truncatingIfNeeded: r.next())
                out[i] = printable ? 32 + v % 95 : v
            }
            return out
        case .tokenSoup:
            let tokens = ["[", "]", "[[", "]]", "{", "}", "=", ",", ".", "\"", "'", "\"\"\"", "\n", "\r\n", " ", "#", "a", "group", "match", "1", "1979-05-27T", "\\", "\\u0000", "é", "\u{2028}", "true", "inf"]
            var out: [UInt8] = []
            let n = r.size(upTo: min(size, 4096))
            for _ in 0..<n { out += Array(r.pick(tokens).utf8) }
            return out
        }
    }

    private func mutate(_ text: inout [UInt8], _ r: inout SplitMix64) {
        let fragments = ["[", "]", "[[group]]\n", "[group.match]\n", "\"", "'", "=", "\n", "#", "{", "}", ",", ".", "0", "\\", "a.b.c", "\u{0}", "\r\n", "é", "\u{FEFF}", "= [", "-1", "1e999", "\"\\u0000\"", "shares = 1\n", "name = \"x\"\n"]
        let at = r.below(text.count + 1)
        switch r.below(6) {
        case 0:
            if !text.isEmpty { text[min(at, text.count - 1)] = UInt8(truncatingIfNeeded: r.next()) }
        case 1:
            text.insert(contentsOf: Array(r.pick(fragments).utf8), at: at)
        case 2:
            let end = min(text.count, at + r.size(upTo: 64))
            text.removeSubrange(at..<end)
        case 3:
            // Repeat a piece many times: the quadratic shapes hide in repetition.
            let end = min(text.count, at + r.size(upTo: 256))
            guard at < end else { return }
            let piece = Array(text[at..<end])
            let times = r.size(upTo: max(1, (Self.maxBytes - text.count) / max(1, piece.count)))
            var repeated: [UInt8] = []
            repeated.reserveCapacity(piece.count * times)
            for _ in 0..<times { repeated += piece }
            text.insert(contentsOf: repeated, at: end)
        case 4:
            text = Array(text.prefix(at))
        default:
            let other = r.pick(seeds)
            let from = r.below(other.count + 1)
            text.insert(contentsOf: other[from..<min(other.count, from + r.size(upTo: 512))], at: at)
        }
        if text.count > Self.maxBytes { text = Array(text.prefix(Self.maxBytes)) }
    }
}
