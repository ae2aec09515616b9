@testable import FairshareCore
import Testing

@Suite struct ControllerTests {
    let small = GroupName("small")!
    let big = GroupName("big")!

    var policy: Policy {
        Policy(groups: [
            GroupPolicy(name: small, shares: Shares(1)!, match: MatchRule(), floor: .cpus(1)),
            GroupPolicy(name: big, shares: Shares(10)!, match: MatchRule()),
        ])
    }

    /// A group whose cpu.stat can not be read has unknown usage, not zero: it is not taken for
    /// satisfied, and under decayed fairness it earns no credit (which an unreadable file would
    /// otherwise turn into a boost, interval by interval).
    @Test func unknownUsageIsNeitherSatisfiedNorCredit() {
        let fair = Policy(agent: AgentSettings(fairness: .decayed(halfLife: .seconds(60), maxBoost: 4)), groups: [
            GroupPolicy(name: small, shares: Shares(1)!, match: MatchRule()),
            GroupPolicy(name: big, shares: Shares(1)!, match: MatchRule()),
        ])
        var c = Controller()
        var d = c.decide(policy: fair, observations: [.init(group: small, usage: nil), .init(group: big, usage: 2, pressure: 0.9)],
                         capacity: 2, interval: 2)
        for _ in 0..<50 {
            d = c.decide(policy: fair, observations: [.init(group: small, usage: nil), .init(group: big, usage: 2, pressure: 0.9)],
                         capacity: 2, interval: 2)
        }
        let s = d.decision(for: small)!
        #expect(s.hungry && s.demandReason.contains("unknown"), "\(s.demandReason)")
        #expect(c.ledger.usage[small] == nil && c.ledger.entitlement[small] == nil, "no history recorded for an unmeasured group")
        #expect(abs(s.factor - 1) < 1e-9, "no boost from an unreadable file: factor \(s.factor)")
    }

    @Test func aSatisfiedGroupBelowItsFloorKeepsItsRaisedWeight() {
        var c = Controller()
        // Hungry at first: raised to its floor.
        let first = c.decide(policy: policy, observations: [
            .init(group: small, usage: 0.18, pressure: 0.9), .init(group: big, usage: 1.82, pressure: 0.9),
        ], capacity: 2, interval: 2)
        let raised = first.decision(for: small)!.cpuWeight!.value
        #expect(raised > 100 && first.decision(for: small)?.share.limit == .floor)
        // Now it gets 0.9 CPU, all it wants (no waiting): the raise must stay, or the next
        // interval squeezes it back to 2/11 of the machine.
        let second = c.decide(policy: policy, observations: [
            .init(group: small, usage: 0.9, pressure: 0.0), .init(group: big, usage: 1.1, pressure: 0.9),
        ], capacity: 2, interval: 2)
        let d = second.decision(for: small)!
        #expect(!d.hungry && d.share.limit == .floor && abs(d.share.allocation - 0.9) < 1e-9)
        // 0.9 of 2 CPUs against weight 1000 needs 0.9 / 1.1 x 1000.
        #expect(abs(Double(d.cpuWeight!.value) - 900.0 / 1.1) <= 1, "weight \(d.cpuWeight)")
    }

    @Test(arguments: [
        // (usage, throttled, pressure, allowance, members) -> hungry, demand
        (0.3, false, 0.0 as Double?, nil as Double?, true, false, 0.3),
        (0.3, true, 0.0, 0.5, true, true, Double.infinity),          // throttled by cpu.max
        (0.3, false, 0.25, nil, true, true, .infinity),               // waits for CPU 25% of the time
        (0.3, false, 0.05, nil, true, false, 0.3),                    // a little waiting is noise
        (0.46, false, 0.0, 0.5, true, true, .infinity),               // at 92% of its allowance
        (0.40, false, 0.0, 0.5, true, false, 0.4),                    // at 80%: satisfied
        (1.2, false, nil, nil, true, false, 1.2),                     // no PSI: by throttling and allowance only
        (0.0, false, 0.9, nil, false, false, 0.0),                    // no members: wants nothing
    ])
    func demand(usage: Double, throttled: Bool, pressure: Double?, allowance: Double?, members: Bool, hungry: Bool, demand: Double) {
        let c = Controller()
        let d = c.demand(.init(group: small, usage: usage, throttled: throttled, pressure: pressure, hasMembers: members), allowance: allowance)
        #expect(d.1 == hungry, "\(d.2)")
        #expect(d.0 == demand)
    }

    @Test func decayHalvesThePastEveryHalfLife() {
        var ledger = FairnessLedger()
        let a = GroupName("a")!
        ledger.record(usage: [a: 2], entitlement: [a: 1], interval: 1e9, halfLife: 1)  // start from the present values
        #expect(abs(ledger.usage[a]! - 2) < 1e-9)
        for _ in 0..<10 { ledger.record(usage: [a: 0], entitlement: [a: 1], interval: 1, halfLife: 10) }
        // Ten 1 s intervals at half-life 10 s: the old usage of 2 counts half.
        #expect(abs(ledger.usage[a]! - 1) < 1e-9)
        #expect(abs(ledger.entitlement[a]! - 1) < 1e-9)
    }

    @Test func aFloorTheKernelUnderDeliversIsCorrectedWithinBounds() {
        var c = Controller()
        let heavy = Policy(groups: [
            GroupPolicy(name: small, shares: Shares(1)!, match: MatchRule(), floor: .cpus(1)),
            GroupPolicy(name: big, shares: Shares(30)!, match: MatchRule()),
        ])
        var weights: [Int] = []
        // The kernel keeps delivering 93% of the floor: the raise grows, interval by interval.
        for _ in 0..<6 {
            let d = c.decide(policy: heavy, observations: [
                .init(group: small, usage: 0.93, pressure: 0.9), .init(group: big, usage: 1.07, pressure: 0.9),
            ], capacity: 2, interval: 2)
            weights.append(d.decision(for: small)!.cpuWeight!.value)
        }
        #expect(weights[0] == weights.min(), "no correction before the raise was in force: \(weights)")
        #expect(weights.last! > weights[0], "the raise grows while the floor is missed: \(weights)")
        #expect(c.floorGain[small]! <= Controller.maxFloorGain)
        // Once it gets its floor, the gain holds still.
        let before = c.floorGain[small]!
        _ = c.decide(policy: heavy, observations: [.init(group: small, usage: 1.0, pressure: 0.9), .init(group: big, usage: 1.0, pressure: 0.9)],
                     capacity: 2, interval: 2)
        #expect(c.floorGain[small] == before)
        // Never beyond the bound, however badly the floor is missed.
        for _ in 0..<50 {
            _ = c.decide(policy: heavy, observations: [.init(group: small, usage: 0.2, pressure: 0.9), .init(group: big, usage: 1.8, pressure: 0.9)],
                         capacity: 2, interval: 2)
        }
        #expect(c.floorGain[small] == Controller.maxFloorGain)
    }

    @Test func cpuMaxText() {
        #expect(CPUMax(cpus: nil).fileText == "max 100000")
        #expect(CPUMax(cpus: 0.5).fileText == "50000 100000")
        #expect(CPUMax(cpus: 0.001).fileText == "1000 100000", "never below the kernel's 1 ms minimum")
        #expect(CPUMax(cpus: .infinity).fileText == "max 100000")
    }

    @Test func fairnessBoundHoldsHoweverLongTheIdleStretch() {
        var ledger = FairnessLedger()
        let a = GroupName("a")!, b = GroupName("b")!
        for _ in 0..<10_000 {
            ledger.record(usage: [a: 2, b: 0], entitlement: [a: 1, b: 1], interval: 1, halfLife: 10)
        }
        for boost in [1.0, 2, 4, 16] {
            let ratio = ledger.factor(for: b, maxBoost: boost) / ledger.factor(for: a, maxBoost: boost)
            #expect(ratio <= boost * (1 + 1e-12), "max_boost \(boost): ratio \(ratio)")
        }
        #expect(ledger.unboundedFactor(for: b) / ledger.unboundedFactor(for: a) > 100, "without the cap the credit runs away")
    }
}

@Suite struct FixedPointTests {
    @Test(arguments: [
        (12.5, 1, "12.5"), (0.25, 2, "0.25"), (-0.5, 2, "-0.50"), (-0.04, 1, "0.0"), (3.0, 0, "3"), (0.005, 2, "0.01"),
        (Double.infinity, 2, "-"), (Double.nan, 1, "-"), (1e300, 2, "-"),
    ])
    func format(x: Double, places: Int, text: String) {
        #expect(FixedPoint.format(x, places: places) == text)
    }
}
