/// Where table headers, keys and array elements sit in a policy's source text, and the first
/// `PolicyLimits` the text breaks.
///
/// Parsed TOML values carry no source positions, so the parser asks this index instead. It is a
/// small scan of the text that follows headers (`[agent]`, the n-th `[[group]]`,
/// `[group.match]`), keys (bare, quoted and dotted), inline tables and arrays, and skips
/// comments and strings, so a `[[group]]` inside a multi-line string is not a header. The same
/// scan finds the few invalid texts toml++ must not be given (`tomlTrap`) and checks the
/// limits (`limitHit`), stopping at the first one broken. Columns count Unicode scalars, as
/// toml++ does in its syntax errors.
///
/// Linear in time and memory: every path is a node stored once, beneath its parent, so a dotted
/// key or a table name adds one node per segment it names, never a copy of its prefix; the scan
/// recurses only into arrays and inline tables, at most `PolicyLimits.nestingDepth` deep.
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

    /// A path that was written (a header, a key, an array element) or implied by one written
    /// beneath it (`a` by `[a.b]`). 32 bytes: a 256 KiB policy can have 100,000 of them.
    fileprivate struct Node {
        /// `[table]` or `[[array]]` that opened this table.
        var header = PackedPosition.none
        /// The key (at its first character, also for every prefix of a dotted key) or array element.
        var entry = PackedPosition.none
        /// Where the first thing at or beneath this path was written: nodes are made in text order,
        /// so this is the earliest position in the subtree.
        var first: PackedPosition
        /// Levels beneath the root (the number of components of the path).
        var depth: Int32
        /// How many `[[x]]` headers this path has had.
        var arrayTables: Int32 = 0
    }

    fileprivate struct PackedPosition {
        var line: UInt32
        var column: UInt32
        static let none = PackedPosition(line: 0, column: 0)

        init(line: UInt32, column: UInt32) {
            self.line = line
            self.column = column
        }

        init(_ p: Position) {
            line = UInt32(clamping: p.line)
            column = UInt32(clamping: p.column)
        }

        var position: Position? { line == 0 ? nil : Position(line: Int(line), column: Int(column)) }
    }

    /// Node 0 is the root.
    fileprivate private(set) var nodes: [Node] = [Node(first: PackedPosition(.start), depth: 0)]
    /// A node's children by (parent << 32 | component code): an array index n is 2n + 1, a key
    /// is twice its number in `keyNumbers`. Small fixed-size keys, hashed without the strings.
    fileprivate private(set) var children: [UInt64: Int32] = [:]
    fileprivate private(set) var keyNumbers: [String: UInt32] = [:]
    /// `\u0000` escapes in basic strings and quoted keys: toml++ accepts them, but a NUL has no
    /// place in a name, a pattern or a path (C strings end there), so the parser rejects them.
    private(set) var nulEscapes: [Position] = []
    /// The first thing toml++ must not be given, with the message to report instead.
    ///
    /// A NUL: no policy has one, and a C string would silently end there.
    /// And text where toml++ 3.4 asserts, instead of checking, that something can not happen (its
    /// debug build aborts, its release build assumes it away): a table header with no name after
    /// its `[` (`[` at the end of a line, `[=`), an array element starting with `}`, NEL (U+0085),
    /// LS or PS (U+2028, U+2029) where a value starts, a date whose time does not start with two
    /// digits (`1979-05-27T:`). NEL, LS and PS have no place in a policy and are refused anywhere.
    private(set) var tomlTrap: (position: Position, message: String)?
    /// The first limit the text breaks; the scan stopped there.
    private(set) var limitHit: PolicyLimitHit?

    /// Scans `text`, which may be invalid TOML: the scan then still ends, and the positions are
    /// good up to the first syntax error or broken limit. The file's size is the caller's to check
    /// (`PolicyLimits.fileSizeHit`), before it makes the text.
    init(scanning text: String, limits: PolicyLimits = .standard) {
        var scanner = Scanner(text, limits: limits)
        scanner.scanDocument()
        nodes = scanner.index.nodes
        children = scanner.index.children
        keyNumbers = scanner.index.keyNumbers
        nulEscapes = scanner.index.nulEscapes
        tomlTrap = scanner.index.tomlTrap
        limitHit = scanner.index.limitHit
    }

    private init() {}

    /// Paths recorded (written or implied): grows with the text, never with the square of it.
    var pathCount: Int { nodes.count }

    func header(_ path: Path) -> Position? { node(path).flatMap { nodes[$0].header.position } }
    func entry(_ path: Path) -> Position? { node(path).flatMap { nodes[$0].entry.position } }

    /// The best position for `path`: its header or key; else the first thing written beneath it
    /// (a table only implied by `[group.match]`); else the nearest ancestor; else the file's start.
    func locate(_ path: Path) -> Position {
        var found: [Int] = [0]
        for component in path {
            guard let next = existingChild(of: found[found.count - 1], component) else { break }
            found.append(next)
        }
        if found.count == path.count + 1 {
            let n = nodes[found[found.count - 1]]
            return n.header.position ?? n.entry.position ?? n.first.position ?? .start
        }
        for id in found.reversed() where id != 0 {
            if let p = nodes[id].header.position ?? nodes[id].entry.position { return p }
        }
        return .start
    }

    private func node(_ path: Path) -> Int? {
        var id = 0
        for component in path {
            guard let next = existingChild(of: id, component) else { return nil }
            id = next
        }
        return id
    }

    private func childKey(_ parent: Int, _ code: UInt64) -> UInt64 { UInt64(parent) << 32 | code }

    /// The node for `component` beneath `parent`, made (first seen at `position`) if new.
    fileprivate mutating func child(of parent: Int, _ component: PathComponent, at position: Position) -> Int {
        let code: UInt64
        switch component {
        case .index(let n): code = UInt64(n) * 2 + 1
        case .key(let k):
            if let number = keyNumbers[k] {
                code = UInt64(number) * 2
            } else {
                let number = UInt32(keyNumbers.count)
                keyNumbers[k] = number
                code = UInt64(number) * 2
            }
        }
        let key = childKey(parent, code)
        if let id = children[key] { return Int(id) }
        let id = nodes.count
        nodes.append(Node(first: PackedPosition(position), depth: nodes[parent].depth + 1))
        children[key] = Int32(id)
        return id
    }

    fileprivate func existingChild(of parent: Int, _ component: PathComponent) -> Int? {
        let code: UInt64
        switch component {
        case .index(let n):
            guard n >= 0 else { return nil }
            code = UInt64(n) * 2 + 1
        case .key(let k):
            guard let number = keyNumbers[k] else { return nil }
            code = UInt64(number) * 2
        }
        return children[childKey(parent, code)].map(Int.init)
    }
}

extension PolicySourceIndex {
    /// A forgiving single-pass scanner. It follows valid TOML; on anything else it must still not
    /// trap or loop: every step consumes input or stops. After a broken limit it sees the end of
    /// the text, so every loop ends at once.
    fileprivate struct Scanner {
        private let chars: [Unicode.Scalar]
        private let limits: PolicyLimits
        private var i = 0
        private var line = 1
        private var column = 1
        private var tables = 0
        var index = PolicySourceIndex()

        init(_ text: String, limits: PolicyLimits) {
            var scalars = Array(text.unicodeScalars)
            if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
            chars = scalars
            self.limits = limits
        }

        private var stopped: Bool { index.limitHit != nil }
        private var atEnd: Bool { i >= chars.count || stopped }
        private var position: Position { Position(line: line, column: column) }

        private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            let j = i + offset
            return j < chars.count && !stopped ? chars[j] : nil
        }

        private mutating func advance() {
            guard !atEnd else { return }
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
            if index.tomlTrap == nil { index.tomlTrap = (start ?? position, message) }
        }

        /// Stops the scan: the first broken limit is the one reported.
        private mutating func hitLimit(_ message: String, at where_: Position) {
            if index.limitHit == nil { index.limitHit = PolicyLimitHit(position: where_, message: message) }
        }

        /// The node for `component` beneath `parent`; breaks the depth limit if it is too deep.
        private mutating func child(of parent: Int, _ component: PathComponent, at start: Position) -> Int {
            let id = index.child(of: parent, component, at: start)
            if Int(index.nodes[id].depth) > limits.nestingDepth {
                hitLimit(
                    "nested more than \(limits.nestingDepth) levels deep (the limit; each table name, key segment and array counts one, and a policy needs 5)",
                    at: start)
            }
            return id
        }

        private mutating func countTable(at start: Position) {
            tables += 1
            if tables > limits.tables {
                hitLimit("more than \(limits.tables) tables (the limit on [headers] and { inline tables } in a policy)", at: start)
            }
        }

        private mutating func checkGroupCount(_ n: Int, at start: Position) {
            if n > limits.groups {
                hitLimit("more than \(limits.groups) groups (the limit on [[group]] tables in a policy)", at: start)
            }
        }

        private var groupNode: Int? { index.existingChild(of: 0, .key("group")) }

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
            var table = 0
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

        /// `[a.b]` or `[[a.b]]`; returns the node of the table it opens.
        private mutating func scanHeader() -> Int? {
            let start = position
            let isArray = peek(1) == "["
            advance(isArray ? 2 : 1)
            let hadSpace = peek() == " " || peek() == "\t"
            skipSpaces()
            if let c = peek(), !(Scanner.isBareKeyChar(c) || c == "\"" || c == "'" || c == "]" || (c == "[" && !isArray && hadSpace)) {
                noteTrap("invalid TOML: expected a table name after '[', saw \(c.escapedForMessage)")
            }
            guard let keys = scanKey(), !keys.isEmpty, !stopped else { return nil }
            countTable(at: start)
            var node: Int
            if isArray {
                let parent = resolve(keys.dropLast(), at: start)
                let array = child(of: parent, .key(keys[keys.count - 1]), at: start)
                let n = Int(index.nodes[array].arrayTables)
                index.nodes[array].arrayTables = Int32(n + 1)
                if parent == 0 && keys[keys.count - 1] == "group" { checkGroupCount(n + 1, at: start) }
                node = child(of: array, .index(n), at: start)
            } else {
                node = resolve(keys[...], at: start)
            }
            if index.nodes[node].header.line == 0 { index.nodes[node].header = PackedPosition(start) }
            return node
        }

        /// Maps header keys to a node, stepping into the latest element of each array of tables
        /// on the way (`[group.match]` belongs to the last `[[group]]`).
        private mutating func resolve(_ keys: ArraySlice<String>, at start: Position) -> Int {
            var node = 0
            for k in keys {
                node = child(of: node, .key(k), at: start)
                let n = Int(index.nodes[node].arrayTables)
                if n > 0 { node = child(of: node, .index(n - 1), at: start) }
            }
            return node
        }

        /// `key = value` (the key possibly dotted), inside `table`.
        private mutating func scanKeyValue(in table: Int, depth: Int) {
            let start = position
            guard let keys = scanKey(), !keys.isEmpty else { return }
            var node = table
            for k in keys {
                node = child(of: node, .key(k), at: start)
                if index.nodes[node].entry.line == 0 { index.nodes[node].entry = PackedPosition(start) }
            }
            skipSpaces()
            guard peek() == "=" else { return }
            advance()
            skipSpaces()
            scanValue(at: node, depth: depth)
        }

        /// One or more simple keys joined by dots; nil when there is no key here.
        private mutating func scanKey() -> [String]? {
            var keys: [String] = []
            while true {
                skipSpaces()
                guard let c = peek() else { return keys.isEmpty ? nil : keys }
                let start = position
                let startIndex = i
                var key = ""
                if c == "\"" {
                    advance()
                    key = scanBasicStringBody(limit: limits.keyLength, what: .key, start: start)
                } else if c == "'" {
                    advance()
                    scanLiteralStringBody(into: &key, limit: limits.keyLength, what: .key, start: start)
                } else if Scanner.isBareKeyChar(c) {
                    while let d = peek(), Scanner.isBareKeyChar(d) {
                        key.unicodeScalars.append(d)
                        advance()
                        if i - startIndex > limits.keyLength {
                            hitLimit(StringKind.key.tooLong(limits.keyLength), at: start)
                        }
                    }
                } else {
                    return keys.isEmpty ? nil : keys
                }
                keys.append(key)
                if keys.count > limits.dottedKeySegments {
                    hitLimit(
                        "a dotted key or table name with more than \(limits.dottedKeySegments) segments (the limit; a policy needs 2, as in group.match)",
                        at: start)
                }
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

        /// `depth` counts the arrays and inline tables around this value; with the node depth
        /// limit it bounds this recursion (each level makes a deeper node).
        private mutating func scanValue(at node: Int, depth: Int) {
            guard depth <= limits.nestingDepth, let c = peek() else { return }
            let start = position
            switch c {
            case "\"":
                if peek(1) == "\"" && peek(2) == "\"" {
                    advance(3)
                    scanMultilineString(quote: "\"", start: start)
                } else {
                    advance()
                    _ = scanBasicStringBody(limit: limits.stringLength, what: .value, start: start)
                }
            case "'":
                if peek(1) == "'" && peek(2) == "'" {
                    advance(3)
                    scanMultilineString(quote: "'", start: start)
                } else {
                    advance()
                    var ignored = ""
                    scanLiteralStringBody(into: &ignored, limit: limits.stringLength, what: .value, start: start)
                }
            case "[":
                advance()
                var n = 0
                let isGroupArray = node == groupNode && index.nodes[node].depth == 1
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
                    let elementStart = position
                    if n == limits.arrayElements {
                        hitLimit("an array with more than \(limits.arrayElements) elements (the limit on one array)", at: elementStart)
                        return
                    }
                    if isGroupArray { checkGroupCount(n + 1, at: elementStart) }
                    let element = child(of: node, .index(n), at: elementStart)
                    if index.nodes[element].entry.line == 0 { index.nodes[element].entry = PackedPosition(elementStart) }
                    scanValue(at: element, depth: depth + 1)
                    n += 1
                    if i == before { advance() }
                }
            case "{":
                countTable(at: start)
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
                    scanKeyValue(in: node, depth: depth + 1)
                    if i == before { advance() }
                }
            default:
                // Numbers, booleans, dates: up to the next delimiter.
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

        enum StringKind {
            case key, value

            func tooLong(_ limit: Int) -> String {
                switch self {
                case .key: "a key longer than \(limit) characters (the limit on one key or table name segment)"
                case .value: "a string longer than \(limit) characters (the limit on one string)"
                }
            }
        }

        /// After the opening `"`: reads up to and including the closing quote, decoding escapes
        /// roughly (enough for quoted keys) and noting `\u0000`. Breaks the limit past `limit`
        /// scalars as written.
        private mutating func scanBasicStringBody(limit: Int, what: StringKind, start: Position) -> String {
            var out = ""
            let bodyStart = i
            while let c = peek(), c != "\n" {
                if i - bodyStart > limit { hitLimit(what.tooLong(limit), at: start) }
                if c == "\"" {
                    advance()
                    return out
                }
                if c == "\\" {
                    scanEscape(into: &out)
                } else {
                    if what == .key { out.unicodeScalars.append(c) }
                    advance()
                }
            }
            return out
        }

        /// After the opening `'`: up to and including the closing quote.
        private mutating func scanLiteralStringBody(into key: inout String, limit: Int, what: StringKind, start: Position) {
            let bodyStart = i
            while let d = peek(), d != "'", d != "\n" {
                if i - bodyStart >= limit { hitLimit(what.tooLong(limit), at: start) }
                if what == .key { key.unicodeScalars.append(d) }
                advance()
            }
            advance()
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
                    if v == 0 { index.nulEscapes.append(start) }
                    if let s = Unicode.Scalar(v) { out.unicodeScalars.append(s) }
                }
            }
            // Anything else (a line-ending backslash in a multi-line string) is left to the caller.
        }

        /// After the opening `"""` or `'''`: up to and including the closing run of quotes
        /// (a closing run may be up to five quotes long: two belong to the string).
        private mutating func scanMultilineString(quote: Unicode.Scalar, start: Position) {
            var ignored = ""
            let bodyStart = i
            while let c = peek() {
                if i - bodyStart > limits.stringLength {
                    hitLimit(StringKind.value.tooLong(limits.stringLength), at: start)
                }
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
                    ignored = ""
                } else {
                    advance()
                }
            }
        }
    }
}
