import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Testing

/// A group of 1 share with a floor of 1 CPU beside one of 10 shares.
let smallFloorAmongBig = """
    [[group]]
    name = "small"
    shares = 1
    min = "1"
    [group.match]
    comm = ["small"]

    [[group]]
    name = "big"
    shares = 10
    [group.match]
    comm = ["big"]
    """

/// The agent's redistribution on the in-memory kernel: the test plays the kernel's counters
/// (usage, throttling, pressure) for each interval and checks what the agent writes.
@Suite struct RedistributionTests {
    /// One interval of `seconds`: each group's usage in CPUs, PSI "some" share, throttled or not.
    func interval(_ h: Harness, _ groups: [String: (cpus: Double, pressure: Double, throttled: Bool)], seconds: Double = 2,
                  totals: inout [String: (usage: UInt64, stall: UInt64, throttled: UInt64)]) async {
        h.clock.advance(by: .milliseconds(Int64(seconds * 1000)))
        for (g, v) in groups {
            var t = totals[g] ?? (0, 0, 0)
            t.usage += UInt64(v.cpus * seconds * 1e6)
            t.stall += UInt64(v.pressure * seconds * 1e6)
            t.throttled += v.throttled ? 10 : 0
            totals[g] = t
            h.kernel.setUsage("/fairshare/\(g)", usageUsec: t.usage, nrThrottled: t.throttled)
            h.kernel.setPressure("/fairshare/\(g)", someTotalUsec: t.stall)
        }
        await h.agent.tick()
    }

    @Test func ceilingIsWrittenToCPUMax() async throws {
        let h = try Harness(policy: """
            [[group]]
            name = "batch"
            shares = 1
            max = "0.5"
            [group.match]
            comm = ["make"]
            """)
        h.spawn(10, "make")
        await h.agent.tick()
        var totals: [String: (usage: UInt64, stall: UInt64, throttled: UInt64)] = [:]
        await interval(h, ["batch": (0.5, 0.9, true)], totals: &totals)
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/batch") == "50000 100000")
        let s = await h.agent.status()
        let r = try #require(s.groups.first?.redistribution)
        #expect(r.limit == "ceiling" && r.hungry && r.cpuMax == "50000 100000" && r.max == "0.5")
    }

    @Test func floorRaisesTheWeightAndIsJournaled() async throws {
        let h = try Harness(policy: smallFloorAmongBig)
        h.spawn(10, "small")
        h.spawn(11, "big")
        await h.agent.tick()
        #expect(h.weight("small") == "100" && h.weight("big") == "1000")
        var totals: [String: (usage: UInt64, stall: UInt64, throttled: UInt64)] = [:]
        // Both hungry: small gets only 1/11 of 2 CPUs by weight, below its floor of 1.
        await interval(h, ["small": (0.18, 0.9, false), "big": (1.82, 0.9, false)], totals: &totals)
        // Holding 1 of 2 CPUs against weight 10 needs an equal weight.
        let small = try #require(Int(h.weight("small") ?? ""))
        let big = try #require(Int(h.weight("big") ?? ""))
        #expect(small == big, "small \(small) big \(big)")
        #expect(h.journal.events("floor_hit").first?["FAIRSHARE_GROUP"] == ["small"])
        let r = try #require(await h.agent.status().groups.first { $0.name == "small" }?.redistribution)
        #expect(r.limit == "floor" && r.weightReason.contains("floor") && abs(r.allocationCPUs - 1) < 1e-9)
        // The big group goes quiet: the floor is no longer needed and the weight comes back.
        await interval(h, ["small": (1.5, 0.9, false), "big": (0.1, 0, false)], totals: &totals)
        #expect(h.weight("small") == "100")
        #expect(h.journal.events("floor_released").count == 1)
    }

    @Test func borrowerTakesIdleCapacityAndGivesItBack() async throws {
        let h = try Harness(policy: borrowerBesideOwner)
        h.spawn(10, "make")
        h.spawn(11, "postgres")
        await h.agent.tick()
        var totals: [String: (usage: UInt64, stall: UInt64, throttled: UInt64)] = [:]
        // The owner idles, batch is throttled at its max: it borrows up to its burst.
        await interval(h, ["batch": (0.5, 0.5, true), "owner": (0.05, 0, false)], totals: &totals)
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/batch") == "150000 100000")
        #expect(h.journal.events("borrow_started").first?["FAIRSHARE_GROUP"] == ["batch"])
        // The owner is hungry again: batch goes back to its max within the next interval.
        await interval(h, ["batch": (1.5, 0.5, true), "owner": (0.5, 0.8, false)], totals: &totals)
        #expect(h.kernel.file(.cpuMax, of: "/fairshare/batch") == "50000 100000")
        #expect(h.journal.events("borrow_stopped").count == 1)
    }

    @Test func decayedFairnessFavoursTheGroupThatWasIdleWithinTheBound() async throws {
        let h = try Harness(policy: """
            [agent]
            fairness = "decayed"
            half_life = "10s"
            max_boost = 4

            [[group]]
            name = "a"
            shares = 1
            [group.match]
            comm = ["a"]

            [[group]]
            name = "b"
            shares = 1
            [group.match]
            comm = ["b"]
            """)
        h.spawn(10, "a")
        h.spawn(11, "b")
        await h.agent.tick()
        var totals: [String: (usage: UInt64, stall: UInt64, throttled: UInt64)] = [:]
        for _ in 0..<60 {  // two minutes: a busy, b idle
            await interval(h, ["a": (2, 0.5, false), "b": (0, 0, false)], totals: &totals)
        }
        let a = try #require(Int(h.weight("a") ?? ""))
        let b = try #require(Int(h.weight("b") ?? ""))
        #expect(b > a, "b, idle so far, is favoured: a \(a) b \(b)")
        #expect(Double(b) / Double(a) <= 4.0 + 0.05, "never beyond max_boost: a \(a) b \(b)")
        #expect(Double(b) / Double(a) >= 3.9, "a long idle stretch reaches the cap: a \(a) b \(b)")
        let factors = await h.agent.status().groups.compactMap { $0.redistribution?.fairnessFactor }
        #expect(factors.count == 2 && factors[1] / factors[0] <= 4 + 1e-9 && factors[1] / factors[0] > 3.9, "factors \(factors)")
        // Both busy for a few half-lives, at the split the kernel would give those weights:
        // the correction fades and the weights return towards 1 : 1.
        for _ in 0..<30 {
            let wa = Double(Int(h.weight("a") ?? "1")!), wb = Double(Int(h.weight("b") ?? "1")!)
            await interval(h, ["a": (2 * wa / (wa + wb), 0.5, false), "b": (2 * wb / (wa + wb), 0.5, false)], totals: &totals)
        }
        let a2 = Double(Int(h.weight("a") ?? "")!), b2 = Double(Int(h.weight("b") ?? "")!)
        #expect(abs(b2 / a2 - 1) < 0.1, "back near 1 : 1 after a few half-lives: a \(a2) b \(b2)")
    }

    @Test func noLimitsMeansNoCPUMaxWritesAndWeightsStayTheShares() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        await h.agent.tick()
        h.kernel.clearWrites()
        var totals: [String: (usage: UInt64, stall: UInt64, throttled: UInt64)] = [:]
        await interval(h, ["low": (0.66, 0.5, false), "mid": (1.33, 0.5, false)], totals: &totals)
        await interval(h, ["low": (0.66, 0.5, false), "mid": (1.33, 0.5, false)], totals: &totals)
        #expect(h.kernel.writes.isEmpty, "nothing to change, nothing written: \(h.kernel.writes)")
    }
}

@Suite struct CapacityReloadTests {
    @Test func reloadWithFloorsBeyondTheCapacityIsRejected() async throws {
        let h = try Harness(policy: threeGroups)
        h.rewrite("""
            [[group]]
            name = "a"
            shares = 1
            min = "1.5"
            [group.match]
            comm = ["a"]

            [[group]]
            name = "b"
            shares = 1
            min = "1"
            [group.match]
            comm = ["b"]
            """)
        let outcome = await h.agent.reload()
        #expect(!outcome.applied)
        #expect(outcome.error?.contains("min add up to 2.5 CPUs but the root has 2") == true, "\(outcome.error ?? "")")
        #expect(await h.agent.policy.groups.map(\.name.rawValue) == ["low", "mid", "high"])
    }
}

@Suite struct ReloadAfterDecisionsTests {
    @Test func newSharesApplyAtOnceEvenWhileAFloorWasRaised() async throws {
        let h = try Harness(policy: smallFloorAmongBig)
        h.spawn(10, "small")
        h.spawn(11, "big")
        await h.agent.tick()
        var totals: [String: (usage: UInt64, stall: UInt64, throttled: UInt64)] = [:]
        await RedistributionTests().interval(h, ["small": (0.18, 0.9, false), "big": (1.82, 0.9, false)], totals: &totals)
        #expect(h.weight("small") == h.weight("big"), "the floor raised small's weight")
        // The admin drops the floor and changes the shares: the new weights are written in the
        // reload's own pass and reported as policy weights, not left at the old raise.
        h.rewrite("""
            [[group]]
            name = "small"
            shares = 3
            [group.match]
            comm = ["small"]

            [[group]]
            name = "big"
            shares = 1
            [group.match]
            comm = ["big"]
            """)
        let before = h.journal.events("weights").count
        #expect(await h.agent.reload().applied)
        #expect(h.weight("small") == "300" && h.weight("big") == "100")
        #expect(h.journal.events("weights").count == before + 2)
    }
}

/// A borrower (max 0.5 CPU, burst 1.5) beside an owner with the same shares.
let borrowerBesideOwner = """
    [[group]]
    name = "batch"
    shares = 1
    max = "0.5"
    borrow = true
    burst = "1.5"
    [group.match]
    comm = ["make"]

    [[group]]
    name = "owner"
    shares = 1
    [group.match]
    comm = ["postgres"]
    """
