import Testing

@testable import FairsharePolicy

// `idle = true` in [[group]]: what it parses to, and every key that makes no sense with it.

/// An idle group named "scav" whose header is on line 1; `extra` lines start on line 3.
private func idleGroup(_ extra: String = "", idle: String = "true") -> String {
    "[[group]]\nname = \"scav\"\nidle = \(idle)\n" + extra + "match.comm = \"x\"\n"
}

let idleValidPolicies: [ValidPolicyCase] = [
    ValidPolicyCase(
        name: "idle without shares: its disk share defaults to 100",
        toml: idleGroup(),
        groups: [GroupPolicy(name: GroupName("scav")!, shares: Shares(100)!, ioShares: Shares(100)!, match: MatchRule(comm: ["x"]), line: 1, idle: true)]),
    ValidPolicyCase(
        name: "idle with io_shares, max, borrow and burst",
        toml: idleGroup("io_shares = 7\nmax = 1\nborrow = true\nburst = \"50%\"\n"),
        groups: [GroupPolicy(name: GroupName("scav")!, shares: Shares(7)!, ioShares: Shares(7)!, match: MatchRule(comm: ["x"]), line: 1,
                             ceiling: .cpus(1), borrow: true, burst: .percent(50), idle: true)]),
    ValidPolicyCase(
        name: "idle = false is an ordinary group, shares required as always",
        toml: "[[group]]\nname = \"n\"\nidle = false\nshares = 3\nmatch.comm = \"x\"\n",
        groups: [GroupPolicy(name: GroupName("n")!, shares: Shares(3)!, match: MatchRule(comm: ["x"]), line: 1)]),
]

@Test("valid idle groups parse to the expected model", arguments: idleValidPolicies)
func idleValidPolicy(_ c: ValidPolicyCase) throws {
    let policy = try PolicyParser.parse(c.toml, file: "valid.toml")
    #expect(policy.groups == c.groups)
    #expect(policy.warnings.isEmpty, "\(policy.warnings)")
}

let idleBadPolicies: [BadPolicyCase] = [
    BadPolicyCase(name: "idle is not a boolean", toml: idleGroup(idle: "1"), line: 3, column: 1, message: "idle must be true or false, got an integer"),
    BadPolicyCase(name: "idle with shares: no CPU weight to give", toml: idleGroup("shares = 10\n"), line: 4, column: 1,
                  message: "shares can not be set on [[group]] 'scav': it is idle (idle = true), and an idle group has no CPU weight (the kernel refuses cpu.weight while cpu.idle = 1"),
    BadPolicyCase(name: "idle with min: nothing can be guaranteed", toml: idleGroup("min = 1\n"), line: 4, column: 1,
                  message: "min can not be set on [[group]] 'scav': it is idle (idle = true) and runs only on CPU time no other group wants"),
    BadPolicyCase(name: "idle on a unit-backed group: systemd's CPUWeight=idle", toml: "[[group]]\nname = \"u\"\nidle = true\nmatch.units = [\"a.service\"]\n",
                  line: 3, column: 1, message: "give the units CPUWeight=idle in systemd instead"),
    BadPolicyCase(name: "neither shares nor idle", toml: "[[group]]\nname = \"n\"\nmatch.comm = \"x\"\n", line: 1, column: 1,
                  message: "or idle = true for a group that runs only on CPU time nobody else wants"),
    BadPolicyCase(name: "a misspelt idle gets a suggestion", toml: "[[group]]\nname = \"n\"\nshares = 1\nidel = true\nmatch.comm = \"x\"\n", line: 4, column: 1,
                  message: "did you mean 'idle'?"),
]

@Test("bad idle groups report one problem, located, saying why", arguments: idleBadPolicies)
func idleBadPolicy(_ c: BadPolicyCase) {
    c.expectOneLocatedProblem()
}
