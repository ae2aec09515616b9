import Foundation
import Testing

@testable import FairsharePolicy

// min, max, borrow, burst in [[group]]; fairness, half_life, max_boost in [agent]; capacityProblems.

func limited(
    _ name: String, _ shares: Int = 100, line: Int, comm: String = "x", floor: CPUAmount? = nil, ceiling: CPUAmount? = nil,
    borrow: Bool = false, burst: CPUAmount? = nil
) -> GroupPolicy {
    GroupPolicy(
        name: GroupName(name)!, shares: Shares(shares)!, match: MatchRule(comm: [comm]), line: line, floor: floor, ceiling: ceiling, borrow: borrow,
        burst: burst)
}

/// A valid group named `name` on line 1 whose extra `keys` start on line 4.
func withLimits(_ keys: String, name: String = "g") -> String {
    "[[group]]\nname = \"\(name)\"\nshares = 100\n" + keys + "\nmatch.comm = \"x\"\n"
}

/// An [agent] table on line 1 whose `keys` start on line 2, and a valid group after it.
private func agentWith(_ keys: String) -> String {
    "[agent]\n" + keys + "\n\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n"
}

let limitsValidPolicies: [ValidPolicyCase] = [
    ValidPolicyCase(
        name: "every new key",
        toml: #"""
            [agent]
            fairness = "decayed"
            half_life = "30m"
            max_boost = 2.5

            [[group]]
            name = "interactive"
            shares = 400
            min = "1.5"
            match.comm = "bash"

            [[group]]
            name = "batch"
            shares = 100
            min = "10%"
            max = "50%"
            borrow = true
            burst = "90%"
            match.comm = "make"

            [[group]]
            name = "numbers"
            shares = 100
            min = 1
            max = 1.5
            borrow = false
            match.comm = "x"
            """#,
        agent: AgentSettings(fairness: .decayed(halfLife: .seconds(1800), maxBoost: 2.5)),
        groups: [
            limited("interactive", 400, line: 6, comm: "bash", floor: .cpus(1.5)),
            limited("batch", line: 12, comm: "make", floor: .percent(10), ceiling: .percent(50), borrow: true, burst: .percent(90)),
            limited("numbers", line: 21, floor: .cpus(1), ceiling: .cpus(1.5)),
        ]),
    ValidPolicyCase(
        name: "no new keys: no limits, instant fairness",
        toml: withLimits(""),
        groups: [limited("g", line: 1)]),
    ValidPolicyCase(
        name: "decayed with the default half-life and boost",
        toml: agentWith("fairness = \"decayed\""),
        agent: AgentSettings(fairness: .decayed(halfLife: .seconds(600), maxBoost: 4)),
        groups: [limited("g", 1, line: 4)]),
    ValidPolicyCase(
        name: "instant given explicitly",
        toml: agentWith("fairness = \"instant\""),
        groups: [limited("g", 1, line: 4)]),
    ValidPolicyCase(
        name: "the smallest half-life and boost",
        toml: agentWith("fairness = \"decayed\"\nhalf_life = \"1s\"\nmax_boost = 1"),
        agent: AgentSettings(fairness: .decayed(halfLife: .seconds(1), maxBoost: 1)),
        groups: [limited("g", 1, line: 6)]),
    ValidPolicyCase(
        name: "the largest half-life and boost",
        toml: agentWith("fairness = \"decayed\"\nhalf_life = \"168h\"\nmax_boost = 100.0"),
        agent: AgentSettings(fairness: .decayed(halfLife: .seconds(7 * 24 * 3600), maxBoost: 100)),
        groups: [limited("g", 1, line: 6)]),
    ValidPolicyCase(
        name: "min == max == burst",
        toml: withLimits("min = \"2\"\nmax = \"2\"\nborrow = true\nburst = \"2\""),
        groups: [limited("g", line: 1, floor: .cpus(2), ceiling: .cpus(2), borrow: true, burst: .cpus(2))]),
    ValidPolicyCase(
        name: "borrow without burst: burst is the whole capacity",
        toml: withLimits("max = \"0.25\"\nborrow = true"),
        groups: [limited("g", line: 1, ceiling: .cpus(0.25), borrow: true)]),
    ValidPolicyCase(
        name: "100% in all, and spaces around the amount",
        toml: withLimits("min = \"33.3%\"", name: "a") + withLimits("min = \" 33.3% \"", name: "b") + withLimits("min = \"33.4%\"\nmax = \"100%\"", name: "c"),
        groups: [
            limited("a", line: 1, floor: .percent(33.3)), limited("b", line: 6, floor: .percent(33.3)),
            limited("c", line: 11, floor: .percent(33.4), ceiling: .percent(100)),
        ]),
    ValidPolicyCase(
        name: "mixed units are left to capacityProblems",
        toml: withLimits("min = \"3\"\nmax = \"50%\"\nborrow = true\nburst = 1"),
        groups: [limited("g", line: 1, floor: .cpus(3), ceiling: .percent(50), borrow: true, burst: .cpus(1))]),
    ValidPolicyCase(
        name: "percentage max values may add up to more than 100%",
        toml: withLimits("max = \"80%\"", name: "a") + withLimits("max = \"80%\"", name: "b"),
        groups: [limited("a", line: 1, ceiling: .percent(80)), limited("b", line: 6, ceiling: .percent(80))]),
    ValidPolicyCase(
        name: "limits in an inline group",
        toml: "group = [\n  { name = \"a\", shares = 1, max = \"1\", borrow = true, burst = \"3\", match = { comm = \"x\" } },\n]\n",
        groups: [limited("a", 1, line: 2, ceiling: .cpus(1), borrow: true, burst: .cpus(3))]),
]

@Test("valid policies with limits and fairness parse to the expected model", arguments: limitsValidPolicies)
func limitsValidPolicy(_ c: ValidPolicyCase) throws {
    let policy = try PolicyParser.parse(c.toml, file: "valid.toml")
    #expect(policy.agent == c.agent)
    #expect(policy.groups == c.groups)
    #expect(policy.warnings.isEmpty, "\(policy.warnings)")
}

let limitsBadPolicies: [BadPolicyCase] = [
    // Types.
    BadPolicyCase(
        name: "min: a boolean", toml: withLimits("min = true"), line: 4, column: 1,
        message: "min must be a number of CPUs like \"1.5\" (or 1.5) or a percentage of the root's capacity like \"25%\", got a boolean"),
    BadPolicyCase(name: "max: an array", toml: withLimits("max = [\"1\"]"), line: 4, column: 1, message: "max must be a number of CPUs like \"1.5\" (or 1.5) or a percentage"),
    BadPolicyCase(name: "burst: a table", toml: withLimits("max = \"1\"\nborrow = true\nburst = { cpus = 2 }"), line: 6, column: 1, message: "burst must be a number of CPUs like \"1.5\" (or 1.5) or a percentage of the root's capacity like \"25%\", got an inline table"),
    BadPolicyCase(name: "borrow: a string", toml: withLimits("max = \"1\"\nborrow = \"yes\""), line: 5, column: 1, message: "borrow must be true or false, got a string"),
    BadPolicyCase(name: "borrow: not a boolean is one problem, not also one for burst", toml: withLimits("max = \"1\"\nborrow = 1\nburst = \"2\""), line: 5, column: 1, message: "borrow must be true or false, got an integer"),

    // Unparsable.
    BadPolicyCase(name: "min: a word", toml: withLimits("min = \"half\""), line: 4, column: 1, message: "invalid CPU amount 'half' for min; expected a number of CPUs like \"1.5\" (or 1.5) or a percentage of the root's capacity like \"25%\""),
    BadPolicyCase(name: "max: a unit", toml: withLimits("max = \"2 CPUs\""), line: 4, column: 1, message: "invalid CPU amount '2 CPUs' for max"),
    BadPolicyCase(name: "max: only a percent sign", toml: withLimits("max = \"%\""), line: 4, column: 1, message: "invalid CPU amount '%' for max"),
    BadPolicyCase(name: "min: empty", toml: withLimits("min = \"\""), line: 4, column: 1, message: "invalid CPU amount '' for min"),
    BadPolicyCase(name: "min: an exponent", toml: withLimits("min = \"1e3\""), line: 4, column: 1, message: "invalid CPU amount '1e3' for min"),
    BadPolicyCase(name: "min: two dots", toml: withLimits("min = \"1.2.3\""), line: 4, column: 1, message: "invalid CPU amount '1.2.3' for min"),
    BadPolicyCase(name: "max: a per mille sign", toml: withLimits("max = \"50‰\""), line: 4, column: 1, message: "invalid CPU amount '50‰' for max"),
    BadPolicyCase(name: "max: nan", toml: withLimits("max = nan"), line: 4, column: 1, message: "invalid CPU amount nan for max"),
    BadPolicyCase(name: "min: inf", toml: withLimits("min = +inf"), line: 4, column: 1, message: "invalid CPU amount inf for min"),

    // Zero and negative.
    BadPolicyCase(name: "min: \"0\"", toml: withLimits("min = \"0\""), line: 4, column: 1, message: "min must be more than zero, got '0'; expected a number of CPUs"),
    BadPolicyCase(name: "min: \"0%\"", toml: withLimits("min = \"0%\""), line: 4, column: 1, message: "min must be more than zero, got '0%'"),
    BadPolicyCase(name: "max: \"0.0\"", toml: withLimits("max = \"0.0\""), line: 4, column: 1, message: "max must be more than zero, got '0.0'"),
    BadPolicyCase(name: "max: \"-1\"", toml: withLimits("max = \"-1\""), line: 4, column: 1, message: "max must be more than zero, got '-1'"),
    BadPolicyCase(name: "max: \"-5%\"", toml: withLimits("max = \"-5%\""), line: 4, column: 1, message: "max must be more than zero, got '-5%'"),
    BadPolicyCase(name: "min: integer 0", toml: withLimits("min = 0"), line: 4, column: 1, message: "min must be more than zero, got 0; expected"),
    BadPolicyCase(name: "max: integer -2", toml: withLimits("max = -2"), line: 4, column: 1, message: "max must be more than zero, got -2"),
    BadPolicyCase(name: "max: float -0.5", toml: withLimits("max = -0.5"), line: 4, column: 1, message: "max must be more than zero, got -0.5"),
    BadPolicyCase(name: "burst: float 0.0", toml: withLimits("max = 1\nborrow = true\nburst = 0.0"), line: 6, column: 1, message: "burst must be more than zero, got 0"),
    BadPolicyCase(name: "max: invalid with borrow is one problem, not also 'needs a max'", toml: withLimits("max = \"0\"\nborrow = true"), line: 4, column: 1, message: "max must be more than zero"),

    // Above 100%.
    BadPolicyCase(
        name: "min: 150%", toml: withLimits("min = \"150%\""), line: 4, column: 1,
        message: "min '150%' is more than 100% of the root's capacity; expected a percentage above 0% and at most 100%, or a number of CPUs like \"4\""),
    BadPolicyCase(name: "burst: 100.5%", toml: withLimits("max = \"1\"\nborrow = true\nburst = \"100.5%\""), line: 6, column: 1, message: "burst '100.5%' is more than 100%"),

    // borrow and burst.
    BadPolicyCase(
        name: "borrow = true without max", toml: withLimits("min = \"1\"\n  borrow = true"), line: 5, column: 3,
        message: "borrow = true in [[group]] 'g' needs a max: borrowing lets the group use idle capacity above its max, and it has no max to go beyond; add max = \"...\" or remove borrow"),
    BadPolicyCase(
        name: "burst without borrow", toml: withLimits("max = \"1\"\nburst = \"2\""), line: 5, column: 1,
        message: "burst in [[group]] 'g' applies only with borrow = true (it bounds how far a borrowing group may go above its max), but it has no borrow; add borrow = true or remove burst"),
    BadPolicyCase(name: "burst with borrow = false", toml: withLimits("max = \"1\"\nborrow = false\nburst = \"2\""), line: 6, column: 1, message: "applies only with borrow = true (it bounds how far a borrowing group may go above its max), but its borrow is false"),
    BadPolicyCase(name: "burst and borrow = true, but no max", toml: withLimits("borrow = true\nburst = \"2\""), line: 4, column: 1, message: "borrow = true in [[group]] 'g' needs a max"),

    // max_burst (cpu.max.burst).
    BadPolicyCase(
        name: "max_burst without max", toml: withLimits("max_burst = \"0.5\""), line: 4, column: 1,
        message: "max_burst in [[group]] 'g' needs a max: it is unused quota the group may bank to run above its max for a moment (cpu.max.burst), and it has no max; add max = \"...\" or remove max_burst"),
    BadPolicyCase(
        name: "max_burst above max, CPUs", toml: withLimits("max = \"1\"\nmax_burst = 1.5"), line: 5, column: 1,
        message: "max_burst (1.5 CPUs) is larger than max (1 CPU) in [[group]] 'g'; the kernel keeps a burst within the quota, expected max_burst <= max"),
    BadPolicyCase(name: "max_burst above max, percent", toml: withLimits("max = \"20%\"\nmax_burst = \"30%\""), line: 5, column: 1, message: "max_burst (30%) is larger than max (20%)"),
    BadPolicyCase(name: "max_burst: zero", toml: withLimits("max = 1\nmax_burst = 0"), line: 5, column: 1, message: "max_burst must be more than zero, got 0"),
    BadPolicyCase(name: "max_burst: a word", toml: withLimits("max = 1\nmax_burst = \"some\""), line: 5, column: 1, message: "max_burst"),
    BadPolicyCase(name: "group: misspelt max_burst", toml: withLimits("max = 1\nmaxburst = 0.5"), line: 5, column: 1, message: "did you mean 'max_burst'?"),

    // Order within a group, same unit.
    BadPolicyCase(
        name: "min above max, CPUs", toml: withLimits("max = 1\nmin = \"2\""), line: 5, column: 1,
        message: "min (2 CPUs) is larger than max (1 CPU) in [[group]] 'g'; expected min <= max"),
    BadPolicyCase(name: "min above max, percent", toml: withLimits("min = \"60%\"\nmax = \"50%\""), line: 4, column: 1, message: "min (60%) is larger than max (50%) in [[group]] 'g'; expected min <= max"),
    BadPolicyCase(
        name: "max above burst, CPUs", toml: withLimits("max = \"2.5\"\nborrow = true\nburst = \"2\""), line: 4, column: 1,
        message: "max (2.5 CPUs) is larger than burst (2 CPUs) in [[group]] 'g'; expected max <= burst"),
    BadPolicyCase(name: "max above burst, percent", toml: withLimits("max = \"50%\"\nborrow = true\nburst = \"40%\""), line: 4, column: 1, message: "max (50%) is larger than burst (40%)"),

    // Across groups.
    BadPolicyCase(
        name: "percentage mins above 100%", toml: withLimits("min = \"60%\"", name: "a") + withLimits("min = \"1\"", name: "b") + withLimits("  min = \"40.5%\"", name: "c"),
        line: 14, column: 3,
        message: "the groups' percentage min add up to 100.5% with [[group]] 'c' ([[group]] 'a' 60% + [[group]] 'c' 40.5%); expected at most 100% of the root's capacity in all"),

    // Keys.
    BadPolicyCase(name: "group: misspelt borrow", toml: withLimits("max = \"1\"\nbrrow = true"), line: 5, column: 1, message: "unknown key 'brrow' in [[group]] 'g'; did you mean 'borrow'?"),
    BadPolicyCase(name: "group: misspelt burst", toml: withLimits("bursts = \"1\""), line: 4, column: 1, message: "did you mean 'burst'?"),
    BadPolicyCase(name: "group: misspelt min", toml: withLimits("mim = \"1\""), line: 4, column: 1, message: "did you mean 'min'?"),
    BadPolicyCase(
        name: "group: unknown key lists the limits", toml: withLimits("ceiling = \"1\""), line: 4, column: 1,
        message: "unknown key 'ceiling' in [[group]] 'g'; expected one of: name, shares, io_shares, idle, min, max, borrow, burst, max_burst, match"),
    BadPolicyCase(name: "max at the top level", toml: "max = \"1\"\n", line: 1, column: 1, message: "unknown top-level key 'max'; 'max' belongs in a [[group]] table"),
    BadPolicyCase(name: "fairness at the top level", toml: "fairness = \"decayed\"\n", line: 1, column: 1, message: "'fairness' belongs in the [agent] table"),
    BadPolicyCase(name: "agent: misspelt fairness", toml: agentWith("fairnes = \"decayed\""), line: 2, column: 1, message: "unknown key 'fairnes' in [agent]; did you mean 'fairness'?"),
    BadPolicyCase(name: "agent: half-life", toml: agentWith("half-life = \"1m\""), line: 2, column: 1, message: "did you mean 'half_life'?"),
    BadPolicyCase(name: "agent: maxboost", toml: agentWith("maxboost = 2"), line: 2, column: 1, message: "did you mean 'max_boost'?"),
    BadPolicyCase(
        name: "agent: unknown key lists the fairness keys", toml: agentWith("threads = 4"), line: 2, column: 1,
        message: "expected one of: interval, report_interval, rescan_interval, cgroup_root, fairness, half_life, max_boost"),

    // fairness.
    BadPolicyCase(name: "fairness: a boolean", toml: agentWith("fairness = true"), line: 2, column: 1, message: "fairness must be a string, \"instant\" or \"decayed\", got a boolean"),
    BadPolicyCase(name: "fairness: unknown", toml: agentWith("fairness = \"fair\""), line: 2, column: 1, message: "unknown fairness 'fair'; expected one of: \"instant\", \"decayed\""),
    BadPolicyCase(name: "fairness: misspelt", toml: agentWith("fairness = \"decay\""), line: 2, column: 1, message: "unknown fairness 'decay'; expected one of: \"instant\", \"decayed\"; did you mean \"decayed\"?"),
    BadPolicyCase(name: "fairness: upper case", toml: agentWith("fairness = \"Instant\""), line: 2, column: 1, message: "did you mean \"instant\"?"),
    BadPolicyCase(name: "fairness: unknown, with half_life, is one problem", toml: agentWith("fairness = \"fair\"\nhalf_life = \"10m\""), line: 2, column: 1, message: "unknown fairness 'fair'"),
    BadPolicyCase(
        name: "half_life without fairness", toml: agentWith("half_life = \"10m\""), line: 2, column: 1,
        message: "half_life applies only with fairness = \"decayed\", and [agent] has no fairness (the default is \"instant\"); set fairness = \"decayed\" or remove half_life"),
    BadPolicyCase(
        name: "max_boost with fairness = \"instant\"", toml: agentWith("fairness = \"instant\"\n  max_boost = 2"), line: 3, column: 3,
        message: "max_boost applies only with fairness = \"decayed\", but fairness is \"instant\"; set fairness = \"decayed\" or remove max_boost"),
    BadPolicyCase(name: "half_life: too short", toml: agentWith("fairness = \"decayed\"\nhalf_life = \"500ms\""), line: 3, column: 1, message: "half_life '500ms' is out of range; expected 1s..168h"),
    BadPolicyCase(name: "half_life: too long", toml: agentWith("fairness = \"decayed\"\nhalf_life = \"169h\""), line: 3, column: 1, message: "half_life '169h' is out of range"),
    BadPolicyCase(name: "half_life: days are not a unit", toml: agentWith("fairness = \"decayed\"\nhalf_life = \"7d\""), line: 3, column: 1, message: "invalid duration '7d' for half_life"),
    BadPolicyCase(name: "half_life: a number", toml: agentWith("fairness = \"decayed\"\nhalf_life = 600"), line: 3, column: 1, message: "half_life must be a duration string like \"2s\" or \"500ms\", got an integer"),
    BadPolicyCase(name: "max_boost: below 1", toml: agentWith("fairness = \"decayed\"\nmax_boost = 0.5"), line: 3, column: 1, message: "max_boost 0.5 is out of range; expected a number 1..100"),
    BadPolicyCase(name: "max_boost: above 100", toml: agentWith("fairness = \"decayed\"\nmax_boost = 101"), line: 3, column: 1, message: "max_boost 101 is out of range; expected a number 1..100"),
    BadPolicyCase(name: "max_boost: zero", toml: agentWith("fairness = \"decayed\"\nmax_boost = 0"), line: 3, column: 1, message: "max_boost 0 is out of range"),
    BadPolicyCase(name: "max_boost: nan", toml: agentWith("fairness = \"decayed\"\nmax_boost = nan"), line: 3, column: 1, message: "max_boost nan is out of range"),
    BadPolicyCase(name: "max_boost: a string", toml: agentWith("fairness = \"decayed\"\nmax_boost = \"4\""), line: 3, column: 1, message: "max_boost must be a number, got a string; expected a number 1..100"),

    // Located in other shapes.
    BadPolicyCase(name: "inline group", toml: "group = [\n  { name = \"a\", shares = 1, min = \"0\", match = { comm = \"x\" } },\n]\n", line: 2, column: 29, message: "min must be more than zero"),
    BadPolicyCase(name: "inline agent", toml: "agent = { fairness = \"decayed\", max_boost = -1 }\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n", line: 1, column: 33, message: "max_boost -1 is out of range"),
]

@Test("bad limits and fairness report one problem, located, saying what is expected", arguments: limitsBadPolicies)
func limitsBadPolicy(_ c: BadPolicyCase) {
    c.expectOneLocatedProblem()
}

@Test func maxBurstIsTheKernelsBurstWithinTheMax() throws {
    let p = try PolicyParser.parse(withLimits("max = \"1.5\"\nmax_burst = \"0.5\""), file: "p.toml")
    #expect(p.groups[0].maxBurst == .cpus(0.5))
    #expect(p.groups[0].ceiling == .cpus(1.5))
    #expect(try PolicyParser.parse(withLimits("max = \"1\""), file: "p.toml").groups[0].maxBurst == nil)
    // Mixed units need the capacity: accepted here, clamped to the quota when written.
    #expect(try PolicyParser.parse(withLimits("max = \"10%\"\nmax_burst = 1"), file: "p.toml").groups[0].maxBurst == .cpus(1))
}

@Test func everyLimitProblemOfAGroupIsReported() {
    let toml = withLimits("min = \"0\"\nmax = \"lots\"\nburst = \"1\"") + withLimits("min = \"70%\"", name: "b") + withLimits("min = \"70%\"", name: "c")
    do {
        _ = try PolicyParser.parse(toml, file: "p.toml")
        Issue.record("expected an error")
    } catch {
        let expected = [
            ExpectedNote(line: 4, column: 1, message: "min must be more than zero"),
            ExpectedNote(line: 5, column: 1, message: "invalid CPU amount 'lots' for max"),
            ExpectedNote(line: 6, column: 1, message: "burst in [[group]] 'g' applies only with borrow = true"),
            ExpectedNote(line: 16, column: 1, message: "the groups' percentage min add up to 140% with [[group]] 'c'"),
        ]
        #expect(error.problems.count == expected.count, "\(error)")
        for (got, want) in zip(error.problems, expected) {
            #expect((got.location.line, got.location.column) == (want.line, want.column), "\(got)")
            #expect(got.message.hasPrefix(want.message), "\(got)")
        }
    }
}

// MARK: - Shipped policies

@Test func multiUserServerExampleUsesLimitsAndDecayedFairness() throws {
    let text = try String(contentsOf: configDirectory.appending(path: "examples/multi-user-server.toml"), encoding: .utf8)
    let policy = try PolicyParser.parse(text, file: "multi-user-server.toml")
    #expect(policy.agent.fairness == .decayed(halfLife: .seconds(1800), maxBoost: 4))
    let batch = try #require(policy.group(named: GroupName("batch-jobs")!))
    #expect(batch.ceiling == .percent(50))
    #expect(batch.borrow)
    #expect(batch.burst == .percent(90))
    let admins = try #require(policy.group(named: GroupName("admins")!))
    #expect(admins.floor == .cpus(1))
}

@Test(arguments: ["policy.toml", "examples/multi-user-server.toml", "examples/build-farm.toml", "examples/database-backups.toml"])
func shippedPolicyFitsOneCPU(_ relativePath: String) throws {
    let text = try String(contentsOf: configDirectory.appending(path: relativePath), encoding: .utf8)
    let policy = try PolicyParser.parse(text, file: relativePath)
    #expect(PolicyParser.capacityProblems(policy, capacity: 1).isEmpty)
}

/// people.toml (per_user and nested groups) says it needs two CPUs: it fits them, and on one
/// its user_burst of 75% is below its user_max of 1 CPU, said at the key.
@Test func thePeopleExampleFitsTwoCPUsAndSaysWhyNotOne() throws {
    let text = try String(contentsOf: configDirectory.appending(path: "examples/people.toml"), encoding: .utf8)
    let policy = try PolicyParser.parse(text, file: "people.toml")
    #expect(PolicyParser.capacityProblems(policy, capacity: 2).isEmpty)
    let one = PolicyParser.capacityProblems(policy, capacity: 1)
    #expect(one.count == 1 && one.first?.message.contains("user_burst") == true, "\(one)")
    #expect(policy.group(named: GroupName(path: "research/lab-b")!)?.parent == GroupName("research"))
    #expect(policy.group(named: GroupName("teaching")!)?.perUser?.ceiling == .cpus(1))
    #expect(policy.agent.metricsUsers == 50)
}

/// The commented-out examples in the default policy are valid when uncommented.
@Test func defaultPolicyCommentedExamplesAreValid() throws {
    let text = try String(contentsOf: configDirectory.appending(path: "policy.toml"), encoding: .utf8)
    let uncommented = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.hasPrefix("#") && line.dropFirst().first.map { $0.isLetter } == true && line.contains(" = ") ? String(line.dropFirst()) : String(line)
    }.joined(separator: "\n")
    #expect(uncommented != text)
    let policy = try PolicyParser.parse(uncommented, file: "policy.toml")
    #expect(policy.agent.fairness == .decayed(halfLife: .seconds(600), maxBoost: 4))
    #expect(policy.group(named: GroupName("batch")!)?.burst == .percent(90))
    #expect(policy.group(named: GroupName("interactive")!)?.floor == .cpus(1))
    #expect(PolicyParser.capacityProblems(policy, capacity: 1).isEmpty)
}
