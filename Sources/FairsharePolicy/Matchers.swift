import CRE2

/// Why a cmdline pattern or a glob can not be used. The parser puts the policy's file:line:column
/// in front of the description.
public enum PatternError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The source is longer than `Pattern.maxSourceBytes`.
    case tooLong(bytes: Int)
    /// RE2 refused the expression (syntax, a Perl feature it does not have, or a program larger
    /// than `Pattern.maxProgramBytes`); RE2's own message.
    case rejected(String)
    /// A glob with an unterminated `[` class or a trailing `\`.
    case unterminatedGlob
    /// A glob with a collating symbol (`[.x.]`) or an equivalence class (`[=x=]`) in a class.
    case collatingElementInGlob

    public var description: String {
        switch self {
        case .tooLong(let bytes):
            "it is \(bytes) bytes long, over the limit of \(Pattern.maxSourceBytes) bytes"
        case .rejected(let message):
            "\(message) (RE2 syntax: no backreferences or lookaround)"
        case .unterminatedGlob:
            "an unterminated '[' class or a trailing '\\'"
        case .collatingElementInGlob:
            "'[.' or '[=' inside a '[...]' class (a collating symbol or an equivalence class), which globs here do not support; write the character itself"
        }
    }
}

/// A compiled RE2 program, freed exactly once (when the last Pattern or Glob holding it goes).
/// RE2 searches are const and thread-safe, and the program never changes after compiling: the
/// pointer may cross threads.
final class RE2Program: @unchecked Sendable {
    private let program: OpaquePointer

    /// - Parameter source: RE2 syntax; its size is bounded by the caller.
    init(_ source: String) throws(PatternError) {
        let capacity = 512
        var error = [CChar](repeating: 0, count: capacity)
        var source = source
        let compiled = source.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                cre2_compile(chars.baseAddress, chars.count, Pattern.maxProgramBytes, &error, capacity)
            }
        }
        guard let compiled else {
            throw .rejected(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        program = compiled
    }

    deinit { cre2_free(program) }

    /// True when the program matches somewhere in `text` (or, `whole`, all of it).
    func matches(_ text: String, whole: Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                whole ? cre2_full_match(program, chars.baseAddress, chars.count) != 0
                    : cre2_partial_match(program, chars.baseAddress, chars.count) != 0
            }
        }
    }
}

/// A shell glob (`*`, `?`, `[...]`, `[!...]`, `\` escapes) as fnmatch(3) without flags reads it;
/// `*` also crosses `/`, so `/usr/bin/python3*` and `/user.slice/*` do what an admin reads into
/// them. Translated once into an anchored RE2 program: matching takes time linear in the text,
/// where fnmatch backtracks (many `*` against a long path).
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let program: RE2Program

    /// Nil for a pattern `init(validating:)` refuses.
    public init?(_ pattern: String) {
        guard let glob = try? Glob(validating: pattern) else { return nil }
        self = glob
    }

    /// - Parameter escapes: false for FNM_NOESCAPE (`\` is an ordinary character).
    public init(validating pattern: String, escapes: Bool = true) throws(PatternError) {
        guard !pattern.isEmpty else { throw .unterminatedGlob }
        guard pattern.utf8.count <= Pattern.maxSourceBytes else { throw .tooLong(bytes: pattern.utf8.count) }
        let source = try Glob.regexSource(pattern, escapes: escapes)
        self.pattern = pattern
        self.program = try RE2Program(source)
    }

    public func matches(_ text: String) -> Bool {
        program.matches(text, whole: true)
    }

    public var description: String { pattern }
    public static func == (a: Glob, b: Glob) -> Bool { a.pattern == b.pattern }
    public func hash(into h: inout Hasher) { h.combine(pattern) }

    /// The RE2 expression (matched whole) for a glob. `(?s)`: `*`, `?` and negated classes match
    /// a newline, as in fnmatch.
    static func regexSource(_ glob: String, escapes: Bool) throws(PatternError) -> String {
        let chars = Array(glob.unicodeScalars)
        var out = "(?s)"
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "*":
                // A run of stars is one star: fewer states, same language.
                if !out.hasSuffix(".*") { out += ".*" }
            case "?":
                out += "."
            case "[":
                let (klass, next) = try bracketExpression(chars, from: i + 1, escapes: escapes)
                out += klass
                i = next
                continue
            case "\\" where escapes:
                guard i + 1 < chars.count else { throw .unterminatedGlob }
                out += literal(chars[i + 1])
                i += 1
            default:
                out += literal(c)
            }
            i += 1
        }
        return out
    }

    /// The RE2 class for the bracket expression whose content starts at `start` (just after `[`),
    /// and the index after its closing `]`.
    private static func bracketExpression(_ chars: [Unicode.Scalar], from start: Int, escapes: Bool) throws(PatternError) -> (String, Int) {
        var i = start
        var negated = false
        if i < chars.count, chars[i] == "!" || chars[i] == "^" {
            negated = true
            i += 1
        }
        var items: [String] = []
        var first = true
        while i < chars.count {
            var c = chars[i]
            if c == "]" && !first { break }
            first = false
            if c == "[", i + 1 < chars.count, chars[i + 1] == "." || chars[i + 1] == "=" { throw .collatingElementInGlob }
            // [:alpha:] and its kin, which RE2 knows by the same names.
            if c == "[", i + 1 < chars.count, chars[i + 1] == ":" {
                if let close = (i + 2..<chars.count).first(where: { chars[$0] == ":" && $0 + 1 < chars.count && chars[$0 + 1] == "]" }) {
                    let name = String(String.UnicodeScalarView(chars[(i + 2)..<close]))
                    guard posixClasses.contains(name) else { throw .unterminatedGlob }
                    items.append("[:\(name):]")
                    i = close + 2
                    continue
                }
            }
            if c == "\\" && escapes {
                guard i + 1 < chars.count else { throw .unterminatedGlob }
                i += 1
                c = chars[i]
            }
            let low = c
            i += 1
            // A range a-z; a '-' before the closing ']' is literal.
            if i + 1 < chars.count, chars[i] == "-", chars[i + 1] != "]" {
                var high = chars[i + 1]
                i += 2
                if high == "\\" && escapes {
                    guard i < chars.count else { throw .unterminatedGlob }
                    high = chars[i]
                    i += 1
                }
                // A reversed range matches nothing, as in fnmatch; RE2 would refuse it.
                if low.value <= high.value { items.append(classLiteral(low) + "-" + classLiteral(high)) }
                continue
            }
            items.append(classLiteral(low))
        }
        guard i < chars.count else { throw .unterminatedGlob }
        let next = i + 1
        if items.isEmpty {
            // Only reversed ranges: nothing matches, or (negated) any one character.
            return (negated ? "." : "[^\\x00-\\x{10FFFF}]", next)
        }
        return ((negated ? "[^" : "[") + items.joined() + "]", next)
    }

    private static let posixClasses: Set<String> = ["alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "xdigit"]

    /// A character as RE2 reads it literally, in or outside a class: ASCII other than letters and
    /// digits as a hex escape (never an operator, never an invalid escape), the rest as itself.
    private static func literal(_ c: Unicode.Scalar) -> String {
        let plain = ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || !c.isASCII
        return plain ? String(c) : "\\x{" + String(c.value, radix: 16) + "}"
    }

    private static func classLiteral(_ c: Unicode.Scalar) -> String { literal(c) }
}

/// A regular expression searched (not anchored) in the space-joined argv, with RE2's syntax.
///
/// RE2 rather than a backtracking engine with limits (PCRE2's match and depth limits): RE2
/// matches in time linear in the text and never gives up, so a match is always a true answer.
/// With PCRE2 a search that hits its limit has to be treated as "no match", and a user could
/// craft arguments that make their own process escape the group meant for it. The price is
/// RE2's syntax: no backreferences or lookaround. Compiled once per policy; the source and the
/// compiled program are bounded (`maxSourceBytes`, `maxProgramBytes`).
public struct Pattern: Sendable, Hashable, CustomStringConvertible {
    /// The longest pattern source a policy may hold.
    public static let maxSourceBytes = 1024
    /// RE2's max_mem for one program: the compiled program and its DFA cache. A larger
    /// program is refused ("pattern too large"); a DFA that fills its cache starts it afresh or
    /// falls back to RE2's NFA, still linear. Realistic patterns need a few kilobytes.
    public static let maxProgramBytes: Int64 = 128 << 10
    /// How many programs (cmdline patterns and exe/cgroup globs) one policy may hold: with
    /// `maxProgramBytes`, the agent's matching memory stays under 32 MB whatever the policy.
    public static let maxPerPolicy = 256

    public let source: String
    private let program: RE2Program

    public init(_ source: String) throws(PatternError) {
        guard source.utf8.count <= Pattern.maxSourceBytes else { throw .tooLong(bytes: source.utf8.count) }
        self.source = source
        self.program = try RE2Program(source)
    }

    public func matches(_ text: String) -> Bool {
        program.matches(text, whole: false)
    }

    public var description: String { source }
    public static func == (a: Pattern, b: Pattern) -> Bool { a.source == b.source }
    public func hash(into h: inout Hasher) { h.combine(source) }
}
