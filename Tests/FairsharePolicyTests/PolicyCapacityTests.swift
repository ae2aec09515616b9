import Foundation
import Testing

@testable import FairsharePolicy

// PolicyParser.capacityProblems: checks that need the root's capacity in CPUs.

struct CapacityCase: Sendable, CustomTestStringConvertible {
    var name: String
    var toml: String
    var capacity: Double
    /// Expected problems: header line and a piece of the message; empty when the policy fits.
    var problems: [(line: Int, message: String)] = []
    var testDescription: String { name }
}

let capacityCases: [CapacityCase] = [
    CapacityCase(name: "no limits", toml: withLimits(""), capacity: 1),
    CapacityCase(
        name: "CPU mins fit; max and burst above the capacity never bind and are fine",
        toml: withLimits("min = \"1\"", name: "a") + withLimits("min = 0.5\nmax = \"8\"\nborrow = true\nburst = \"16\"", name: "b"), capacity: 2),
    CapacityCase(name: "percent and CPU mins exactly fill the root", toml: withLimits("min = \"50%\"", name: "a") + withLimits("min = \"1\"", name: "b"), capacity: 2),
    CapacityCase(name: "tenths add up to the root despite rounding (0.1 + 0.2 > 0.3 in binary)", toml: withLimits("min = 0.1", name: "a") + withLimits("min = 0.2", name: "b"), capacity: 0.3),
    CapacityCase(
        name: "CPU mins do not fit", toml: withLimits("min = \"1.5\"", name: "a") + withLimits("max = \"1\"", name: "b") + withLimits("min = \"2\"", name: "c"),
        capacity: 2,
        problems: [(11, "the groups' min add up to 3.5 CPUs but the root has 2 (a 1.5 CPUs + c 2 CPUs); expected at most 2 CPUs in all, from [[group]] 'c' on they do not fit")]),
    CapacityCase(
        name: "percent and CPU mins do not fit", toml: withLimits("min = \"1\"", name: "a") + withLimits("min = \"75%\"", name: "b"), capacity: 2,
        problems: [(6, "the groups' min add up to 2.5 CPUs but the root has 2 (a 1 CPU + b 75% (1.5 CPUs of 2))")]),
    CapacityCase(
        name: "the first group's min alone does not fit", toml: withLimits("min = \"3\"", name: "a") + withLimits("min = \"10%\"", name: "b"), capacity: 2,
        problems: [(1, "add up to 3.2 CPUs but the root has 2")]),
    CapacityCase(name: "the same policy fits a bigger root", toml: withLimits("min = \"1\"", name: "a") + withLimits("min = \"75%\"", name: "b"), capacity: 4),
    CapacityCase(
        name: "mixed units: CPU min above percent max", toml: withLimits("min = \"3\"\nmax = \"50%\""), capacity: 4,
        problems: [(1, "in [[group]] 'g', min 3 CPUs is larger than max 50% (2 CPUs of 4) on a root with 4 CPUs; expected min <= max")]),
    CapacityCase(name: "mixed units: the same fits 8 CPUs", toml: withLimits("min = \"3\"\nmax = \"50%\""), capacity: 8),
    CapacityCase(
        name: "mixed units: percent min above CPU max", toml: withLimits("min = \"50%\"\nmax = 1"), capacity: 3,
        problems: [(1, "min 50% (1.5 CPUs of 3) is larger than max 1 CPU")]),
    CapacityCase(name: "mixed units: percent min equal to CPU max", toml: withLimits("min = \"50%\"\nmax = 1"), capacity: 2),
    CapacityCase(
        name: "mixed units: max above burst", toml: withLimits("max = \"2\"\nborrow = true\nburst = \"25%\""), capacity: 4,
        problems: [(1, "in [[group]] 'g', max 2 CPUs is larger than burst 25% (1 CPU of 4) on a root with 4 CPUs; expected max <= burst")]),
    CapacityCase(
        name: "several problems, in file order", toml: withLimits("min = \"2\"\nmax = \"10%\"", name: "a") + withLimits("max = \"90%\"\nborrow = true\nburst = \"1\"", name: "b"),
        capacity: 4,
        problems: [(1, "min 2 CPUs is larger than max 10% (0.4 CPUs of 4)"), (7, "max 90% (3.6 CPUs of 4) is larger than burst 1 CPU")]),
    CapacityCase(name: "a fractional capacity that fits", toml: withLimits("min = \"60%\"", name: "a") + withLimits("min = 0.5", name: "b"), capacity: 1.5),
    CapacityCase(
        name: "a fractional capacity that does not fit", toml: withLimits("min = \"60%\"", name: "a") + withLimits("min = 0.5", name: "b"), capacity: 1.2,
        problems: [(6, "the groups' min add up to 1.22 CPUs but the root has 1.2 (a 60% (0.72 CPUs of 1.2) + b 0.5 CPUs)")]),
]

@Test("capacityProblems converts to CPUs and reports at the group's header", arguments: capacityCases)
func capacity(_ c: CapacityCase) throws {
    let policy = try PolicyParser.parse(c.toml, file: "/etc/fairshare/policy.toml")
    let problems = PolicyParser.capacityProblems(policy, capacity: c.capacity)
    #expect(problems.count == c.problems.count, "\(problems)")
    for (got, want) in zip(problems, c.problems) {
        #expect(got.location == SourceLocation(file: "/etc/fairshare/policy.toml", line: want.line, column: 1), "\(got)")
        #expect(got.message.contains(want.message), "\(got)")
    }
}

@Test(arguments: [0, -1, Double.nan, Double.infinity])
func capacityMustBePositive(_ capacity: Double) {
    let policy = Policy(groups: [limited("g", line: 3, floor: .cpus(1))], sourcePath: "p.toml")
    let problems = PolicyParser.capacityProblems(policy, capacity: capacity)
    #expect(problems.count == 1)
    #expect(problems.first?.location == SourceLocation(file: "p.toml", line: 1, column: 1))
    #expect(problems.first?.message.contains("capacity must be a positive number of CPUs") == true)
}

/// A policy built in memory (not by the parser) may hold same-unit disorder and burst without
/// max: capacityProblems still checks every pair it can.
@Test func capacityProblemsOfAPolicyBuiltInMemory() {
    let policy = Policy(
        groups: [
            limited("a", line: 2, floor: .percent(60), ceiling: .percent(50)),
            limited("b", line: 9, floor: .cpus(3), borrow: true, burst: .cpus(2)),
        ], sourcePath: "mem")
    let problems = PolicyParser.capacityProblems(policy, capacity: 10)
    #expect(problems.map(\.location.line) == [2, 9])
    #expect(problems.first?.message.contains("min 60% (6 CPUs of 10) is larger than max 50% (5 CPUs of 10)") == true, "\(problems)")
    #expect(problems.last?.message.contains("min 3 CPUs is larger than burst 2 CPUs") == true, "\(problems)")
}

@Test func hugeCPUAmountsParseAndFormatWithoutTrapping() throws {
    let policy = try PolicyParser.parse(withLimits("min = \"100000000000000000000\"", name: "a") + withLimits("max = 9223372036854775807", name: "b"), file: "p.toml")
    #expect(policy.groups.first?.floor == .cpus(1e20))
    let problems = PolicyParser.capacityProblems(policy, capacity: 2)
    #expect(problems.count == 1, "\(problems)")
    #expect(problems.first?.message.contains("add up to 1e+20 CPUs") == true, "\(problems)")
}
