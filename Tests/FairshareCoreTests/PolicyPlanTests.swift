import struct Foundation.Data
import class Foundation.JSONEncoder
import class Foundation.JSONDecoder
import Testing

@testable import FairshareCore

// PolicyPlan.evaluate on hand-built reconciler state: which processes a reload would move,
// give back or leave, and the demand it estimates for the new groups.

private typealias F = Fixture

private func group(_ name: String, shares: Int = 1, comm: [String], ceiling: CPUAmount? = nil) -> GroupPolicy {
    GroupPolicy(name: GroupName(name)!, shares: Shares(shares)!, match: MatchRule(comm: comm), ceiling: ceiling)
}

private func unitGroup(_ name: String, _ units: String...) -> GroupPolicy {
    GroupPolicy(name: GroupName(name)!, shares: Shares(1)!, match: MatchRule(units: units.map { UnitPattern($0)! }))
}

private func classifier(_ p: Policy) -> Classifier {
    Classifier(policy: p, agentPID: 0, resolveUser: { _ in nil }, resolveGroup: { _ in nil })
}

/// A reconciler under `policy` that has placed `processes` (two passes; the second with the
/// processes where the first put them and `usage` CPUs per group over 2 s, with PSI `waiting`).
private func settled(_ policy: Policy, _ processes: [FairshareCore.ProcessInfo], usage: [String: Double] = [:], waiting: [String: Double] = [:])
    -> (Reconciler, [FairshareCore.ProcessInfo]) {
    var p = Passes(policy)
    let groups = Set(policy.agentGroups.map(\.name))
    let first = p.run(Observation(at: 0, processes: processes, groupCgroups: .value(groups),
                                  groupStats: Dictionary(uniqueKeysWithValues: groups.map { ($0, F.stats()) })))
    var placed = processes
    for case .move(let id, _, let g, _, _) in first.steps {
        if let i = placed.firstIndex(where: { $0.identity == id }) { placed[i].cgroup = "\(F.root)/\(g)" }
    }
    var stats: [GroupName: CgroupStats] = [:]
    for g in groups {
        stats[g] = F.stats(usageUsec: UInt64((usage[g.rawValue] ?? 0) * 2e6), someUsec: UInt64((waiting[g.rawValue] ?? 0) * 2e6))
    }
    p.run(Observation(at: 2 * F.second, processes: placed, groupCgroups: .value(groups), groupStats: stats))
    return (p.r, placed)
}

/// The plan as the agent makes it: the reconciler's preview of `next` on a scan of `processes`.
private func evaluate(_ r: Reconciler, _ next: Policy, _ processes: [FairshareCore.ProcessInfo], units: [UnitInfo] = []) -> PlanReport {
    let observation = Observation(at: 4 * F.second, processes: processes, groupCgroups: .value(r.snapshot.knownGroups),
                                  units: UnitsObservation(listing: .value(units)))
    let preview = r.preview(next: next, classifier: classifier(next), observation: observation, capacity: 2, interval: 2)
    return PolicyPlan.evaluate(preview, next: next, processes: processes, root: CgroupPath(F.root)!, capacity: 2, path: "/tmp/next.toml")
}

private func pairs(_ p: PlanReport) -> [String] {
    p.moves.map { "\($0.from)->\($0.to) \($0.count): " + $0.processes.map { String($0.pid) }.joined(separator: ",") }
}

@Suite struct PolicyPlanTests {
    /// Current policy: a (comm "burn"), b (comm "idle"). Processes: 10 burn, 11 idle, 12 make
    /// (outside), and 13, a child of 10 born inside a (inherited, matches nothing).
    static var current: (Reconciler, [FairshareCore.ProcessInfo]) {
        var procs = [F.process(10, "burn", in: "/origin"), F.process(11, "idle", in: "/origin"), F.process(12, "make", in: "/origin")]
        procs.append(F.process(13, "child", in: "/fairshare/a", parent: 10))
        return settled(Policy(groups: [group("a", comm: ["burn"]), group("b", comm: ["idle"])]), procs, usage: ["a": 1.0, "b": 0.2])
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var next: Policy
        var moves: [String]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "same policy: nothing moves", next: Policy(groups: [group("a", comm: ["burn"]), group("b", comm: ["idle"])]), moves: []),
        Row(name: "a match changed: the matched member moves, the inherited child stays in a",
            next: Policy(groups: [group("a", comm: ["idle"]), group("b", comm: ["burn"])]), moves: ["a->b 1: 10", "b->a 1: 11"]),
        Row(name: "a rule no longer holds: the matched member goes back, the inherited one stays",
            next: Policy(groups: [group("a", comm: ["other"]), group("b", comm: ["idle"])]), moves: ["a->(origin) 1: 10"]),
        Row(name: "a group removed: its members, inherited ones too, go back",
            next: Policy(groups: [group("b", comm: ["idle"])]), moves: ["a->(origin) 2: 10,13"]),
        Row(name: "renamed: its members move to the new name; a new match takes a process from outside",
            next: Policy(groups: [group("hot", comm: ["burn", "child"]), group("b", comm: ["idle", "make"])]),
            moves: ["(outside)->b 1: 12", "a->hot 2: 10,13"]),
    ]

    @Test(arguments: rows) func moves(_ row: Row) {
        let (r, procs) = Self.current
        #expect(pairs(evaluate(r, row.next, procs)) == row.moves)
    }

    @Test func aPairListsFivePIDsAndCountsThemAll() {
        let procs = (100..<107).map { F.process(Int32($0), "burn", in: "/origin") }
        let (r, placed) = settled(Policy(groups: [group("a", comm: ["burn"])]), procs)
        let p = evaluate(r, Policy(groups: [group("b", comm: ["burn"])]), placed.reversed())
        #expect(pairs(p) == ["a->b 7: 100,101,102,103,104"])
    }

    @Test func thePairsAreCappedLargestFirst() {
        // 300 groups g0...g299 each with one process; the new policy swaps every process to the
        // next group: 300 pairs of 1, plus one pair of 2 (two processes in g0).
        let n = 300
        let current = Policy(groups: (0..<n).map { group("g\($0)", comm: ["p\($0)"]) } + [group("extra", comm: ["q"])])
        var procs = (0..<n).map { F.process(Int32(1000 + $0), "p\($0)", in: "/origin") }
        procs += [F.process(5000, "q", in: "/origin"), F.process(5001, "q", in: "/origin")]
        let (r, placed) = settled(current, procs)
        let next = Policy(groups: (0..<n).map { group("g\($0)", comm: ["p\(($0 + 1) % n)"]) } + [group("other", comm: ["q"])])
        let p = evaluate(r, next, placed)
        #expect(p.moves.count == PlanReport.maxMoves)
        #expect(p.moves.contains { $0.from == "extra" && $0.to == "other" && $0.count == 2 }, "the largest pair is kept")
        #expect(p.movesNotListed == n + 1 - PlanReport.maxMoves)
        #expect(p.moves.map { "\($0.from) \($0.to)" } == p.moves.map { "\($0.from) \($0.to)" }.sorted())
    }

    @Test func demandFollowsTheProcessesSplitEvenlyAndHungerCarries() throws {
        // a: 2 processes using 1.6 CPUs together, hungry; b: 1 process, 0.2 CPU, satisfied.
        let procs = [F.process(10, "burn", in: "/origin"), F.process(11, "burn2", in: "/origin"), F.process(12, "idle", in: "/origin"),
                     F.process(13, "new", in: "/origin")]
        let (r, placed) = settled(Policy(groups: [group("a", comm: ["burn", "burn2"]), group("b", comm: ["idle"])]), procs,
                                  usage: ["a": 1.6, "b": 0.2], waiting: ["a": 0.5])
        // c takes one of a's processes and b's; d takes one from outside only.
        let next = Policy(groups: [group("a", comm: ["burn"]), group("c", comm: ["burn2", "idle"]), group("d", comm: ["new"])])
        let p = evaluate(r, next, placed)
        let byName = Dictionary(uniqueKeysWithValues: p.groups.map { ($0.name, $0) })
        let a = try #require(byName["a"]?.after), c = try #require(byName["c"]?.after), d = try #require(byName["d"]?.after)
        #expect(abs((a.usageCPUs ?? -1) - 0.8) < 1e-6 && a.hungry == true)
        #expect(abs((c.usageCPUs ?? -1) - 1.0) < 1e-6 && c.hungry == true, "0.8 of a's (hungry) and b's 0.2")
        #expect(d.usageCPUs == nil && d.hungry == true && d.demand?.contains("assumed to want its share") == true)
        #expect(byName["b"]?.change == .removed && byName["b"]?.before?.hungry == false)
        #expect(abs((byName["b"]?.before?.usageCPUs ?? -1) - 0.2) < 1e-6)
        // All three hungry, 1 share each, 2 CPUs: two thirds each.
        for g in [a, c, d] { #expect(abs((g.allocationCPUs ?? -1) - 2.0 / 3) < 1e-6) }
        #expect(p.demandEstimate == PlanReport.demandRule)
    }

    @Test func aCeilingAndSharesChangeShowBeforeAndAfter() throws {
        let procs = [F.process(10, "burn", in: "/origin"), F.process(11, "idle", in: "/origin")]
        let (r, placed) = settled(Policy(groups: [group("a", comm: ["burn"]), group("b", shares: 3, comm: ["idle"])]), procs,
                                  usage: ["a": 1, "b": 1], waiting: ["a": 0.5, "b": 0.5])
        let next = Policy(groups: [group("a", shares: 4, comm: ["burn"], ceiling: .cpus(0.5)), group("b", shares: 3, comm: ["idle"])])
        let p = evaluate(r, next, placed)
        let a = try #require(p.groups.first { $0.name == "a" }), b = try #require(p.groups.first { $0.name == "b" })
        // The new shares' weights (4 : 3, on the common scale), as the reload writes them.
        #expect(a.before?.cpuWeight == 100 && b.before?.cpuWeight == 300)
        #expect(a.after?.cpuWeight == next.cpuWeights()[GroupName("a")!]?.value && b.after?.cpuWeight == next.cpuWeights()[GroupName("b")!]?.value)
        #expect(a.after!.cpuWeight! * 3 == b.after!.cpuWeight! * 4)
        #expect(a.before?.cpuMax == "max 100000" && a.after?.cpuMax == "50000 100000")
        #expect(abs((a.before?.allocationCPUs ?? -1) - 0.5) < 1e-6 && abs((a.after?.allocationCPUs ?? -1) - 0.5) < 1e-6)
        #expect(a.before?.shares == 1 && a.after?.shares == 4)
    }

    /// A group made idle by the new policy has no CPU weight to show (the kernel refuses
    /// cpu.weight while cpu.idle = 1): the plan says "idle" rather than a weight, and gives it
    /// only what the others leave.
    @Test func aGroupMadeIdleShowsNoWeightAndOnlyTheLeftover() throws {
        let procs = [F.process(10, "burn", in: "/origin"), F.process(11, "idle", in: "/origin")]
        let (r, placed) = settled(Policy(groups: [group("a", comm: ["burn"]), group("b", comm: ["idle"])]), procs,
                                  usage: ["a": 1, "b": 1], waiting: ["a": 0.5, "b": 0.5])
        var scavenger = group("b", comm: ["idle"])
        scavenger.idle = true
        let p = evaluate(r, Policy(groups: [group("a", comm: ["burn"]), scavenger]), placed)
        let a = try #require(p.groups.first { $0.name == "a" }), b = try #require(p.groups.first { $0.name == "b" })
        #expect(b.before?.cpuWeight != nil && b.before?.idle == nil)
        #expect(b.after?.cpuWeight == nil && b.after?.idle == true)
        #expect(a.after?.cpuWeight != nil && a.after?.idle == nil)
        // Both hungry on 2 CPUs: a (the only weighted group) is allotted all, b the nothing left.
        #expect(abs((a.after?.allocationCPUs ?? -1) - 2) < 1e-6 && abs(b.after?.allocationCPUs ?? -1) < 1e-6)
    }

    @Test func unitBackedGroupsAreNotMovedAndCountTheirUnitsProcesses() throws {
        let procs = [F.process(10, "postgres", in: "/origin")]
        let (r, placed) = settled(Policy(groups: [group("a", comm: ["postgres"])]), procs)
        let inUnit = F.process(20, "postgres", in: "/system.slice/postgresql.service")
        let next = Policy(groups: [unitGroup("db", "postgresql.service"), group("a", comm: ["postgres"])])
        let p = evaluate(r, next, placed + [inUnit], units: [UnitInfo(name: "postgresql.service", controlGroup: "/system.slice/postgresql.service")])
        #expect(pairs(p) == [], "the unit's process stays in its unit; a's stays in a")
        let db = try #require(p.groups.first { $0.name == "db" })
        #expect(db.change == .added && db.after?.backing == "unit" && db.after?.members == 1 && db.after?.cpuMax == nil)
        #expect(p.notes.contains { $0.contains("set through systemd") })
    }

    @Test func theReportIsStableSnakeCaseJSON() throws {
        let (r, procs) = Self.current
        let p = evaluate(r, Policy(groups: [group("b", comm: ["idle"])]), procs)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(p), as: UTF8.self)
        for key in ["\"schema_version\":1", "\"policy_path\"", "\"demand_estimate\"", "\"cpu_weight\"", "\"io_weight\"",
                    "\"cpu_max\"", "\"allocation_cpus\"", "\"usage_cpus\"", "\"moves\"", "\"current_policy_path\""] {
            #expect(text.contains(key), "\(key)")
        }
        #expect(try JSONDecoder().decode(PlanReport.self, from: Data(text.utf8)) == p)
    }
}
