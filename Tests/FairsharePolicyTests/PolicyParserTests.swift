import Foundation
import FairshareTestSupport
import Testing

@testable import FairsharePolicy

// MARK: - Valid policies

/// A warning the parse must produce: where, and a piece of its message.
struct ExpectedNote: Sendable, CustomStringConvertible {
    var line: Int
    var column: Int
    var message: String
    var description: String { "\(line):\(column) \(message)" }
}

struct ValidPolicyCase: Sendable, CustomTestStringConvertible {
    var name: String
    var toml: String
    var agent = AgentSettings()
    var groups: [GroupPolicy] = []
    var warnings: [ExpectedNote] = []
    var testDescription: String { name }
}

private func group(_ name: String, _ shares: Int, io: Int? = nil, line: Int, _ match: MatchRule = MatchRule()) -> GroupPolicy {
    GroupPolicy(name: GroupName(name)!, shares: Shares(shares)!, ioShares: io.map { Shares($0)! }, match: match, line: line)
}

private func globs(_ patterns: String...) -> [Glob] { patterns.map { Glob($0)! } }

let validPolicies: [ValidPolicyCase] = [
    ValidPolicyCase(
        name: "empty file: defaults, no groups, a warning",
        toml: "",
        warnings: [ExpectedNote(line: 1, column: 1, message: "no [[group]] tables")]),
    ValidPolicyCase(
        name: "only comments",
        toml: "# nothing yet\n\n   # really\n",
        warnings: [ExpectedNote(line: 1, column: 1, message: "manages no processes")]),
    ValidPolicyCase(
        name: "every key",
        toml: #"""
            # A full policy.
            [agent]
            interval = "500ms"
            report_interval = "5m"
            rescan_interval = "2m"
            cgroup_root = "/sys/fs/cgroup/fairshare.slice"

            [[group]]
            name = "interactive"
            shares = 400
            io_shares = 300
            [group.match]
            users = ["alice", 1001, 0]
            groups = ["staff", 4294967294]
            comm = ["bash", "vim", "fifteen-bytes-x"]
            exe = ["/usr/bin/python3*", "*/bin/node"]
            cmdline = ["--batch( |$)"]
            cgroup = ["/user.slice/*"]

            [[group]]
            name = "batch_2-x"
            shares = 1
            [group.match]
            comm = "make"
            """#,
        agent: AgentSettings(interval: .milliseconds(500), reportInterval: .seconds(300), cgroupRoot: .path("/sys/fs/cgroup/fairshare.slice"),
                              rescanInterval: .seconds(120)),
        groups: [
            group(
                "interactive", 400, io: 300, line: 8,
                MatchRule(
                    users: [.name("alice"), .id(1001), .id(0)], groups: [.name("staff"), .id(4_294_967_294)],
                    comm: ["bash", "vim", "fifteen-bytes-x"], exe: globs("/usr/bin/python3*", "*/bin/node"),
                    cmdline: [try! Pattern("--batch( |$)")], cgroup: globs("/user.slice/*"))),
            group("batch_2-x", 1, line: 20, MatchRule(comm: ["make"])),
        ]),
    ValidPolicyCase(
        name: "a single value for a list key is a one-element list",
        toml: #"""
            [[group]]
            name = "a"
            shares = 10000
            [group.match]
            users = 1001
            groups = "staff"
            comm = "bash"
            exe = "/bin/sh"
            cmdline = "x+"
            cgroup = "/system.slice/*"
            """#,
        groups: [
            group(
                "a", 10000, line: 1,
                MatchRule(
                    users: [.id(1001)], groups: [.name("staff")], comm: ["bash"], exe: globs("/bin/sh"), cmdline: [try! Pattern("x+")],
                    cgroup: globs("/system.slice/*")))
        ]),
    ValidPolicyCase(
        name: "inline match table and dotted match keys",
        toml: #"""
            [[group]]
            name = "a"
            shares = 2
            match = { comm = ["postgres"], users = ["postgres"] }

            [[group]]
            name = "b"
            shares = 1
            match.comm = ["pg_dump", "borg"]
            match.exe = "/usr/bin/restic"
            """#,
        groups: [
            group("a", 2, line: 1, MatchRule(users: [.name("postgres")], comm: ["postgres"])),
            group("b", 1, line: 6, MatchRule(comm: ["pg_dump", "borg"], exe: globs("/usr/bin/restic"))),
        ]),
    ValidPolicyCase(
        name: "groups as an inline array of tables",
        toml: #"""
            group = [
              { name = "a", shares = 5, match = { comm = "x" } },
              { name = "b", shares = 6, io_shares = 7, match = { comm = "y" } },
            ]
            """#,
        groups: [
            group("a", 5, line: 2, MatchRule(comm: ["x"])),
            group("b", 6, io: 7, line: 3, MatchRule(comm: ["y"])),
        ]),
    ValidPolicyCase(
        name: "a group without a match table warns at its header",
        toml: "\n# lonely\n[[group]]\nname = \"lonely\"\nshares = 100\n",
        groups: [group("lonely", 100, line: 3)],
        warnings: [ExpectedNote(line: 3, column: 1, message: "[[group]] 'lonely' has no [group.match] table, so it matches no process")]),
    ValidPolicyCase(
        name: "an empty match table warns at the table",
        toml: "[[group]]\nname = \"e\"\nshares = 100\n\n[group.match]\n",
        groups: [group("e", 100, line: 1)],
        warnings: [ExpectedNote(line: 5, column: 1, message: "[[group]] 'e' has an empty match table, so it matches no process")]),
    ValidPolicyCase(
        name: "an empty inline match table warns at the match key",
        toml: "[[group]]\nname = \"e\"\nshares = 100\n  match = {}\n",
        groups: [group("e", 100, line: 1)],
        warnings: [ExpectedNote(line: 4, column: 3, message: "matches no process")]),
    ValidPolicyCase(
        name: "an empty group array warns",
        toml: "group = []\n",
        warnings: [ExpectedNote(line: 1, column: 1, message: "no [[group]] tables")]),
    ValidPolicyCase(
        name: "interval bounds, report_interval equal to interval",
        toml: "[agent]\ninterval = \"60s\"\nreport_interval = \"1m\"\ncgroup_root = \"auto\"\n[[group]]\nname=\"a\"\nshares=1\nmatch.comm=\"a\"\n",
        agent: AgentSettings(interval: .seconds(60), reportInterval: .seconds(60), cgroupRoot: .auto),
        groups: [group("a", 1, line: 5, MatchRule(comm: ["a"]))]),
    ValidPolicyCase(
        name: "the shortest interval",
        toml: "[agent]\ninterval = \"100ms\"\n[[group]]\nname=\"a\"\nshares=1\nmatch.comm=\"a\"\n",
        agent: AgentSettings(interval: .milliseconds(100)),
        groups: [group("a", 1, line: 3, MatchRule(comm: ["a"]))]),
    ValidPolicyCase(
        name: "cgroup_root: the mount itself, and a trailing slash dropped",
        toml: "[agent]\ncgroup_root = \"/sys/fs/cgroup/\"\n[[group]]\nname=\"a\"\nshares=1\nmatch.comm=\"a\"\n",
        agent: AgentSettings(cgroupRoot: .path("/sys/fs/cgroup")),
        groups: [group("a", 1, line: 3, MatchRule(comm: ["a"]))]),
    ValidPolicyCase(
        name: "a [[group]] inside a multi-line string is not a header",
        toml: #"""
            [[group]]
            name = "a"
            shares = 1
            [group.match]
            cmdline = """
            [[group]]
            """

            [[group]]
            name = "b"
            shares = 2
            match.comm = '''it's'''
            """#,
        groups: [
            group("a", 1, line: 1, MatchRule(cmdline: [try! Pattern("[[group]]\n")])),
            group("b", 2, line: 9, MatchRule(comm: ["it's"])),
        ]),
    ValidPolicyCase(
        name: "escapes, line-ending backslashes and brackets inside strings",
        toml: #"""
            [[group]]
            name = "a"
            shares = 1
            [group.match]
            comm = """
            x\"""[\
              y\\"""
            cgroup = '''/[=
            ]x'''
            [[group]]
            name = "b"
            shares = 2
            match.comm = "b" # [=
            """#,
        groups: [
            group("a", 1, line: 1, MatchRule(comm: [#"x"""[y\"#], cgroup: globs("/[=\n]x"))),
            group("b", 2, line: 10, MatchRule(comm: ["b"])),
        ]),
    ValidPolicyCase(
        name: "CRLF line endings and a byte order mark",
        toml: "\u{FEFF}[agent]\r\ninterval = \"1s\"\r\n\r\n[[group]]\r\nname = \"a\"\r\nshares = 3\r\n",
        agent: AgentSettings(interval: .seconds(1)),
        groups: [group("a", 3, line: 4)],
        warnings: [ExpectedNote(line: 4, column: 1, message: "matches no process")]),
    ValidPolicyCase(
        name: "quoted keys and spaced headers",
        toml: "[ \"agent\" ]\n\"interval\" = \"3s\"\n[[ group ]]\n'name' = \"q\"\nshares = 0x10\nmatch . comm = \"x\"\n",
        agent: AgentSettings(interval: .seconds(3)),
        groups: [group("q", 16, line: 3, MatchRule(comm: ["x"]))]),
]

@Test("valid policies parse to the expected model", arguments: validPolicies)
func validPolicy(_ c: ValidPolicyCase) throws {
    let policy = try PolicyParser.parse(c.toml, file: "valid.toml")
    #expect(policy.sourcePath == "valid.toml")
    #expect(policy.agent == c.agent)
    #expect(policy.groups == c.groups)
    #expect(policy.warnings.count == c.warnings.count, "warnings: \(policy.warnings)")
    for (got, want) in zip(policy.warnings, c.warnings) {
        #expect(got.location == SourceLocation(file: "valid.toml", line: want.line, column: want.column), "\(got)")
        #expect(got.message.contains(want.message), "\(got)")
    }
}

// MARK: - Bad policies

/// A policy with exactly one problem: where it must be reported, and a piece of the message.
struct BadPolicyCase: Sendable, CustomTestStringConvertible {
    var name: String
    var toml: String
    var line: Int
    var column: Int
    var message: String
    var testDescription: String { name }

    /// Parsing fails with exactly this one problem, at this line and column of "bad.toml".
    func expectOneLocatedProblem() {
        do {
            let policy = try PolicyParser.parse(toml, file: "bad.toml")
            Issue.record("expected an error, parsed \(policy)")
        } catch {
            #expect(error.problems.count == 1, "\(error)")
            let problem = error.problems.first
            #expect(problem?.location == SourceLocation(file: "bad.toml", line: line, column: column), "\(error)")
            #expect(problem?.message.contains(message) == true, "\(error)")
        }
    }
}

/// Wraps match keys in a valid group whose `[group.match]` header is on line 4.
private func matching(_ keys: String) -> String {
    "[[group]]\nname = \"g\"\nshares = 100\n[group.match]\n" + keys + "\n"
}

/// A valid group to go after an [agent] table, so the only problem is in the agent.
private let aGroup = "\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n"

let badPolicies: [BadPolicyCase] = [
    // TOML syntax: toml++'s own position, nothing else is checked.
    BadPolicyCase(name: "syntax: missing value", toml: "[agent]\ninterval = \n", line: 2, column: 12, message: "invalid TOML: Error while parsing key-value pair: expected value"),
    BadPolicyCase(name: "syntax: unterminated header", toml: "[[group]]\nname = \"a\"\n[group.match\n", line: 3, column: 13, message: "invalid TOML"),
    BadPolicyCase(name: "syntax: a key twice", toml: "[[group]]\nname = \"a\"\nname = \"b\"\n", line: 3, column: 8, message: "cannot redefine existing string 'name'"),
    BadPolicyCase(name: "syntax: [group] then [[group]]", toml: "[group]\nname = \"a\"\n[[group]]\n", line: 3, column: 1, message: "cannot redefine existing table 'group' as array-of-tables"),
    BadPolicyCase(name: "syntax: integer beyond 64 bits", toml: "[[group]]\nshares = 99999999999999999999\n", line: 2, column: 30, message: "not representable in 64 bits"),
    BadPolicyCase(name: "syntax: errors stop the parse", toml: "bogus = 1\n[agent]\ninterval = \"1s\" x\n", line: 3, column: 17, message: "invalid TOML"),
    BadPolicyCase(name: "a NUL byte in the file", toml: "[agent]\ninterval = \"2s\"\u{0}\n", line: 2, column: 16, message: "NUL byte"),
    BadPolicyCase(name: "U+2028 in a comment", toml: "# a line\u{2028}separator\n", line: 1, column: 9, message: "the file contains U+2028, a Unicode line break; replace it with a newline"),
    BadPolicyCase(name: "U+0085 after a value", toml: "[agent]\ninterval = \"2s\"\u{85}\n", line: 2, column: 16, message: "U+0085"),
    BadPolicyCase(name: "a \\U00000000 escape in a multi-line string", toml: matching("comm = \"\"\"\nab\\U00000000\"\"\""), line: 6, column: 3, message: "(NUL) is not allowed"),
    // Text toml++ 3.4 asserts can not happen (it would abort): the parser reports it first.
    BadPolicyCase(name: "syntax: '[' at the end of a line", toml: "[[group]]\nname = \"a\"\n[\nroup.match]\n", line: 3, column: 2, message: "invalid TOML: expected a table name after '[', saw '\\n'"),
    BadPolicyCase(name: "syntax: '[=' header", toml: "[=agent]\n", line: 1, column: 2, message: "expected a table name after '[', saw '='"),
    BadPolicyCase(name: "syntax: '[[ #' header", toml: "\n[[ #group]]\n", line: 2, column: 4, message: "expected a table name after '[', saw '#'"),
    BadPolicyCase(name: "syntax: '}' as an array element", toml: matching("comm = [\"a\", }"), line: 5, column: 14, message: "invalid TOML: expected a value or ']' in the array, saw '}'"),
    BadPolicyCase(name: "syntax: a date-time without its time", toml: "[agent]\ninterval = 1979-05-27T:00\n", line: 2, column: 12, message: "invalid TOML: expected a time (HH:MM:SS) after the date"),
    BadPolicyCase(name: "syntax: a date and one digit", toml: "[agent]\ninterval = [1979-05-27 1]\n", line: 2, column: 13, message: "expected a time (HH:MM:SS) after the date"),
    BadPolicyCase(name: "a \\u0000 escape in a string", toml: matching(#"comm = ["ba\u0000sh"]"#), line: 5, column: 12, message: "\\u0000 (NUL) is not allowed"),

    // Top level.
    BadPolicyCase(name: "unknown table, close to agent", toml: "[agnet]\ninterval = \"2s\"\n", line: 1, column: 1, message: "unknown table [agnet]; did you mean [agent]?"),
    BadPolicyCase(name: "unknown array of tables, close to group", toml: "[[groups]]\nname = \"a\"\n", line: 1, column: 1, message: "unknown table [[groups]]; did you mean [[group]]?"),
    BadPolicyCase(name: "an agent key at the top level", toml: "\ninterval = \"2s\"\n", line: 2, column: 1, message: "unknown top-level key 'interval'; 'interval' belongs in the [agent] table"),
    BadPolicyCase(name: "a group key at the top level", toml: "shares = 5\n", line: 1, column: 1, message: "'shares' belongs in a [[group]] table"),
    BadPolicyCase(name: "an unrelated top-level key", toml: "  colour = \"blue\"\n", line: 1, column: 3, message: "unknown top-level key 'colour'; expected only an [agent] table and [[group]] tables"),
    BadPolicyCase(name: "agent is not a table", toml: "agent = 5\n", line: 1, column: 1, message: "agent must be a table ([agent]), got an integer"),
    BadPolicyCase(name: "[[agent]]", toml: "[[agent]]\ninterval = \"2s\"\n", line: 1, column: 1, message: "[[agent]] must be a single table; write [agent] once"),
    BadPolicyCase(name: "group is a string", toml: "group = \"batch\"\n", line: 1, column: 1, message: "group must be an array of tables ([[group]]), got a string"),
    BadPolicyCase(name: "a group that is not a table", toml: "group = [\n  1,\n]\n", line: 2, column: 3, message: "each group must be a table ([[group]] or { name = ..., shares = ... }), got an integer"),
    BadPolicyCase(
        name: "[group] written as a single table", toml: "# one group\n[group]\nname = \"a\"\nshares = 1\nmatch.comm = \"a\"\n", line: 2, column: 1,
        message: "[group] is a single table, but groups are an array of tables; write [[group]] (double brackets)"),

    // [agent]
    BadPolicyCase(name: "agent: misspelt key", toml: "[agent]\nintervl = \"2s\"\n" + aGroup, line: 2, column: 1, message: "unknown key 'intervl' in [agent]; did you mean 'interval'?"),
    BadPolicyCase(name: "agent: unknown key", toml: "[agent]\nthreads = 4\n" + aGroup, line: 2, column: 1, message: "unknown key 'threads' in [agent]; expected one of: interval, report_interval, rescan_interval, cgroup_root, fairness, half_life, max_boost"),
    BadPolicyCase(name: "agent: unknown sub-table", toml: "[agent]\n[agent.extra]\nx = 1\n" + aGroup, line: 2, column: 1, message: "unknown key 'extra' in [agent]"),
    BadPolicyCase(name: "interval: a number", toml: "[agent]\ninterval = 2\n" + aGroup, line: 2, column: 1, message: "interval must be a duration string like \"2s\" or \"500ms\", got an integer"),
    BadPolicyCase(name: "interval: not a duration", toml: "[agent]\ninterval = \"fast\"\n" + aGroup, line: 2, column: 1, message: "invalid duration 'fast' for interval; expected a number and a unit (ms, s, m or h)"),
    BadPolicyCase(name: "interval: no unit", toml: "[agent]\ninterval = \"2\"\n" + aGroup, line: 2, column: 1, message: "invalid duration '2' for interval"),
    BadPolicyCase(name: "interval: huge", toml: "[agent]\ninterval = \"99999999999999999h\"\n" + aGroup, line: 2, column: 1, message: "invalid duration '99999999999999999h'"),
    BadPolicyCase(name: "interval: too short", toml: "[agent]\n  interval = \"50ms\"\n" + aGroup, line: 2, column: 3, message: "interval '50ms' is out of range; expected 100ms..1m"),
    BadPolicyCase(name: "interval: too long", toml: "[agent]\ninterval = \"61s\"\n" + aGroup, line: 2, column: 1, message: "interval '61s' is out of range; expected 100ms..1m"),
    BadPolicyCase(
        name: "report_interval shorter than interval", toml: "[agent]\ninterval = \"10s\"\nreport_interval = \"5s\"\n" + aGroup, line: 3, column: 1,
        message: "report_interval (5s) is shorter than interval (10s); expected report_interval >= interval"),
    BadPolicyCase(name: "report_interval shorter than the default interval", toml: "[agent]\nreport_interval = \"1s\"\n" + aGroup, line: 2, column: 1, message: "shorter than interval (2s)"),
    BadPolicyCase(name: "report_interval: a boolean", toml: "[agent]\nreport_interval = true\n" + aGroup, line: 2, column: 1, message: "report_interval must be a duration string like \"2s\" or \"500ms\", got a boolean"),
    BadPolicyCase(name: "report_interval: not a duration", toml: "[agent]\nreport_interval = \"hourly\"\n" + aGroup, line: 2, column: 1, message: "invalid duration 'hourly' for report_interval"),
    BadPolicyCase(name: "rescan_interval: too short", toml: "[agent]\nrescan_interval = \"500ms\"\n" + aGroup, line: 2, column: 1, message: "rescan_interval '500ms' is out of range; expected 1s..1h"),
    BadPolicyCase(name: "rescan_interval: a number", toml: "[agent]\nrescan_interval = 60\n" + aGroup, line: 2, column: 1, message: "rescan_interval must be a duration string like \"2s\" or \"500ms\", got an integer"),
    BadPolicyCase(name: "cgroup_root: a number", toml: "[agent]\ncgroup_root = 1\n" + aGroup, line: 2, column: 1, message: "cgroup_root must be a string (\"auto\" or a path beneath /sys/fs/cgroup), got an integer"),
    BadPolicyCase(name: "cgroup_root: outside the mount", toml: "[agent]\ncgroup_root = \"/tmp/cg\"\n" + aGroup, line: 2, column: 1, message: "invalid cgroup_root '/tmp/cg'; expected \"auto\" or an absolute path beneath /sys/fs/cgroup"),
    BadPolicyCase(name: "cgroup_root: a prefix of the mount's name", toml: "[agent]\ncgroup_root = \"/sys/fs/cgroupx\"\n" + aGroup, line: 2, column: 1, message: "invalid cgroup_root '/sys/fs/cgroupx'"),
    BadPolicyCase(name: "cgroup_root: relative", toml: "[agent]\ncgroup_root = \"fairshare\"\n" + aGroup, line: 2, column: 1, message: "invalid cgroup_root 'fairshare'"),
    BadPolicyCase(name: "cgroup_root: ..", toml: "[agent]\ncgroup_root = \"/sys/fs/cgroup/../../etc\"\n" + aGroup, line: 2, column: 1, message: "contains a '.' or '..' component"),
    BadPolicyCase(name: "cgroup_root: .", toml: "[agent]\ncgroup_root = \"/sys/fs/cgroup/./x\"\n" + aGroup, line: 2, column: 1, message: "contains a '.' or '..' component"),
    BadPolicyCase(name: "cgroup_root: //", toml: "[agent]\ncgroup_root = \"/sys/fs/cgroup//x\"\n" + aGroup, line: 2, column: 1, message: "cgroup_root '/sys/fs/cgroup//x' contains '//'"),

    // [[group]]
    BadPolicyCase(
        name: "group: misspelt key", toml: "[[group]]\nname = \"batch\"\nshares = 1\nshare = 2\nmatch.comm = \"x\"\n", line: 4, column: 1,
        message: "unknown key 'share' in [[group]] 'batch'; did you mean 'shares'?"),
    BadPolicyCase(
        name: "group: unknown key", toml: "[[group]]\nname = \"batch\"\nshares = 1\npriority = 2\nmatch.comm = \"x\"\n", line: 4, column: 1,
        message: "unknown key 'priority' in [[group]] 'batch'; expected one of: name, shares, io_shares, idle, min, max, borrow, burst, max_burst, match"),
    BadPolicyCase(
        name: "group: unknown quoted key", toml: "[[group]]\nname = \"batch\"\nshares = 1\n  \"Name\" = \"x\"\nmatch.comm = \"x\"\n", line: 4, column: 3,
        message: "unknown key 'Name' in [[group]] 'batch'; did you mean 'name'?"),
    BadPolicyCase(name: "group: no name", toml: "[[group]]\nname = \"a\"\nshares = 1\nmatch.comm = \"x\"\n\n[[group]]\nshares = 1\nmatch.comm = \"y\"\n", line: 6, column: 1, message: "[[group]] #2 has no name; expected name = \"...\""),
    BadPolicyCase(name: "group: no shares", toml: "[[group]]\nname = \"batch\"\nmatch.comm = \"x\"\n", line: 1, column: 1, message: "[[group]] 'batch' has no shares; expected shares = N, an integer 1..10000"),
    BadPolicyCase(name: "inline group: no shares", toml: "group = [\n  { name = \"a\", match = { comm = \"x\" } },\n]\n", line: 2, column: 3, message: "[[group]] 'a' has no shares"),
    BadPolicyCase(name: "name: a number", toml: "[[group]]\nname = 7\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 1, message: "name must be a string like \"batch\", got an integer"),
    BadPolicyCase(name: "name: upper case", toml: "[[group]]\nname = \"Batch\"\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 1, message: "invalid group name 'Batch'; expected 1..63 lowercase letters, digits, '_' or '-', starting with a letter"),
    BadPolicyCase(name: "name: empty", toml: "[[group]]\nname = \"\"\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 1, message: "invalid group name ''"),
    BadPolicyCase(name: "name: a path", toml: "[[group]]\nname = \"../etc\"\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 1, message: "invalid group name '../etc'"),
    BadPolicyCase(name: "name: starts with a digit", toml: "[[group]]\nname = \"1st\"\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 1, message: "invalid group name '1st'"),
    BadPolicyCase(
        name: "name: 64 characters", toml: "[[group]]\nname = \"\(String(repeating: "a", count: 64))\"\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 1,
        message: "invalid group name"),
    BadPolicyCase(
        name: "name: duplicate", toml: "[[group]]\nname = \"batch\"\nshares = 1\nmatch.comm = \"x\"\n\n[[group]]\nshares = 2\n  name = \"batch\"\nmatch.comm = \"y\"\n", line: 8, column: 3,
        message: "duplicate group name 'batch'; the [[group]] on line 1 already uses it"),
    BadPolicyCase(name: "shares: a string", toml: "[[group]]\nname = \"a\"\nshares = \"400\"\nmatch.comm = \"x\"\n", line: 3, column: 1, message: "shares must be an integer 1..10000, got a string"),
    BadPolicyCase(name: "shares: a float", toml: "[[group]]\nname = \"a\"\nshares = 400.0\nmatch.comm = \"x\"\n", line: 3, column: 1, message: "shares must be an integer 1..10000, got a floating-point number"),
    BadPolicyCase(name: "shares: zero", toml: "[[group]]\nname = \"a\"\nshares = 0\nmatch.comm = \"x\"\n", line: 3, column: 1, message: "shares must be an integer 1..10000, got 0"),
    BadPolicyCase(name: "shares: negative", toml: "[[group]]\nname = \"a\"\nshares = -5\nmatch.comm = \"x\"\n", line: 3, column: 1, message: "got -5"),
    BadPolicyCase(name: "shares: too many", toml: "[[group]]\nname = \"a\"\nshares = 10_001\nmatch.comm = \"x\"\n", line: 3, column: 1, message: "shares must be an integer 1..10000, got 10001"),
    BadPolicyCase(name: "io_shares: zero", toml: "[[group]]\nname = \"a\"\nshares = 1\nio_shares = 0\nmatch.comm = \"x\"\n", line: 4, column: 1, message: "io_shares must be an integer 1..10000, got 0"),
    BadPolicyCase(name: "io_shares: an array", toml: "[[group]]\nname = \"a\"\nshares = 1\nio_shares = [1]\nmatch.comm = \"x\"\n", line: 4, column: 1, message: "io_shares must be an integer 1..10000, got an array"),

    // [group.match]
    BadPolicyCase(name: "match: a string", toml: "[[group]]\nname = \"a\"\nshares = 1\nmatch = \"bash\"\n", line: 4, column: 1, message: "match must be a table ([group.match] or match = { ... }), got a string"),
    BadPolicyCase(name: "match: [[group.match]]", toml: "[[group]]\nname = \"a\"\nshares = 1\n[[group.match]]\ncomm = \"x\"\n", line: 4, column: 1, message: "match must be a table ([group.match] or match = { ... }), got an array"),
    BadPolicyCase(name: "match: misspelt key", toml: matching("com = [\"bash\"]"), line: 5, column: 1, message: "unknown key 'com' in [group.match] of [[group]] 'g'; did you mean 'comm'?"),
    BadPolicyCase(name: "match: unknown key", toml: matching("pid = 1"), line: 5, column: 1, message: "unknown key 'pid' in [group.match] of [[group]] 'g'; expected one of: users, groups, comm, exe, cmdline, cgroup"),
    BadPolicyCase(name: "match: unknown key in an inline table", toml: "[[group]]\nname = \"g\"\nshares = 1\nmatch = { comm = \"x\", usr = [\"alice\"] }\n", line: 4, column: 23, message: "unknown key 'usr' in [group.match] of [[group]] 'g'; did you mean 'users'?"),
    BadPolicyCase(name: "match: unknown sub-table", toml: matching("comm = \"x\"\n[group.match.extra]\ny = 1"), line: 6, column: 1, message: "unknown key 'extra' in [group.match]"),
    BadPolicyCase(name: "users: negative id", toml: matching("users = [\"alice\", -1]"), line: 5, column: 19, message: "uid -1 in users is out of range; expected 0..4294967294"),
    BadPolicyCase(name: "users: (uid_t)-1", toml: matching("users = 4294967295"), line: 5, column: 1, message: "uid 4294967295 in users is out of range"),
    BadPolicyCase(name: "groups: beyond 32 bits", toml: matching("groups = [4294967296]"), line: 5, column: 11, message: "gid 4294967296 in groups is out of range; expected 0..4294967294"),
    BadPolicyCase(name: "users: empty name", toml: matching("users = [\"\"]"), line: 5, column: 10, message: "users entry is an empty string; expected a user name or a uid"),
    BadPolicyCase(name: "groups: a boolean", toml: matching("groups = [true]"), line: 5, column: 11, message: "groups entries must be group names (strings) or gids (integers), got a boolean"),
    BadPolicyCase(name: "users: a float", toml: matching("users = 1001.0"), line: 5, column: 1, message: "users entries must be user names (strings) or uids (integers), got a floating-point number"),
    BadPolicyCase(name: "users: an empty list", toml: matching("users = []"), line: 5, column: 1, message: "users is an empty list; expected at least one entry, or remove the key"),
    BadPolicyCase(name: "comm: a number", toml: matching("comm = [1]"), line: 5, column: 9, message: "comm entries must be process names (strings), got an integer"),
    BadPolicyCase(name: "comm: a nested list", toml: matching("comm = [[\"x\"]]"), line: 5, column: 9, message: "comm entries must be process names (strings), got an array"),
    BadPolicyCase(name: "comm: an inline table", toml: matching("comm = { a = 1 }"), line: 5, column: 1, message: "got an inline table"),
    BadPolicyCase(name: "comm: empty string", toml: matching("comm = [\"bash\", \"\"]"), line: 5, column: 17, message: "comm entry is an empty string; expected a process name of 1..15 bytes"),
    BadPolicyCase(name: "comm: an empty list", toml: matching("comm = []"), line: 5, column: 1, message: "comm is an empty list"),
    BadPolicyCase(
        name: "comm: 16 bytes", toml: matching("comm = \"sixteen-bytes-xx\""), line: 5, column: 1,
        message: "comm 'sixteen-bytes-xx' is 16 bytes long, but the kernel keeps only the first 15 bytes of a process name, so it would never match; expected 1..15 bytes"),
    BadPolicyCase(name: "comm: 9 characters, 18 bytes", toml: matching("comm = [\"ééééééééé\"]"), line: 5, column: 9, message: "is 18 bytes long"),
    BadPolicyCase(
        name: "exe: not absolute", toml: matching("exe = [\"/bin/sh\", \"python3\"]"), line: 5, column: 19,
        message: "exe 'python3' is not absolute; expected the full path of an executable or a glob starting with '/'"),
    BadPolicyCase(name: "exe: unterminated class", toml: matching("exe = \"/usr/bin/[py\""), line: 5, column: 1, message: "invalid glob '/usr/bin/[py' in exe"),
    BadPolicyCase(name: "exe: trailing backslash", toml: matching(#"exe = '/usr/bin/x\'"#), line: 5, column: 1, message: "invalid glob '/usr/bin/x\\' in exe"),
    BadPolicyCase(name: "exe: empty string", toml: matching("exe = \"\""), line: 5, column: 1, message: "exe entry is an empty string; expected an absolute path or glob"),
    BadPolicyCase(name: "cmdline: invalid regex", toml: matching("cmdline = [\"--batch(\"]"), line: 5, column: 12, message: "invalid regular expression '--batch(' in cmdline: missing ): --batch( (RE2 syntax: no backreferences or lookaround)"),
    BadPolicyCase(name: "cmdline: bad range", toml: matching("cmdline = '[z-a]'"), line: 5, column: 1, message: "invalid regular expression '[z-a]' in cmdline"),
    BadPolicyCase(name: "cmdline: empty string", toml: matching("cmdline = [\"\"]"), line: 5, column: 12, message: "cmdline entry is an empty string; expected a regular expression"),
    BadPolicyCase(name: "cmdline: a number", toml: matching("cmdline = 5"), line: 5, column: 1, message: "cmdline entries must be regular expressions (strings), got an integer"),
    BadPolicyCase(name: "cgroup: relative", toml: matching("cgroup = [\"user.slice/*\"]"), line: 5, column: 11, message: "cgroup 'user.slice/*' does not start with '/'"),
    BadPolicyCase(name: "cgroup: unterminated class", toml: matching("cgroup = [\"/user.slice/[ab\"]"), line: 5, column: 11, message: "invalid glob '/user.slice/[ab' in cgroup"),

    // Locating values written in other shapes.
    BadPolicyCase(name: "dotted match key", toml: "[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = [\"ok\", 2]\n", line: 4, column: 21, message: "got an integer"),
    BadPolicyCase(name: "inline match table", toml: "[[group]]\nname = \"g\"\nshares = 1\nmatch = { comm = [\"\"] }\n", line: 4, column: 19, message: "comm entry is an empty string"),
    BadPolicyCase(name: "an element on its own line", toml: matching("comm = [\n  \"bash\",  # a shell\n\n    \"much-too-long-name\",\n]"), line: 8, column: 5, message: "comm 'much-too-long-name'"),
    BadPolicyCase(name: "the n-th group", toml: matching("comm = \"a\"") + "\n[[group]]\nname = \"h\"\nshares = 1\n\n[[group]]\nname = \"i\"\nshares = 1\n[group.match]\n  users = -3\n", line: 15, column: 3, message: "uid -3"),
    BadPolicyCase(
        name: "after a multi-line string holding a header",
        toml: "[[group]]\nname = \"a\"\nshares = 1\nmatch.cmdline = \"\"\"\n[[group]]\nshares = 5\n\"\"\"\n[[group]]\nname = \"b\"\nshares = 0\nmatch.comm = \"b\"\n",
        line: 10, column: 1, message: "shares must be an integer 1..10000, got 0"),
    BadPolicyCase(name: "CRLF lines", toml: "[[group]]\r\nname = \"a\"\r\n\r\nshares = 0\r\nmatch.comm = \"x\"\r\n", line: 4, column: 1, message: "got 0"),
    BadPolicyCase(name: "after a byte order mark", toml: "\u{FEFF}  shares = 1\n", line: 1, column: 3, message: "unknown top-level key 'shares'"),
    BadPolicyCase(name: "after non-ASCII text", toml: matching("comm = [\"é\", \"ü\", 3]"), line: 5, column: 19, message: "got an integer"),
]

@Test("bad policies report one problem, located, saying what is expected", arguments: badPolicies)
func badPolicy(_ c: BadPolicyCase) {
    c.expectOneLocatedProblem()
}

@Test func everyProblemIsReportedInSourceOrder() {
    let toml = #"""
        [agent]
        interval = "5ms"
        report_interval = "1s"

        [[group]]
        name = "Batch"
        shares = 0
        [group.match]
        comm = "a-name-that-is-too-long"
        exe = "python"

        [[group]]
        shares = "1"
        """#
    do {
        _ = try PolicyParser.parse(toml, file: "/etc/fairshare/policy.toml")
        Issue.record("expected an error")
    } catch {
        let expected = [
            ExpectedNote(line: 2, column: 1, message: "interval '5ms' is out of range"),
            ExpectedNote(line: 6, column: 1, message: "invalid group name 'Batch'"),
            ExpectedNote(line: 7, column: 1, message: "shares must be an integer 1..10000, got 0"),
            ExpectedNote(line: 9, column: 1, message: "comm 'a-name-that-is-too-long' is 23 bytes long"),
            ExpectedNote(line: 10, column: 1, message: "exe 'python' is not absolute"),
            ExpectedNote(line: 12, column: 1, message: "[[group]] #2 has no name"),
            ExpectedNote(line: 13, column: 1, message: "shares must be an integer 1..10000, got a string"),
        ]
        #expect(error.problems.count == expected.count, "\(error)")
        for (got, want) in zip(error.problems, expected) {
            #expect((got.location.line, got.location.column) == (want.line, want.column), "\(got)")
            #expect(got.message.hasPrefix(want.message), "\(got)")
        }
        #expect(error.problems.allSatisfy { $0.location.file == "/etc/fairshare/policy.toml" })
        #expect(error.description.hasPrefix("/etc/fairshare/policy.toml:2:1: error: interval '5ms' is out of range"))
    }
}

@Test func aKeyWithANULEscapeIsReportedNotCrashed() {
    do {
        _ = try PolicyParser.parse(#""sh\u0000ares" = 1"#, file: "k.toml")
        Issue.record("expected an error")
    } catch {
        #expect(error.problems.map(\.location.column) == [4])
        #expect(error.problems.first?.message.contains("NUL") == true)
    }
}

/// Cutting a good policy anywhere, or swapping one character, gives a policy or a located error:
/// never a crash, and never a location outside the text.
@Test func truncatedAndMangledPoliciesNeverCrash() throws {
    let text = try String(contentsOf: configDirectory.appending(path: "examples/multi-user-server.toml"), encoding: .utf8)
    let scalars = Array(text.unicodeScalars)
    let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
    var variants: [String] = []
    for end in stride(from: 0, through: scalars.count, by: 3) {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars[..<end])
        variants.append(String(s))
    }
    let replacements: [Unicode.Scalar] = ["[", "]", "\"", "'", "=", "\n", "#", "{", ".", "0", "\\"]
    var generator = SplitMix64(seed: 42)
    for _ in 0..<400 {
        var s = scalars
        let at = Int(generator.next() % UInt64(s.count))
        s[at] = replacements[Int(generator.next() % UInt64(replacements.count))]
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s)
        variants.append(String(view))
    }
    for variant in variants {
        do {
            _ = try PolicyParser.parse(variant, file: "m.toml")
        } catch {
            #expect(!error.problems.isEmpty)
            for problem in error.problems {
                #expect((1...lineCount + 1).contains(problem.location.line), "\(problem)")
                #expect(problem.location.column >= 1, "\(problem)")
            }
        }
    }
}

/// Random runs of TOML's building blocks. A longer run of this found the toml++ 3.4 assertions
/// (aborts in a debug build) that the parser now reports itself (PolicySourceIndex.tomlTrap).
@Test func randomTOMLFragmentsNeverCrash() {
    let prefixes = ["", "a = ", "a = [", "[[group]]\nmatch = { comm = ", "x = 1979-05-27", "[a]\nb = [1,\n"]
    let fragments = [
        "[", "]", "[[", "]]", "\"", "'", "\"\"\"", "'''", "=", "\n", "\r\n", "\r", " ", "\t", "#", "{", "}", ",", ".", "a", "group",
        "match", "1", "0x", "0o", "0b", "-", "+", "e", ":", "T", "Z", "\\", "\\u", "inf", "nan", "true", "_", "é", "\u{A0}", "\u{2028}",
        "0", "12", "[[group]]\n", "[group.match]\n", "\n[", "= [", "{ a = ", "1979-05-27T", "1979-05-27 ", "07:32", "+07:00", ".5", "e5",
        "0x1p", "1979-05-27T07:32:00", "\"\"", "\\\n", "\\\"", "\\U", "\u{0}",
    ]
    var generator = SplitMix64(seed: 7)
    for _ in 0..<20_000 {
        var text = prefixes[Int(generator.next() % UInt64(prefixes.count))]
        for _ in 0..<(1 + generator.next() % 24) { text += fragments[Int(generator.next() % UInt64(fragments.count))] }
        do {
            _ = try PolicyParser.parse(text, file: "f.toml")
        } catch {
            #expect(!error.problems.isEmpty)
        }
    }
}


// MARK: - Shipped policies

let configDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appending(path: "config")

@Test(
    "shipped policies parse without errors or warnings",
    arguments: ["policy.toml", "examples/multi-user-server.toml", "examples/build-farm.toml", "examples/database-backups.toml",
                "examples/people.toml"])
func shippedPolicy(_ relativePath: String) throws {
    let url = configDirectory.appending(path: relativePath)
    let text = try String(contentsOf: url, encoding: .utf8)
    let policy = try PolicyParser.parse(text, file: url.path)
    #expect(policy.warnings.isEmpty, "\(policy.warnings)")
    #expect(policy.groups.count >= 2)
    // A group that holds groups (research in people.toml) has no match of its own.
    #expect(policy.groups.allSatisfy { !$0.match.isEmpty || policy.children(of: $0.name).count > 0 })
}

@Test func defaultPolicyHasInteractiveAndBatchGroups() throws {
    let text = try String(contentsOf: configDirectory.appending(path: "policy.toml"), encoding: .utf8)
    let policy = try PolicyParser.parse(text, file: "policy.toml")
    let interactive = try #require(policy.group(named: GroupName("interactive")!))
    let batch = try #require(policy.group(named: GroupName("batch")!))
    #expect(interactive.shares > batch.shares)
    #expect(batch.match.comm.contains("cc1plus"))
    #expect(policy.agent == AgentSettings())
}

// MARK: - Pieces

@Test func sourceIndexFindsHeadersKeysAndElements() {
    let index = PolicySourceIndex(
        scanning: #"""
            [agent]   # settings
              interval = "2s"
            [[group]]
            name = "a"
            [group.match]
            comm = ["x",
                    "y"]
            [[group]]
            match = { "exe" = "/x", cgroup = ["/a"] }
            """#)
    typealias P = PolicySourceIndex.Position
    #expect(index.header([.key("agent")]) == P(line: 1, column: 1))
    #expect(index.entry([.key("agent"), .key("interval")]) == P(line: 2, column: 3))
    #expect(index.header([.key("group"), .index(0)]) == P(line: 3, column: 1))
    #expect(index.header([.key("group"), .index(0), .key("match")]) == P(line: 5, column: 1))
    #expect(index.entry([.key("group"), .index(0), .key("match"), .key("comm"), .index(1)]) == P(line: 7, column: 9))
    #expect(index.header([.key("group"), .index(1)]) == P(line: 8, column: 1))
    #expect(index.entry([.key("group"), .index(1), .key("match"), .key("exe")]) == P(line: 9, column: 11))
    #expect(index.entry([.key("group"), .index(1), .key("match"), .key("cgroup"), .index(0)]) == P(line: 9, column: 35))
    #expect(index.locate([.key("group"), .index(1), .key("name")]) == P(line: 8, column: 1))
    #expect(index.locate([.key("nothing")]) == .start)
}

@Test(arguments: [
    ("share", "shares"), ("Shares", "shares"), ("io-shares", "io_shares"), ("nmae", "name"), ("mtch", "match"), ("priority", nil),
    ("", nil),
] as [(String, String?)])
func keySuggestion(_ key: String, _ expected: String?) {
    #expect(KeySuggestion.closest(to: key, in: PolicyKeys.group) == expected)
}
