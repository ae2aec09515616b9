/// Where table headers, keys and array elements sit in a policy's source text.
///
/// TOMLKit's values carry no source positions, so the parser asks this index instead. It is a
/// small scan of the text that follows headers (`[agent]`, the n-th `[[group]]`,
/// `[group.match]`), keys (bare, quoted and dotted), inline tables and arrays, and skips
/// comments and strings, so a `[[group]]` inside a multi-line string is not a header. The same
/// scan finds the few invalid texts TOMLKit must not be given (`tomlTrap`). Columns count
/// Unicode scalars, as toml++ does in its syntax errors.
struct PolicySourceIndex {
    /// One step of a path into the document: a key, or an element of an array
    /// (the n-th `[[group]]` is element n of `group`).
    enum PathComponent: Hashable {
        case key(String)
        case index(Int)
    }

    typealias Path = [PathComponent]

    /// 1-based line and column.
    struct Position: Equatable, Comparable {
        var line: Int
        var column: Int

        static let start = Position(line: 1, column: 1)
        static func < (a: Position, b: Position) -> Bool { (a.line, a.column) < (b.line, b.column) }
    }

    /// `[table]` and `[[array]]` headers, by the path of the table they open.
    private(set) var headers: [Path: Position] = [:]
    /// Keys (at the first character of the key, also for every prefix of a dotted key) and
    /// array elements (at the element's first character).
    private(set) var entries: [Path: Position] = [:]
    /// `\u0000` escapes in basic strings and quoted keys: toml++ accepts them, TOMLKit cuts the
    /// string there, so the parser rejects them.
    private(set) var nulEscapes: [Position] = []
    /// The first thing TOMLKit must not be given, with the message to report instead.
    ///
    /// A NUL: TOMLKit hands the text to toml++ as a C string, which would silently end there.
    /// And text where toml++ 3.4 asserts, instead of checking, that something can not happen (its
    /// debug build aborts, its release build assumes it away): a table header with no name after
    /// its `[` (`[` at the end of a line, `[=`), an array element starting with `}`, NEL (U+0085),
    /// LS or PS (U+2028, U+2029) where a value starts, a date whose time does not start with two
    /// digits (`1979-05-27T:`). NEL, LS and PS have no place in a policy and are refused anywhere.
    private(set) var tomlTrap: (position: Position, message: String)?

    /// Scans `text`, which may be invalid TOML: the scan then still ends, and the positions are
    /// good up to the first syntax error.
    init(scanning text: String) {
        var scanner = Scanner(text)
        scanner.scanDocument()
        headers = scanner.headers
        entries = scanner.entries
        nulEscapes = scanner.nulEscapes
        tomlTrap = scanner.tomlTrap
    }

    func header(_ path: Path) -> Position? { headers[path] }
    func entry(_ path: Path) -> Position? { entries[path] }

    /// The best position for `path`: its header or key; else the first thing written beneath it
    /// (a table only implied by `[group.match]`); else the nearest ancestor; else the file's start.
    func locate(_ path: Path) -> Position {
        if let p = headers[path] ?? entries[path] { return p }
        let beneath = headers.merging(entries) { header, _ in header }.filter { $0.key.starts(with: path) }.values
        if let first = beneath.min() { return first }
        var ancestor = path
        while !ancestor.isEmpty {
            ancestor.removeLast()
            if let p = headers[ancestor] ?? entries[ancestor] { return p }
        }
        return .start
    }
}

extension PolicySourceIndex {
    /// A forgiving single-pass scanner. It follows valid TOML; on anything else it must still not
    /// trap or loop: every step consumes input or stops.
    fileprivate struct Scanner {
        private let chars: [Unicode.Scalar]
        private var i = 0
        private var line = 1
        private var column = 1

        var headers: [Path: Position] = [:]
        var entries: [Path: Position] = [:]
        var nulEscapes: [Position] = []
        var tomlTrap: (position: Position, message: String)?
        /// How many `[[x]]` headers each array-of-tables path has had so far.
        private var arrayTableCounts: [Path: Int] = [:]
        private static let maxDepth = 128

        init(_ text: String) {
            var scalars = Array(text.unicodeScalars)
            if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
            chars = scalars
        }

        private var atEnd: Bool { i >= chars.count }
        private var position: Position { Position(line: line, column: column) }

        private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            let j = i + offset
            return j < chars.count ? chars[j] : nil
        }

        private mutating func advance() {
            guard i < chars.count else { return }
            if chars[i] == "\0" {
                noteTrap("the file contains a NUL byte; a policy must be UTF-8 text")
            } else if chars[i] == "\u{85}" || chars[i] == "\u{2028}" || chars[i] == "\u{2029}" {
                noteTrap("the file contains \(chars[i].codePoint), a Unicode line break; replace it with a newline (\\n) or a space")
            }
            if chars[i] == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            i += 1
        }

        private mutating func advance(_ n: Int) {
            for _ in 0..<n { advance() }
        }

        private mutating func noteTrap(_ message: String, at start: Position? = nil) {
            if tomlTrap == nil { tomlTrap = (start ?? position, message) }
        }

        private mutating func skipSpaces() {
            while let c = peek(), c == " " || c == "\t" { advance() }
        }

        private mutating func skipToEndOfLine() {
            while let c = peek(), c != "\n" { advance() }
        }

        /// Spaces, newlines and comments, as allowed between array elements.
        private mutating func skipSpacesNewlinesComments() {
            while let c = peek() {
                if c == " " || c == "\t" || c == "\n" || (c == "\r" && peek(1) == "\n") {
                    advance()
                } else if c == "#" {
                    skipToEndOfLine()
                } else {
                    return
                }
            }
        }

        mutating func scanDocument() {
            var table: Path = []
            while !atEnd {
                let before = i
                skipSpaces()
                guard let c = peek() else { break }
                if c == "\n" || c == "\r" {
                    advance()
                } else if c == "#" {
                    skipToEndOfLine()
                } else if c == "[" {
                    if let opened = scanHeader() { table = opened }
                    skipToEndOfLine()
                } else {
                    scanKeyValue(in: table, depth: 0)
                    skipToEndOfLine()
                }
                if i == before { advance() }
            }
        }

        /// `[a.b]` or `[[a.b]]`; returns the path of the table it opens.
        private mutating func scanHeader() -> Path? {
            let start = position
            let isArray = peek(1) == "["
            advance(isArray ? 2 : 1)
            let hadSpace = peek() == " " || peek() == "\t"
            skipSpaces()
            if let c = peek(), !(Scanner.isBareKeyChar(c) || c == "\"" || c == "'" || c == "]" || (c == "[" && !isArray && hadSpace)) {
                noteTrap("invalid TOML: expected a table name after '[', saw \(c.escapedForMessage)")
            }
            guard let keys = scanKey(), !keys.isEmpty else { return nil }
            let parent = resolve(Array(keys.dropLast()))
            var path = parent + [.key(keys[keys.count - 1])]
            if isArray {
                let n = arrayTableCounts[path, default: 0]
                arrayTableCounts[path] = n + 1
                path.append(.index(n))
            } else {
                path = resolve(keys)
            }
            if headers[path] == nil { headers[path] = start }
            return path
        }

        /// Maps header keys to a path, stepping into the latest element of each array of tables
        /// on the way (`[group.match]` belongs to the last `[[group]]`).
        private func resolve(_ keys: [String]) -> Path {
            var path: Path = []
            for k in keys {
                path.append(.key(k))
                if let n = arrayTableCounts[path], n > 0 { path.append(.index(n - 1)) }
            }
            return path
        }

        /// `key = value` (the key possibly dotted), inside `table`.
        private mutating func scanKeyValue(in table: Path, depth: Int) {
            let start = position
            guard let keys = scanKey(), !keys.isEmpty else { return }
            var path = table
            for k in keys {
                path.append(.key(k))
                if entries[path] == nil { entries[path] = start }
            }
            skipSpaces()
            guard peek() == "=" else { return }
            advance()
            skipSpaces()
            scanValue(at: path, depth: depth)
        }

        /// One or more simple keys joined by dots; nil when there is no key here.
        private mutating func scanKey() -> [String]? {
            var keys: [String] = []
            while true {
                skipSpaces()
                guard let c = peek() else { return keys.isEmpty ? nil : keys }
                var key = ""
                if c == "\"" {
                    advance()
                    key = scanBasicStringBody()
                } else if c == "'" {
                    advance()
                    while let d = peek(), d != "'", d != "\n" {
                        key.unicodeScalars.append(d)
                        advance()
                    }
                    advance()
                } else if Scanner.isBareKeyChar(c) {
                    while let d = peek(), Scanner.isBareKeyChar(d) {
                        key.unicodeScalars.append(d)
                        advance()
                    }
                } else {
                    return keys.isEmpty ? nil : keys
                }
                keys.append(key)
                skipSpaces()
                guard peek() == "." else { return keys }
                advance()
            }
        }

        /// A date whose time does not start with two digits: `1979-05-27T:` or `1979-05-27 1#`.
        /// Never valid TOML, and toml++ asserts, rather than checks, that the time's digits are
        /// there. `token` is the value up to the first space; `next` are the three scalars after it.
        /// The date shape is as loose as toml++'s own guesses (digits and '-'; it skips '_' when
        /// guessing the type of `YYYY-MM-DD HH:MM:SS` but not when reading `YYYY-MM-DDTHH:MM:SS`).
        private static func isDateWithBrokenTime(_ token: [Unicode.Scalar], then next: Unicode.Scalar?...) -> Bool {
            func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { ("0"..."9").contains($0) } ?? false }
            func looksLikeDate(_ c: [Unicode.Scalar]) -> Bool {
                c.count >= 10 && isDigit(c[0]) && c[4] == "-" && c[7] == "-" && c[..<10].allSatisfy { isDigit($0) || $0 == "-" }
            }
            let withoutUnderscores = token.filter { $0 != "_" }
            if withoutUnderscores.count == 10 && looksLikeDate(withoutUnderscores) && next[0] == " " && isDigit(next[1]) && !isDigit(next[2]) {
                return true
            }
            return token.count > 10 && looksLikeDate(token) && (token[10] == "T" || token[10] == "t") && !(token.count > 11 && isDigit(token[11]))
        }

        private static func isBareKeyChar(_ c: Unicode.Scalar) -> Bool {
            ("A"..."Z").contains(c) || ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
        }

        private mutating func scanValue(at path: Path, depth: Int) {
            guard depth < Scanner.maxDepth, let c = peek() else { return }
            switch c {
            case "\"":
                if peek(1) == "\"" && peek(2) == "\"" {
                    advance(3)
                    scanMultilineString(quote: "\"")
                } else {
                    advance()
                    _ = scanBasicStringBody()
                }
            case "'":
                if peek(1) == "'" && peek(2) == "'" {
                    advance(3)
                    scanMultilineString(quote: "'")
                } else {
                    advance()
                    while let d = peek(), d != "'", d != "\n" { advance() }
                    advance()
                }
            case "[":
                advance()
                var n = 0
                while true {
                    skipSpacesNewlinesComments()
                    guard let d = peek() else { return }
                    if d == "]" {
                        advance()
                        return
                    }
                    if d == "," {
                        advance()
                        continue
                    }
                    if d == "}" { noteTrap("invalid TOML: expected a value or ']' in the array, saw '}'") }
                    let before = i
                    let element = path + [.index(n)]
                    if entries[element] == nil { entries[element] = position }
                    scanValue(at: element, depth: depth + 1)
                    n += 1
                    if i == before { advance() }
                }
            case "{":
                advance()
                while true {
                    skipSpaces()
                    guard let d = peek(), d != "\n" else { return }
                    if d == "}" {
                        advance()
                        return
                    }
                    if d == "," {
                        advance()
                        continue
                    }
                    let before = i
                    scanKeyValue(in: path, depth: depth + 1)
                    if i == before { advance() }
                }
            default:
                // Numbers, booleans, dates: up to the next delimiter.
                let start = position
                var token: [Unicode.Scalar] = []
                while let d = peek(), !" \t\r\n,]}#".unicodeScalars.contains(d) {
                    token.append(d)
                    advance()
                }
                if Scanner.isDateWithBrokenTime(token, then: peek(), peek(1), peek(2)) {
                    noteTrap("invalid TOML: expected a time (HH:MM:SS) after the date", at: start)
                }
            }
        }

        /// After the opening `"`: reads up to and including the closing quote, decoding escapes
        /// roughly (enough for quoted keys) and noting `\u0000`.
        private mutating func scanBasicStringBody() -> String {
            var out = ""
            while let c = peek(), c != "\n" {
                if c == "\"" {
                    advance()
                    return out
                }
                if c == "\\" {
                    scanEscape(into: &out)
                } else {
                    out.unicodeScalars.append(c)
                    advance()
                }
            }
            return out
        }

        private mutating func scanEscape(into out: inout String) {
            let start = position
            advance()  // the backslash
            guard let e = peek() else { return }
            let simple: [Unicode.Scalar: Unicode.Scalar] = ["b": "\u{8}", "t": "\t", "n": "\n", "f": "\u{C}", "r": "\r", "e": "\u{1B}", "\"": "\"", "\\": "\\"]
            if let s = simple[e] {
                out.unicodeScalars.append(s)
                advance()
            } else if e == "u" || e == "U" {
                let count = e == "u" ? 4 : 8
                advance()
                var hex = ""
                for _ in 0..<count {
                    guard let h = peek(), h.properties.isASCIIHexDigit else { break }
                    hex.unicodeScalars.append(h)
                    advance()
                }
                if let v = UInt32(hex, radix: 16) {
                    if v == 0 { nulEscapes.append(start) }
                    if let s = Unicode.Scalar(v) { out.unicodeScalars.append(s) }
                }
            }
            // Anything else (a line-ending backslash in a multi-line string) is left to the caller.
        }

        /// After the opening `"""` or `'''`: up to and including the closing run of quotes
        /// (a closing run may be up to five quotes long: two belong to the string).
        private mutating func scanMultilineString(quote: Unicode.Scalar) {
            var ignored = ""
            while let c = peek() {
                if c == quote && peek(1) == quote && peek(2) == quote {
                    var run = 0
                    while peek() == quote && run < 5 {
                        advance()
                        run += 1
                    }
                    return
                }
                if quote == "\"" && c == "\\" {
                    scanEscape(into: &ignored)
                } else {
                    advance()
                }
            }
        }
    }
}
