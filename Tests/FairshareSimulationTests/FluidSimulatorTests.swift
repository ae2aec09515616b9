import FairshareCore
import FairshareTestSupport
import Testing

/// The simulator stands in for the kernel, so it is checked on its own first.
@Suite struct FluidSimulatorTests {
    let a = GroupName("a")!
    let b = GroupName("b")!

    @Test func weightsOnlySplitByWeight() {
        var sim = FluidSimulator(cpus: 2, groups: [(a, .constant(2)), (b, .constant(2))])
        sim.setWeight(CPUWeight(100)!, for: a)
        sim.setWeight(CPUWeight(300)!, for: b)
        sim.run(for: 10)
        let ua = sim.counters(of: a).usage / 20 * 100, ub = sim.counters(of: b).usage / 20 * 100
        #expect(abs(ua - 25) < 1e-6 && abs(ub - 75) < 1e-6, "1:3 gave \(ua)% / \(ub)%")
        #expect(sim.counters(of: a).nrThrottled == 0 && sim.counters(of: b).nrThrottled == 0)
        #expect(sim.counters(of: a).pressureTime > 9.99, "hungry a waited \(sim.counters(of: a).pressureTime) s of 10")
    }

    @Test func quotaBindsAndCountsThrottling() {
        var sim = FluidSimulator(cpus: 2, groups: [(a, .constant(2)), (b, .constant(2))])
        sim.setQuota(0.5, for: a)
        sim.run(for: 10)
        let c = sim.counters(of: a)
        #expect(abs(c.usage - 5) < 1e-6, "capped at 0.5 CPU: used \(c.usage) s in 10 s")
        #expect(abs(sim.counters(of: b).usage - 15) < 1e-6, "the other used \(sim.counters(of: b).usage) s, want 15")
        #expect(c.nrThrottled == 1000, "nr_throttled \(c.nrThrottled), want one per step")
        #expect(abs(c.throttledTime - 10) < 1e-6)
        #expect(sim.counters(of: b).nrThrottled == 0)
    }

    @Test func weightBelowQuotaIsNotThrottling() {
        var sim = FluidSimulator(cpus: 2, groups: [(a, .constant(2)), (b, .constant(2))])
        sim.setQuota(1.5, for: a)
        sim.run(for: 1)
        #expect(sim.counters(of: a).nrThrottled == 0, "weight held a at 1 CPU, below its 1.5 quota")
    }

    @Test func workConserving() {
        var sim = FluidSimulator(cpus: 2, groups: [(a, .constant(0.3)), (b, .constant(4))])
        sim.setWeight(CPUWeight(10000)!, for: a)
        sim.setWeight(CPUWeight(1)!, for: b)
        sim.run(for: 10)
        #expect(abs(sim.counters(of: a).usage - 3) < 1e-6)
        #expect(abs(sim.counters(of: b).usage - 17) < 1e-6, "b used \(sim.counters(of: b).usage) s of the 17 left")
        #expect(sim.counters(of: a).pressureTime == 0)
    }

    @Test func observationsMatchTheCounters() {
        var sim = FluidSimulator(cpus: 2, groups: [(a, .phases(2, [(1, nil)])), (b, .constant(1))])
        sim.setQuota(0.5, for: a)
        let before = sim.snapshot
        sim.run(for: 2)
        let obs = sim.observations(since: before, interval: 2)
        #expect(obs[0].group == a && abs((obs[0].usage ?? .nan) - 0.25) < 1e-9 && obs[0].throttled && abs((obs[0].pressure ?? 0) - 0.5) < 1e-9 && !obs[0].hasMembers,
                "\(obs[0])")
        #expect(obs[1].group == b && abs((obs[1].usage ?? .nan) - 1) < 1e-9 && !obs[1].throttled && obs[1].pressure == 0 && obs[1].hasMembers, "\(obs[1])")
    }

    @Test func waterFillTable() {
        let cases: [(capacity: Double, weights: [Double], caps: [Double], want: [Double])] = [
            (2, [1, 1], [.infinity, .infinity], [1, 1]),
            (2, [1, 1, 2], [0.2, .infinity, .infinity], [0.2, 0.6, 1.2]),
            (2, [1, 1], [0.5, 0.5], [0.5, 0.5]),
            (2, [1, 0], [2, 2], [2, 0]),
            (4, [1, 2, 5], [2, 2, 2], [2.0 / 3, 4.0 / 3, 2]),
        ]
        for c in cases {
            let got = FluidSimulator.waterFill(capacity: c.capacity, weights: c.weights, caps: c.caps)
            #expect(zip(got, c.want).allSatisfy { abs($0 - $1) < 1e-9 }, "\(c): got \(got)")
        }
    }

    @Test func hoursRunFast() {
        let clock = ContinuousClock()
        var sim = FluidSimulator(cpus: 2, groups: [(a, .constant(2)), (b, .constant(1))])
        let elapsed = clock.measure { sim.run(for: 3600) }
        #expect(abs(sim.now - 3600) < 1e-6)
        #expect(abs(sim.counters(of: a).usage - 3600) < 1e-6 && abs(sim.counters(of: b).usage - 3600) < 1e-6)
        // A loose bound: a debug build on a busy 2-core machine (the release bench prints the real figure).
        #expect(elapsed < .seconds(10), "an hour of simulated time took \(elapsed)")
    }
}
