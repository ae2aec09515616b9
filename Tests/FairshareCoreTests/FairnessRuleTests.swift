@testable import FairshareCore
import Testing

/// Decayed fairness under one rule (entitlement for every agent group of the policy, members
/// or not) and the allocation of idle groups.
@Suite struct FairnessRuleTests {
    let a = GroupName("a")!
    let b = GroupName("b")!
    let scav = GroupName("scav")!

    func fair(_ groups: [GroupPolicy], maxBoost: Double = 4) -> Policy {
        Policy(agent: AgentSettings(fairness: .decayed(halfLife: .seconds(10), maxBoost: maxBoost)), groups: groups)
    }

    func plain(_ g: GroupName, _ shares: Int = 1) -> GroupPolicy { GroupPolicy(name: g, shares: Shares(shares)!, match: MatchRule()) }

    /// A busy alone for two half-lives while B has `bAbsence`; then both hungry: B's factor over A's.
    func ratioAfterAbsence(bHasMembers: Bool) -> Double {
        let policy = fair([plain(a), plain(b)])
        var c = Controller()
        for _ in 0..<10 {  // 20 s = two half-lives
            _ = c.decide(policy: policy, observations: [.init(group: a, usage: 2, pressure: 0.9),
                                                        .init(group: b, usage: 0, hasMembers: bHasMembers)],
                         capacity: 2, interval: 2)
        }
        let d = c.decide(policy: policy, observations: [.init(group: a, usage: 2, pressure: 0.9), .init(group: b, usage: 0, pressure: 0.9)],
                         capacity: 2, interval: 2)
        return d.decision(for: b)!.factor / d.decision(for: a)!.factor
    }

    /// The case: B's processes did not exist while A was busy. Under the old rule
    /// (entitlement only with members) the ratio was 1; now it is the same as when B's
    /// processes slept, favoured and within max_boost.
    @Test func aGroupWithoutProcessesEarnsLikeOneWhoseProcessesSlept() {
        let absent = ratioAfterAbsence(bHasMembers: false)
        let asleep = ratioAfterAbsence(bHasMembers: true)
        #expect(abs(absent - asleep) < 1e-12, "one rule: absent \(absent), asleep \(asleep)")
        #expect(absent > 2, "favoured after two half-lives: \(absent)")
        #expect(absent <= 4 + 1e-9, "within max_boost: \(absent)")
    }

    /// However long the absence, the clamp bounds the ratio by max_boost. With two equal
    /// groups A's factor is entitlement / usage = 1/2 at worst, B's is clamped at sqrt(max_boost):
    /// the ratio is min(max_boost, 2 sqrt(max_boost)).
    @Test(arguments: [(4.0, 4.0), (9.0, 6.0), (1.0, 1.0)])
    func aLongAbsenceIsBoundedByMaxBoost(_ maxBoost: Double, _ expected: Double) {
        let policy = fair([plain(a), plain(b)], maxBoost: maxBoost)
        var c = Controller()
        var d: Controller.Decision?
        for _ in 0..<200 {
            d = c.decide(policy: policy, observations: [.init(group: a, usage: 2, pressure: 0.9), .init(group: b, usage: 0, hasMembers: false)],
                         capacity: 2, interval: 2)
        }
        let ratio = d!.decision(for: b)!.factor / d!.decision(for: a)!.factor
        #expect(abs(ratio - expected) < 0.04, "\(ratio) (the ledger adds 0.01 CPU to usage and entitlement)")
        #expect(ratio <= maxBoost + 1e-9)
        #expect((c.ledger.entitlement[b] ?? 0) > 0.99, "b is due half of 2 CPUs: \((c.ledger.entitlement[b] ?? 0))")
    }

    /// Unknown usage still skips the group (no credit from an unreadable cpu.stat), with or
    /// without members.
    @Test func unknownUsageStillRecordsNothing() {
        let policy = fair([plain(a), plain(b)])
        var c = Controller()
        for _ in 0..<10 {
            _ = c.decide(policy: policy, observations: [.init(group: a, usage: 2, pressure: 0.9), .init(group: b, usage: nil, hasMembers: false)],
                         capacity: 2, interval: 2)
        }
        #expect(c.ledger.usage[b] == nil && c.ledger.entitlement[b] == nil)
        // Not observed at all (its cgroup is not there yet) is unknown too.
        _ = c.decide(policy: policy, observations: [.init(group: a, usage: 2, pressure: 0.9)], capacity: 2, interval: 2)
        #expect(c.ledger.entitlement[b] == nil)
    }

    /// A group a reload adds starts from no history (factor 1) and then earns from its first
    /// measured interval; a group a reload removes leaves the ledger.
    @Test func reloadAddsAndRemovesGroupsInTheLedger() {
        var c = Controller()
        let before = fair([plain(a), plain(b)])
        for _ in 0..<5 {
            _ = c.decide(policy: before, observations: [.init(group: a, usage: 2, pressure: 0.9), .init(group: b, usage: 0)], capacity: 2, interval: 2)
        }
        let added = GroupName("c")!
        let after = fair([plain(a), plain(added)])
        let d = c.decide(policy: after, observations: [.init(group: a, usage: 2, pressure: 0.9), .init(group: added, usage: nil)],
                         capacity: 2, interval: 2)
        #expect(c.ledger.usage[b] == nil && c.ledger.entitlement[b] == nil, "removed by the reload")
        #expect(d.decision(for: added)!.factor == 1, "no history yet")
        _ = c.decide(policy: after, observations: [.init(group: a, usage: 2, pressure: 0.9), .init(group: added, usage: 0, hasMembers: false)],
                     capacity: 2, interval: 2)
        #expect((c.ledger.entitlement[added] ?? 0) > 0, "earns from its first measured interval, members or not")
    }

    /// Unit-backed groups and idle groups take no part in the ledger; the entitlement is split
    /// among the other agent groups by shares.
    @Test func unitBackedAndIdleGroupsAreNotInTheLedger() {
        let unit = GroupPolicy(name: GroupName("db")!, shares: Shares(5)!, match: MatchRule(units: [UnitPattern("db.service")!]))
        let idle = GroupPolicy(name: scav, shares: Shares(100)!, match: MatchRule(), idle: true)
        let policy = fair([plain(a, 1), plain(b, 3), unit, idle])
        var c = Controller()
        for _ in 0..<100 {
            _ = c.decide(policy: policy, observations: [.init(group: a, usage: 1), .init(group: b, usage: 1), .init(group: scav, usage: 0.5)],
                         capacity: 2, interval: 2)
        }
        #expect(Set(c.ledger.entitlement.keys) == [a, b])
        #expect(abs((c.ledger.entitlement[a] ?? 0) - 0.5) < 1e-3 && abs((c.ledger.entitlement[b] ?? 0) - 1.5) < 1e-3, "\(c.ledger.entitlement)")
    }

    // MARK: Idle groups

    func idleGroup(_ g: GroupName, ceiling: CPUAmount? = nil) -> GroupPolicy {
        GroupPolicy(name: g, shares: Shares(100)!, match: MatchRule(), ceiling: ceiling, idle: true)
    }

    /// The ordinary groups first, whatever their weight; the leftover among hungry idle
    /// groups alike; no weight and no fairness factor for them.
    @Test(arguments: [
        // (a's demand, b's demand) -> what is left for two hungry idle groups, each
        (nil as Double?, nil as Double?, 0.0),
        (0.5, nil, 0.0),
        (0.5, 0.3, 0.6),
        (0.0, 0.0, 1.0),
    ])
    func idleGroupsShareOnlyTheLeftover(_ aDemand: Double?, _ bDemand: Double?, _ each: Double) {
        let other = GroupName("other")!
        let policy = fair([plain(a, 1), plain(b, 10000), idleGroup(scav), idleGroup(other)])
        func obs(_ g: GroupName, _ demand: Double?) -> Controller.Observation {
            demand.map { .init(group: g, usage: $0) } ?? .init(group: g, usage: 1, pressure: 0.9)
        }
        var c = Controller()
        let d = c.decide(policy: policy, observations: [obs(a, aDemand), obs(b, bDemand), .init(group: scav, usage: 0.1, pressure: 0.9),
                                                         .init(group: other, usage: 0.1, pressure: 0.9)],
                         capacity: 2, interval: 2)
        for g in [scav, other] {
            let s = d.decision(for: g)!
            #expect(abs(s.share.allocation - each) < 1e-9, "\(g): \(s.share)")
            #expect(s.cpuWeight == nil && s.idle && s.factor == 1)
            #expect(s.weightReason == "idle group: cpu.idle = 1, no CPU weight")
            #expect(s.share.limit == .idle, "hungry beyond what is left: \(s.share.limit)")
        }
        #expect(d.decision(for: a)!.cpuWeight != nil)
        let total = d.groups.reduce(0) { $0 + $1.share.allocation }
        #expect(total <= 2 + 1e-9)
    }

    /// An idle group with a max stops there; the rest of the leftover stays unused.
    @Test func anIdleGroupsMaxBoundsItsLeftover() {
        let policy = Policy(groups: [plain(a), idleGroup(scav, ceiling: .cpus(0.5))])
        var c = Controller()
        let d = c.decide(policy: policy, observations: [.init(group: a, usage: 0.2), .init(group: scav, usage: 0.5, pressure: 0.9)],
                         capacity: 2, interval: 2)
        let s = d.decision(for: scav)!.share
        #expect(abs(s.allocation - 0.5) < 1e-9 && s.limit == .ceiling, "\(s)")
        #expect(abs(d.idle - 1.3) < 1e-9)
    }

    /// The weight scale ignores idle groups: beside an idle group, shares 1 : 3 are still 100 : 300.
    @Test func idleGroupsDoNotChangeTheWeightScale() {
        let policy = Policy(groups: [plain(a, 1), plain(b, 3), idleGroup(scav)])
        var c = Controller()
        let d = c.decide(policy: policy, observations: [.init(group: a, usage: 1, pressure: 0.9), .init(group: b, usage: 1, pressure: 0.9),
                                                         .init(group: scav, usage: 0)], capacity: 2, interval: 2)
        #expect(d.decision(for: a)!.cpuWeight?.value == 100 && d.decision(for: b)!.cpuWeight?.value == 300)
    }
}

/// Status shows the ledger's figures behind each factor with decayed fairness, and nothing
/// with instant.
@Suite struct FairnessStatusTests {
    typealias F = Fixture

    func report(_ fairness: FairnessMode) -> StatusReport {
        var policy = F.twoGroups
        policy.agent.fairness = fairness
        var p = Passes(policy)
        let members = [F.process(10, "burn", in: "/fairshare/a")]
        for i in 0..<6 {
            p.run(Observation(at: UInt64(i) * 2 * F.second, processes: members, groupCgroups: .value([F.a, F.b]),
                              groupStats: [F.a: F.stats(usageUsec: UInt64(i) * 4_000_000, someUsec: UInt64(i) * 1_000_000), F.b: F.stats()]))
        }
        let facts = StatusProjection.AgentFacts(
            pid: 1, startedAt: 0, now: 12, cgroupRoot: "/sys/fs/cgroup/fairshare", rootPath: CgroupPath("/fairshare")!,
            intervalSeconds: 2, capacity: 2, ticks: 6, passTimes: PassTimes(), policyPath: "p", policyLoadedAt: 0, lastReload: nil, reloads: 0)
        return StatusProjection.report(p.r.snapshot, observation: nil, hierarchy: HierarchySnapshot(), failures: FailureBook(), facts: facts)
    }

    @Test func decayedShowsUsageAndEntitlementEvenForAGroupWithoutProcesses() throws {
        let s = report(.decayed(halfLife: .seconds(10), maxBoost: 4))
        let a = try #require(s.groups.first { $0.name == "a" }?.redistribution)
        let b = try #require(s.groups.first { $0.name == "b" }?.redistribution)
        #expect(try #require(a.decayedUsageCPUs) > 0.5, "a busy at 2 CPUs")
        // Shares 1 : 3 of 2 CPUs: a is due 0.5, b 1.5, b without any process too.
        #expect(try #require(a.entitlementCPUs) > 0.1 && a.entitlementCPUs! < 0.5)
        #expect(try #require(b.entitlementCPUs) > 3 * a.entitlementCPUs! - 1e-9)
        #expect(b.decayedUsageCPUs == 0)
        #expect(b.fairnessFactor > a.fairnessFactor)
    }

    @Test func instantShowsNone() throws {
        let s = report(.instant)
        for g in s.groups {
            let r = try #require(g.redistribution)
            #expect(r.decayedUsageCPUs == nil && r.entitlementCPUs == nil)
        }
    }
}
