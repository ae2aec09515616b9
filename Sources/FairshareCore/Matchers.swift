#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A shell glob (`*`, `?`, `[...]`) as fnmatch(3) understands it; `*` also crosses `/`,
/// so `/usr/bin/python3*` and `/user.slice/*` do what an admin reads into them.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String

    /// Fails for a pattern fnmatch can not use (an unterminated `[` class).
    public init?(_ pattern: String) {
        guard !pattern.isEmpty, Glob.bracketsBalanced(pattern) else { return nil }
        self.pattern = pattern
    }

    public func matches(_ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }

    public var description: String { pattern }

    private static func bracketsBalanced(_ p: String) -> Bool {
        var open = false
        var escaped = false
        for c in p {
            if escaped { escaped = false; continue }
            switch c {
            case "\\": escaped = true
            case "[": open = true
            case "]": open = false
            default: break
            }
        }
        return !open && !escaped
    }
}

/// A regular expression searched (not anchored) in the space-joined argv.
public struct Pattern: @unchecked Sendable, Hashable, CustomStringConvertible {
    // Regex is immutable once built; it is not declared Sendable in the standard library.
    public let source: String
    private let regex: Regex<AnyRegexOutput>

    /// Throws the compiler's message for an invalid expression.
    public init(_ source: String) throws {
        self.source = source
        self.regex = try Regex(source)
    }

    public func matches(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }

    public var description: String { source }
    public static func == (a: Pattern, b: Pattern) -> Bool { a.source == b.source }
    public func hash(into h: inout Hasher) { h.combine(source) }
}
