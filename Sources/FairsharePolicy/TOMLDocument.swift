import CTOMLShim

/// A parsed TOML document as plain Swift values.
///
/// The parse itself is toml++ (Debian's libtomlplusplus-dev) behind a small C shim. TOMLKit 0.6,
/// the Swift wrapper used before, never freed what it allocated: every parsed document, every
/// key list and every string read stayed in memory, so each reload of the policy (valid or not)
/// kept its whole tree for the life of the agent (AddressSanitizer counted 6.4 MB over the unit
/// tests). Here the shim hands over a flat copy and is freed before `parse` returns.
enum TOMLType: Sendable, Equatable {
    case table, array, string, int, double, bool, date, time, dateTime
}

/// One value. Tables and arrays hold their elements; `inline` tells `{ ... }` from a header table.
indirect enum TOMLValue: Sendable {
    case table(TOMLTable)
    case array(TOMLArray)
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    /// Dates and times, as toml++ prints them (a policy has no use for them beyond an error).
    case date(String), time(String), dateTime(String)

    var type: TOMLType {
        switch self {
        case .table: .table
        case .array: .array
        case .string: .string
        case .int: .int
        case .double: .double
        case .bool: .bool
        case .date: .date
        case .time: .time
        case .dateTime: .dateTime
        }
    }

    var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }
    var array: TOMLArray? { if case .array(let a) = self { a } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int? { if case .int(let n) = self { n } else { nil } }
    var double: Double? { if case .double(let d) = self { d } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
}

/// The policy parser's name for any value (TOMLKit's, kept so the parser reads as before).
typealias TOMLValueConvertible = TOMLValue

struct TOMLTable: Sendable {
    /// Keys in the document's order (toml++ keeps them sorted).
    private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]
    let inline: Bool

    init(inline: Bool) {
        self.inline = inline
    }

    subscript(key: String) -> TOMLValue? { values[key] }
    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }

    fileprivate mutating func append(_ key: String, _ value: TOMLValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }
}

struct TOMLArray: Sendable {
    private(set) var elements: [TOMLValue] = []

    var count: Int { elements.count }
    var isEmpty: Bool { elements.isEmpty }
    subscript(i: Int) -> TOMLValue { elements[i] }

    fileprivate mutating func append(_ value: TOMLValue) { elements.append(value) }
}

/// A TOML syntax error at a 1-based line and column (0 when toml++ gave none).
struct TOMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    var line: Int
    var column: Int
    var message: String

    var description: String { message }
}

enum TOMLDocument {
    /// Deeper documents are refused (a policy needs about 4 levels).
    static let maximumDepth = 64

    /// Parses `text` into its root table. Builds the values bottom-up from the shim's pre-order
    /// node list, so nothing here recurses with the document's depth.
    static func parse(_ text: String) throws(TOMLSyntaxError) -> TOMLTable {
        var error = fs_toml_error()
        var utf8 = Array(text.utf8)
        let parsed = utf8.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buffer.count, 1)) {
                fs_toml_parse($0, buffer.count, &error)
            }
        }
        utf8 = []
        guard let document = parsed else {
            let message = withUnsafeBytes(of: &error.message) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            throw TOMLSyntaxError(line: Int(error.line), column: Int(error.column), message: message)
        }
        defer { fs_toml_free(document) }
        let count = fs_toml_node_count(document)
        let nodes = UnsafeBufferPointer(start: fs_toml_nodes(document), count: count)

        // Children first: walking the pre-order list backwards finishes every node's elements
        // before the node itself; each is then handed to its parent.
        // Nesting is bounded before the values are built: Swift frees nested values recursively.
        var depth = [Int](repeating: 0, count: count)
        for i in 0..<count where nodes[i].parent >= 0 {
            depth[i] = depth[Int(nodes[i].parent)] + 1
            if depth[i] > maximumDepth {
                throw TOMLSyntaxError(line: 0, column: 0, message: "values nested more than \(maximumDepth) deep")
            }
        }
        var pending: [[(key: String?, value: TOMLValue)]] = Array(repeating: [], count: count)
        var root = TOMLTable(inline: false)
        for i in stride(from: count - 1, through: 0, by: -1) {
            let n = nodes[i]
            let value: TOMLValue
            switch n.kind {
            case Int32(FS_TOML_TABLE.rawValue):
                var t = TOMLTable(inline: n.is_inline != 0)
                for child in pending[i].reversed() { t.append(child.key ?? "", child.value) }
                value = .table(t)
            case Int32(FS_TOML_ARRAY.rawValue):
                var a = TOMLArray()
                for child in pending[i].reversed() { a.append(child.value) }
                value = .array(a)
            case Int32(FS_TOML_STRING.rawValue): value = .string(Self.text(n.text, n.text_length))
            case Int32(FS_TOML_INTEGER.rawValue): value = .int(Int(n.integer))
            case Int32(FS_TOML_FLOAT.rawValue): value = .double(n.number)
            case Int32(FS_TOML_BOOLEAN.rawValue): value = .bool(n.boolean != 0)
            case Int32(FS_TOML_DATE.rawValue): value = .date(Self.text(n.text, n.text_length))
            case Int32(FS_TOML_TIME.rawValue): value = .time(Self.text(n.text, n.text_length))
            default: value = .dateTime(Self.text(n.text, n.text_length))
            }
            pending[i] = []
            if n.parent >= 0 {
                pending[Int(n.parent)].append((n.key.map { Self.text($0, n.key_length) }, value))
            } else if case .table(let t) = value {
                root = t
            }
        }
        return root
    }

    private static func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
        guard let pointer else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }
}
