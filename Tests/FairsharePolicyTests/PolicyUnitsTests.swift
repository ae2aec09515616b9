import Foundation
import Testing

@testable import FairsharePolicy

// `units` in [group.match]: unit-backed groups, every error with its location.

private func unitGroup(_ name: String, _ shares: Int, line: Int, _ units: String...) -> GroupPolicy {
    GroupPolicy(name: GroupName(name)!, shares: Shares(shares)!, match: MatchRule(units: units.map { UnitPattern($0)! }), line: line)
}

private func commGroup(_ name: String, _ shares: Int, line: Int = 0, _ comm: String...) -> GroupPolicy {
    GroupPolicy(name: GroupName(name)!, shares: Shares(shares)!, match: MatchRule(comm: comm), line: line)
}

/// A unit group named `name` whose [group.match] header is on line 4 and `units` line on line 5.
private func units(_ list: String, name: String = "db", extra: String = "") -> String {
    "[[group]]\nname = \"\(name)\"\nshares = 2\n[group.match]\nunits = \(list)\n" + extra
}

let unitValidPolicies: [ValidPolicyCase] = [
    ValidPolicyCase(
        name: "the issue's example beside agent-owned groups",
        toml: #"""
            [[group]]
            name = "low"
            shares = 1
            match.comm = "burn_a"

            [[group]]
            name = "db"
            shares = 2
            io_shares = 3
            [group.match]
            units = ["postgresql.service", "docker-*.scope", "user-*.slice"]
            """#,
        groups: [
            commGroup("low", 1, line: 1, "burn_a"),
            GroupPolicy(name: GroupName("db")!, shares: Shares(2)!, ioShares: Shares(3)!,
                        match: MatchRule(units: ["postgresql.service", "docker-*.scope", "user-*.slice"].map { UnitPattern($0)! }), line: 6),
        ]),
    ValidPolicyCase(
        name: "one unit as a single value; instances, escapes, classes",
        toml: units("\"getty@tty1.service\"") + units("[\"systemd-fsck@dev-disk-by\\\\x2duuid.service\", \"user-100[0-9].slice\", \"run-u?.scope\"]", name: "more"),
        groups: [
            unitGroup("db", 2, line: 1, "getty@tty1.service"),
            unitGroup("more", 2, line: 6, #"systemd-fsck@dev-disk-by\x2duuid.service"#, "user-100[0-9].slice", "run-u?.scope"),
        ]),
    ValidPolicyCase(
        name: "the same glob in two groups is allowed: the first group takes the unit",
        toml: units("[\"docker-*.scope\"]", name: "a") + units("[\"docker-*.scope\"]", name: "b"),
        groups: [unitGroup("a", 2, line: 1, "docker-*.scope"), unitGroup("b", 2, line: 6, "docker-*.scope")]),
]

@Test("valid unit-backed groups parse to the expected model", arguments: unitValidPolicies)
func unitValidPolicy(_ c: ValidPolicyCase) throws {
    let policy = try PolicyParser.parse(c.toml, file: "valid.toml")
    #expect(policy.groups == c.groups)
    #expect(policy.warnings.isEmpty, "\(policy.warnings)")
}

let unitBadPolicies: [BadPolicyCase] = [
    BadPolicyCase(name: "units: misspelt key", toml: "[[group]]\nname = \"db\"\nshares = 2\n[group.match]\nunit = [\"a.service\"]\n", line: 5, column: 1,
                  message: "unknown key 'unit' in [group.match] of [[group]] 'db'; did you mean 'units'?"),
    BadPolicyCase(name: "units: an empty list", toml: units("[]"), line: 5, column: 1, message: "units is an empty list"),
    BadPolicyCase(name: "units: a number", toml: units("[5]"), line: 5, column: 10, message: "units entries must be unit names or globs (strings), got an integer"),
    BadPolicyCase(name: "units: an empty string", toml: units("[\"a.service\", \"\"]"), line: 5, column: 23, message: "units entry is an empty string; expected a unit name such as \"postgresql.service\""),
    BadPolicyCase(name: "units: no suffix", toml: units("[\"postgresql\"]"), line: 5, column: 10,
                  message: "unit 'postgresql' has no type suffix; expected a full unit name ending in .service, .scope or .slice, e.g. 'postgresql.service'"),
    BadPolicyCase(name: "units: misspelt suffix", toml: units("[\"postgresql.servce\"]"), line: 5, column: 10,
                  message: "unit 'postgresql.servce' has the unknown type '.servce'; expected a full unit name ending in .service, .scope or .slice; did you mean 'postgresql.service'?"),
    BadPolicyCase(name: "units: misspelt slice", toml: units("\"user-1000.slcie\""), line: 5, column: 1, message: "did you mean 'user-1000.slice'?"),
    BadPolicyCase(name: "units: an unknown suffix", toml: units("[\"a.bogus\"]"), line: 5, column: 10, message: "unit 'a.bogus' has the unknown type '.bogus'; expected a full unit name ending in .service, .scope or .slice"),
    BadPolicyCase(name: "units: a target", toml: units("[\"multi-user.target\"]"), line: 5, column: 10,
                  message: "unit 'multi-user.target' is a target unit; only .service, .scope and .slice units can back a group"),
    BadPolicyCase(name: "units: a socket", toml: units("[\"docker.socket\"]"), line: 5, column: 10, message: "is a socket unit"),
    BadPolicyCase(name: "units: a glob in the suffix", toml: units("[\"docker-*.s*\"]"), line: 5, column: 10,
                  message: "the type suffix of unit 'docker-*.s*' must be written out"),
    BadPolicyCase(name: "units: a glob without suffix", toml: units("[\"docker-*\"]"), line: 5, column: 10, message: "unit 'docker-*' has no type suffix"),
    BadPolicyCase(name: "units: a space", toml: units("[\"my db.service\"]"), line: 5, column: 10,
                  message: "unit 'my db.service' contains ' ', which systemd does not allow in unit names"),
    BadPolicyCase(name: "units: a slash", toml: units("[\"system.slice/cron.service\"]"), line: 5, column: 10, message: "contains '/'"),
    BadPolicyCase(name: "units: non-ASCII", toml: units("[\"caf\u{E9}.service\"]"), line: 5, column: 10, message: "contains 'é'"),
    BadPolicyCase(name: "units: a control character", toml: units("[\"a\\tb.service\"]"), line: 5, column: 10, message: "contains U+0009"),
    BadPolicyCase(name: "units: nothing before the suffix", toml: units("[\".service\"]"), line: 5, column: 10, message: "unit '.service' has no name before its type suffix"),
    BadPolicyCase(name: "units: a template", toml: units("[\"getty@.service\"]"), line: 5, column: 10,
                  message: "unit 'getty@.service' is a template: it never runs itself and has no cgroup; name an instance such as 'getty@1.service' or a glob 'getty@*.service'"),
    BadPolicyCase(name: "units: two @", toml: units("[\"a@b@c.service\"]"), line: 5, column: 10, message: "has more than one '@'"),
    BadPolicyCase(name: "units: the root slice", toml: units("[\"-.slice\"]"), line: 5, column: 10, message: "the root slice -.slice is the whole machine"),
    BadPolicyCase(name: "units: an unterminated class", toml: units("[\"user-[0-9.slice\"]"), line: 5, column: 10, message: "invalid glob 'user-[0-9.slice' in units: an unterminated '[' class"),
    BadPolicyCase(name: "units: too long", toml: units("[\"\(String(repeating: "a", count: 250)).service\"]"), line: 5, column: 10, message: "is 258 bytes long; systemd allows at most 255"),
    BadPolicyCase(name: "units: listed twice", toml: units("[\"a.service\", \"b.service\", \"a.service\"]"), line: 5, column: 36,
                  message: "unit 'a.service' is listed twice in [[group]] 'db'; remove one"),
    BadPolicyCase(name: "units: the same unit in two groups", toml: units("[\"a.service\"]", name: "one") + "\n" + units("[\"b.service\", \"a.service\"]", name: "two"),
                  line: 11, column: 23, message: "unit 'a.service' is already in [[group]] 'one' (line 1); a unit can belong to one group only"),
    BadPolicyCase(name: "units with comm", toml: units("[\"a.service\"]", extra: "comm = \"postgres\"\n"), line: 5, column: 1,
                  message: "units can not be combined with comm in [[group]] 'db': a unit-backed group's processes stay in their units (the agent moves nothing into or out of them), so there is nothing for comm to select; put that key in a group of its own"),
    BadPolicyCase(name: "units with users and cgroup", toml: units("[\"a.service\"]", extra: "users = [\"postgres\"]\ncgroup = \"/system.slice/*\"\n"), line: 5, column: 1,
                  message: "units can not be combined with users, cgroup in [[group]] 'db'"),
    BadPolicyCase(name: "units with min", toml: "[[group]]\nname = \"db\"\nshares = 2\nmin = \"1\"\nmatch.units = \"a.service\"\n", line: 4, column: 1,
                  message: "min can not be set on [[group]] 'db': it is unit-backed (units in its match table), and the agent never writes cpu.max or any other file of a cgroup systemd owns"),
    BadPolicyCase(name: "units with max", toml: "[[group]]\nname = \"db\"\nshares = 2\nmax = \"50%\"\nmatch.units = \"a.service\"\n", line: 4, column: 1,
                  message: "max can not be set on [[group]] 'db': it is unit-backed (units in its match table), and the agent never writes cpu.max or any other file of a cgroup systemd owns; use the unit's own CPUQuota= for a ceiling, or remove max"),
    BadPolicyCase(name: "units with borrow (one problem, not also 'borrow needs a max')", toml: "[[group]]\nname = \"db\"\nshares = 2\nborrow = true\nmatch.units = \"a.service\"\n",
                  line: 4, column: 1, message: "borrow can not be set on [[group]] 'db': it is unit-backed"),
    BadPolicyCase(name: "units with burst", toml: "[[group]]\nname = \"db\"\nshares = 2\nburst = \"1\"\nmatch = { units = [\"a.service\"] }\n", line: 4, column: 1,
                  message: "burst can not be set on [[group]] 'db': it is unit-backed"),
    BadPolicyCase(name: "units with max_burst", toml: "[[group]]\nname = \"db\"\nshares = 2\nmax_burst = \"1\"\nmatch.units = \"a.service\"\n", line: 4, column: 1,
                  message: "max_burst can not be set on [[group]] 'db': it is unit-backed (units in its match table), and the agent never writes cpu.max or any other file of a cgroup systemd owns; it would be the unit's cpu.max.burst; remove max_burst"),
]

@Test("bad unit-backed groups report one problem, located, saying what is expected", arguments: unitBadPolicies)
func unitBadPolicy(_ c: BadPolicyCase) {
    c.expectOneLocatedProblem()
}

/// The commented unit-backed example in the default policy parses when its lines are taken in.
@Test func defaultPolicyUnitExampleIsValid() throws {
    let text = try String(contentsOf: configDirectory.appending(path: "policy.toml"), encoding: .utf8)
    let lines = text.split(separator: "\n")
    let start = try #require(lines.firstIndex { $0.contains("A unit-backed group:") })
    let example = lines[start...].filter { $0.hasPrefix("#   ") }.map { $0.dropFirst(4) }.joined(separator: "\n")
    #expect(example.contains("units"))
    let policy = try PolicyParser.parse(text + "\n" + example + "\n", file: "policy.toml")
    let unitGroup = try #require(policy.unitGroups.first)
    #expect(policy.unitGroups.count == 1)
    #expect(policy.cpuWeights()[unitGroup.name]?.value == unitGroup.shares.value, "the default policy's smallest share is 100: factor 1")
}
