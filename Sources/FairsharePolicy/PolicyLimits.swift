/// The size limits of a policy file, checked by one linear scan (`PolicySourceIndex`) before
/// toml++ sees the text.
///
/// They bound the time and memory of parsing, and the recursion in toml++ (once per nesting
/// level) and in freeing the parsed Swift values, whatever the file holds. A real policy
/// uses a small fraction of each: the shipped ones are under 8 KB, at most 5 levels deep
/// (`group`, its element, `match`, `comm`, the array), with keys under 20 characters.
/// Breaking a limit is a located error that names it. The README's policy section lists them.
public struct PolicyLimits: Sendable, Equatable {
    /// Bytes in the file. A reader reads at most one byte more than this.
    public var fileBytes = 256 * 1024
    /// Levels a value sits beneath the root: each table name, key segment and array counts one.
    /// `comm = ["x"]` in `[group.match]` is 5 deep: group, its element, match, comm, the array.
    public var nestingDepth = 8
    /// Segments of one dotted key or table name (`a.b.c` has 3).
    public var dottedKeySegments = 8
    /// Characters (Unicode scalars, as written, quotes excluded) of one key segment.
    public var keyLength = 128
    /// `[[group]]` tables (or elements of an inline `group = [...]`).
    public var groups = 256
    /// Elements of one array.
    public var arrayElements = 1024
    /// Tables in all: `[table]` and `[[array]]` headers and inline `{ }` tables.
    public var tables = 1024
    /// Characters (Unicode scalars, as written) of one string value.
    public var stringLength = 4096

    public init() {}

    /// The limits the agent, `fairshare check` and the fuzz suite apply.
    public static let standard = PolicyLimits()
}

/// A limit the text broke, where it broke it.
struct PolicyLimitHit: Equatable {
    var position: PolicySourceIndex.Position
    var message: String
}

extension PolicyLimits {
    /// Where the byte after the first `fileBytes` bytes sits (the line and column of the
    /// character it belongs to), if there is such a byte; looks at no more than `fileBytes + 1`.
    func fileSizeHit<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> PolicyLimitHit? {
        var line = 1
        var nextColumn = 1
        var lastColumn = 1
        var seen = 0
        for byte in bytes {
            let isContinuation = byte & 0xC0 == 0x80  // belongs to the character before
            if !isContinuation { lastColumn = nextColumn }
            if seen == fileBytes {
                return PolicyLimitHit(
                    position: .init(line: line, column: lastColumn),
                    message: "the policy is larger than \(fileBytes) bytes (the limit on a policy file's size); a policy needs a few KB")
            }
            seen += 1
            if byte == UInt8(ascii: "\n") {
                line += 1
                nextColumn = 1
            } else if !isContinuation {
                nextColumn += 1
            }
        }
        return nil
    }
}

extension PolicyParser {
    /// The text of a policy file's bytes: more than `limits.fileBytes` bytes, or bytes that are not
    /// UTF-8, are an error at the line and column where they start (no silent U+FFFD: a policy is
    /// UTF-8 text, and a name that is not would match nothing). Looks at no more than
    /// `fileBytes + 1` bytes, so a reader need read no more.
    public static func text(of bytes: [UInt8], file: String, limits: PolicyLimits = .standard) throws(PolicyError) -> String {
        func error(_ position: PolicySourceIndex.Position, _ message: String) -> PolicyError {
            PolicyError(problems: [.init(location: SourceLocation(file: file, line: position.line, column: position.column), message: message)])
        }
        if let hit = limits.fileSizeHit(bytes) { throw error(hit.position, hit.message) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        // Not UTF-8: find where, counting lines and columns as the parser does.
        var decoder = Unicode.UTF8()
        var iterator = bytes.makeIterator()
        var position = PolicySourceIndex.Position.start
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                if scalar == "\n" {
                    position.line += 1
                    position.column = 1
                } else {
                    position.column += 1
                }
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)  // not reached: the bytes were not valid
            case .error:
                throw error(position, "the file is not UTF-8 text (an invalid byte sequence here); save the policy as UTF-8")
            }
        }
    }
}
