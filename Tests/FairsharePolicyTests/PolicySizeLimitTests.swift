import Testing

@testable import FairsharePolicy

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Each limit, just past it and at it

struct SizeLimitCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// Breaks the limit.
    var over: String
    var line: Int
    var column: Int
    /// A piece of the message: it names what is limited and the number.
    var message: String
    /// The same shape, exactly at the limit: no limit error.
    var at: String
    var testDescription: String { name }
}

private let limits = PolicyLimits.standard
private func csv(_ unit: String, _ n: Int) -> String { Array(repeating: unit, count: n).joined(separator: ",") }

let sizeLimitCases: [SizeLimitCase] = [
    SizeLimitCase(
        name: "file size", over: String(repeating: "#", count: limits.fileBytes + 1), line: 1, column: limits.fileBytes + 1,
        message: "larger than 262144 bytes", at: String(repeating: "#", count: limits.fileBytes)),
    SizeLimitCase(
        name: "file size, counted in bytes not characters", over: "#" + String(repeating: "é", count: limits.fileBytes / 2), line: 1,
        column: 1 + limits.fileBytes / 2, message: "larger than 262144 bytes", at: "#" + String(repeating: "é", count: limits.fileBytes / 2 - 1)),
    SizeLimitCase(
        // a (1) and 8 arrays: the innermost `1` is 9 deep.
        name: "nesting of arrays", over: "a = [[[[[[[[1]]]]]]]]", line: 1, column: 13, message: "nested more than 8 levels",
        at: "a = [[[[[[[1]]]]]]]"),
    SizeLimitCase(
        name: "nesting of inline tables", over: "a = {b = {c = {d = {e = {f = {g = {h = {i = 1}}}}}}}}", line: 1, column: 41,
        message: "nested more than 8 levels", at: "a = {b = {c = {d = {e = {f = {g = {h = 1}}}}}}}"),
    SizeLimitCase(
        name: "nesting of a header's array of tables", over: "[[a.b.c.d.e.f.g.h]]", line: 1, column: 1, message: "nested more than 8 levels",
        at: "[[a.b.c.d.e.f.g]]"),
    SizeLimitCase(
        name: "segments of a dotted key", over: "a.b.c.d.e.f.g.h.i = 1", line: 1, column: 17, message: "more than 8 segments",
        at: "a.b.c.d.e.f.g.h = 1"),
    SizeLimitCase(
        name: "segments of a table name", over: "[a.b.c.d.e.f.g.h.i]", line: 1, column: 18, message: "more than 8 segments",
        at: "[a.b.c.d.e.f.g.h]"),
    SizeLimitCase(
        name: "length of a bare key", over: String(repeating: "k", count: 129) + " = 1", line: 1, column: 1,
        message: "key longer than 128 characters", at: String(repeating: "k", count: 128) + " = 1"),
    SizeLimitCase(
        name: "length of a quoted key", over: "x.\"" + String(repeating: "é", count: 129) + "\" = 1", line: 1, column: 3,
        message: "key longer than 128 characters", at: "x.\"" + String(repeating: "é", count: 128) + "\" = 1"),
    SizeLimitCase(
        name: "number of [[group]] tables", over: String(repeating: "[[group]]\n", count: 257), line: 257, column: 1,
        message: "more than 256 groups", at: String(repeating: "[[group]]\n", count: 256)),
    SizeLimitCase(
        name: "number of groups in an inline array", over: "group = [" + csv("{}", 257) + "]", line: 1, column: 10 + 3 * 256,
        message: "more than 256 groups", at: "group = [" + csv("{}", 256) + "]"),
    SizeLimitCase(
        name: "elements of one array", over: "a = [" + csv("1", 1025) + "]", line: 1, column: 6 + 2 * 1024,
        message: "more than 1024 elements", at: "a = [" + csv("1", 1024) + "]"),
    SizeLimitCase(
        name: "tables in all", over: (0...1024).map { "[t\($0)]\n" }.joined(), line: 1025, column: 1, message: "more than 1024 tables",
        at: (0..<1024).map { "[t\($0)]\n" }.joined()),
    SizeLimitCase(
        name: "inline tables count as tables", over: "a = [" + csv("{}", 1000) + "]\n" + (0..<25).map { "[t\($0)]\n" }.joined(), line: 26,
        column: 1, message: "more than 1024 tables", at: "a = [" + csv("{}", 1000) + "]\n" + (0..<24).map { "[t\($0)]\n" }.joined()),
    SizeLimitCase(
        name: "length of a basic string", over: "a = \"" + String(repeating: "x", count: 4097) + "\"", line: 1, column: 5,
        message: "string longer than 4096 characters", at: "a = \"" + String(repeating: "x", count: 4096) + "\""),
    SizeLimitCase(
        name: "length of a literal string", over: "a = '" + String(repeating: "x", count: 4097) + "'", line: 1, column: 5,
        message: "string longer than 4096 characters", at: "a = '" + String(repeating: "x", count: 4096) + "'"),
    SizeLimitCase(
        name: "length of a multi-line string", over: "\n\na = \"\"\"" + String(repeating: "x\n", count: 2049) + "\"\"\"", line: 3, column: 5,
        message: "string longer than 4096 characters", at: "a = \"\"\"" + String(repeating: "x\n", count: 2047) + "\"\"\""),
]

@Test(arguments: sizeLimitCases)
func aBrokenLimitIsOneLocatedErrorThatNamesIt(_ c: SizeLimitCase) {
    do {
        _ = try PolicyParser.parse(c.over, file: "big.toml")
        Issue.record("accepted")
    } catch {
        #expect(error.problems.count == 1, "\(error)")
        let problem = error.problems[0]
        #expect(problem.location == SourceLocation(file: "big.toml", line: c.line, column: c.column), "\(problem)")
        #expect(problem.message.contains(c.message), "\(problem)")
        #expect(problem.message.contains("limit"), "\(problem)")
    }
    do {
        _ = try PolicyParser.parse(c.at, file: "big.toml")
    } catch {
        #expect(!error.problems.contains { $0.message.contains("(the limit") }, "at the limit: \(error)")
    }
}

@Test func theShippedPoliciesAreWellInsideTheLimits() throws {
    let halved = PolicyLimits.halvedForTest
    for name in ["policy.toml", "examples/multi-user-server.toml", "examples/build-farm.toml", "examples/database-backups.toml", "examples/people.toml"] {
        let url = configDirectory.appending(path: name)
        _ = try PolicyParser.parse(try String(contentsOf: url, encoding: .utf8), file: name, limits: halved)
    }
}

extension PolicyLimits {
    /// Half of every limit but the file size (the shipped files are a few KB): if the shipped
    /// policies parse within these, the real limits leave them room.
    static var halvedForTest: PolicyLimits {
        var l = PolicyLimits()
        l.nestingDepth = 5
        l.dottedKeySegments = 4
        l.keyLength = 64
        l.groups = 128
        l.arrayElements = 512
        l.tables = 512
        l.stringLength = 2048
        return l
    }
}

@Test func bytesThatAreNotUTF8AreLocated() {
    let bytes: [UInt8] = Array("[agent]\ninterval = \"2".utf8) + [0xFF] + Array("s\"\n".utf8)
    #expect(throws: PolicyError(problems: [.init(location: SourceLocation(file: "p.toml", line: 2, column: 14), message: "the file is not UTF-8 text (an invalid byte sequence here); save the policy as UTF-8")])) {
        try PolicyParser.text(of: bytes, file: "p.toml")
    }
    #expect((try? PolicyParser.text(of: Array("a = \"é\"".utf8), file: "p.toml")) == "a = \"é\"")
}

@Test func oversizeBytesAreRefusedBeforeTheirUTF8IsChecked() {
    let bytes = [UInt8](repeating: 0xFF, count: limits.fileBytes + 1)
    do {
        _ = try PolicyParser.text(of: bytes, file: "p.toml")
        Issue.record("accepted")
    } catch {
        #expect(error.problems.first?.message.contains("larger than 262144 bytes") == true, "\(error)")
    }
}

// MARK: - The issue's shapes (0.4.0 took gigabytes and seconds on these)

/// Each of the issue's inputs is refused by the limits with the right located error, before
/// TOMLKit, instead of gigabytes of index and seconds of scanning.
@Test(arguments: [
    // The 9th segment starts at column 17.
    BadPolicyCase(
        name: "'.'.join(['a'] * 10000) + ' = 1' (20 KB; 1.2 GB and 3 s in 0.4.0)",
        toml: Array(repeating: "a", count: 10_000).joined(separator: ".") + " = 1", line: 1, column: 17, message: "more than 8 segments"),
    BadPolicyCase(
        name: "the same at 80 KB (13.9 GB and 65 s)",
        toml: Array(repeating: "a", count: 40_000).joined(separator: ".") + " = 1", line: 1, column: 17, message: "more than 8 segments"),
    BadPolicyCase(
        name: "40,000 implied tables [kN.x] (429 KB, 9 s): too large",
        toml: (0..<40_000).map { "[k\($0).x]\n" }.joined(), line: 24_842, column: 4, message: "larger than 262144 bytes"),
    BadPolicyCase(
        name: "2,000 implied tables (under the size limit): too many tables",
        toml: (0..<2_000).map { "[k\($0).x]\n" }.joined(), line: 1025, column: 1, message: "more than 1024 tables"),
    BadPolicyCase(
        name: "200 KB of '[' (630 MB): no table name after '[['",
        toml: String(repeating: "[", count: 200_000), line: 1, column: 3, message: "expected a table name"),
    BadPolicyCase(
        name: "the same flood as a value: the 9th level",
        toml: "a = " + String(repeating: "[", count: 200_000), line: 1, column: 13, message: "nested more than 8 levels"),
])
func theIssuesShapesAreRefusedAtOnce(_ c: BadPolicyCase) {
    // The texts are up to 430 KB: the cases are named, not printed.
    c.expectOneLocatedProblem()
}

/// The index stores each path once, beneath its parent: its size follows the text's, whatever
/// the shape. (0.4.0 stored every prefix of a dotted key as its own path: n²/2 components for n
/// segments.) With the limits lifted, the scan must get through the issue's worst inputs.
@Test func theIndexGrowsLinearlyWithTheTextEvenWithoutLimits() {
    var unlimited = PolicyLimits()
    unlimited.fileBytes = 1 << 30
    unlimited.nestingDepth = 1 << 30
    unlimited.dottedKeySegments = 1 << 30
    unlimited.tables = 1 << 30

    // 40,000 segments: one path each (plus the root). Old: 800 million stored components.
    let key = Array(repeating: "a", count: 40_000).joined(separator: ".") + " = 1"
    let start = monotonicNanoseconds()
    let dotted = PolicySourceIndex(scanning: key, limits: unlimited)
    let elapsed = Double(monotonicNanoseconds() - start) / 1e9
    #expect(dotted.limitHit == nil)
    #expect(dotted.pathCount == 40_001)
    // The deepest path is found, at the key's start (a walk of 40,000 steps, not a copy per step).
    #expect(dotted.entry(Array(repeating: .key("a"), count: 40_000)) == .start)
    // Wall time only as a backstop: 0.4.0 needed 65 s (release) for this input, quadratic in it;
    // a linear scan of 80 KB takes milliseconds even in a debug build on a loaded machine.
    #expect(elapsed < 10, "\(elapsed) s")

    // n headers [kN.x]: 2n paths (kN and kN.x) and the root.
    let implied = PolicySourceIndex(scanning: (0..<40_000).map { "[k\($0).x]\n" }.joined(), limits: unlimited)
    #expect(implied.pathCount == 80_001)
    #expect(implied.locate([.key("k39999")]) == PolicySourceIndex.Position(line: 40_000, column: 1))
}

private func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The scan recurses only into arrays and inline tables, and stops at the depth limit: a flood
/// of 200,000 levels (toml++ itself would have recursed 256 deep first) leaves at the 9th.
@Test func aDeepFloodStopsTheScanAtTheDepthLimit() {
    let index = PolicySourceIndex(scanning: "a = " + String(repeating: "[", count: 200_000))
    #expect(index.limitHit?.position == PolicySourceIndex.Position(line: 1, column: 13))
    #expect(index.pathCount == 1 + 1 + 8)  // root, a, and the arrays down to the 9th level
}

// MARK: - The TOML document behind the parser

/// toml++'s values arrive whole as Swift values (the shim's copy is freed at once), in the
/// document's order, with inline tables told apart; errors keep toml++'s position.
@Test func theTOMLDocumentCarriesEveryScalarAndTheTablesShape() throws {
    let root = try TOMLDocument.parse("s = \"é\\u0041\"\ni = -7\nb = true\nd = 2.5\nt = { x = [1, \"two\"] }\n[h]\nk = 1\n")
    #expect(root["s"]?.string == "éA")
    #expect(root["i"]?.int == -7)
    #expect(root["b"]?.bool == true)
    #expect(root["d"]?.double == 2.5)
    #expect(root["s"]?.int == nil)
    #expect(root["i"]?.double == nil)
    #expect(root.keys == ["b", "d", "h", "i", "s", "t"])
    #expect(root["t"]?.table?.inline == true)
    #expect(root["h"]?.table?.inline == false)
    let x = try #require(root["t"]?.table?["x"]?.array)
    #expect(x.count == 2 && x[0].int == 1 && x[1].string == "two")
    #expect(throws: TOMLSyntaxError.self) { try TOMLDocument.parse("a = \n") }
    do {
        _ = try TOMLDocument.parse("a = 1\nb = [1,\n")
    } catch {
        #expect(error.line >= 2 && error.column >= 1, "\(error)")
    }
}

/// Deeper than `TOMLDocument.maximumDepth` is refused before any Swift value is built (freeing
/// nested values recurses), even when no pre-scan ran.
@Test func theTOMLDocumentRefusesDeepNesting() {
    let deep = "a = " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
    #expect(throws: TOMLSyntaxError.self) { try TOMLDocument.parse(deep) }
    let fine = "a = " + String(repeating: "[", count: 30) + String(repeating: "]", count: 30)
    #expect(throws: Never.self) { try TOMLDocument.parse(fine) }
}
