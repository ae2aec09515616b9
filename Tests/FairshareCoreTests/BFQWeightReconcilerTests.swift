import FairshareTestSupport
import Testing

@testable import FairshareCore

/// io.bfq.weight is planned only while some disk uses BFQ, once per value, and again after BFQ
/// came back; with no disk reading at all, never.
@Suite struct BFQWeightReconcilerTests {
    typealias F = Fixture

    /// a: io_shares 1, b: io_shares 4.
    var policy: Policy {
        var p = F.twoGroups
        p.groups[0].ioShares = Shares(1)!
        p.groups[1].ioShares = Shares(4)!
        return p
    }

    func observation(at second: UInt64, disks: IODisks?) -> Observation {
        observation(at: second, reading: disks.map(Reading.value))
    }

    func observation(at second: UInt64, reading: Reading<IODisks>?) -> Observation {
        Observation(at: second * F.second, processes: [], groupCgroups: .value([F.a, F.b]), disks: reading)
    }

    func disk(_ scheduler: String) -> IODisks { FakeIODisks.virtioDisk(scheduler: scheduler) }

    func bfqSteps(_ plan: Plan) -> [GroupName: Int] {
        Dictionary(uniqueKeysWithValues: plan.steps.compactMap(\.setting).filter { $0.file == .ioBFQWeight }.map { ($0.group, $0.value.as(BFQWeight.self)!.value) })
    }

    @Test func writtenWhileBFQIsActiveOnlyAndAgainWhenItReturns() {
        var p = Passes(policy)
        #expect(bfqSteps(p.run(observation(at: 0, disks: nil))).isEmpty, "no disks read: nothing for BFQ")
        #expect(bfqSteps(p.run(observation(at: 2, disks: disk("mq-deadline")))).isEmpty, "BFQ not active")
        #expect(bfqSteps(p.run(observation(at: 4, disks: disk("bfq")))) == [F.a: 100, F.b: 400])
        #expect(bfqSteps(p.run(observation(at: 6, disks: nil))).isEmpty, "written once: the last reading stands")
        #expect(p.r.snapshot.applied.values(of: .ioBFQWeight, as: BFQWeight.self) == [F.a: BFQWeight(100)!, F.b: BFQWeight(400)!])
        #expect(bfqSteps(p.run(observation(at: 8, disks: disk("mq-deadline")))).isEmpty)
        #expect(p.r.snapshot.applied.values(of: .ioBFQWeight, as: BFQWeight.self).isEmpty, "forgotten when no disk uses BFQ")
        #expect(bfqSteps(p.run(observation(at: 10, disks: disk("bfq")))) == [F.a: 100, F.b: 400], "written again")
    }

    @Test func anUnreadableDiskReadingKeepsTheLastGoodOne() {
        var p = Passes(policy)
        #expect(bfqSteps(p.run(observation(at: 0, disks: disk("bfq")))) == [F.a: 100, F.b: 400])
        let failed = Reading<IODisks>.unavailable("cannot list /sys/block: EACCES (Permission denied)")
        #expect(bfqSteps(p.run(observation(at: 2, reading: failed))).isEmpty, "nothing rewritten")
        #expect(p.r.snapshot.disks == disk("bfq"), "the last good reading stands, not \"no disks\"")
        #expect(p.r.snapshot.applied.values(of: .ioBFQWeight, as: BFQWeight.self) == [F.a: BFQWeight(100)!, F.b: BFQWeight(400)!], "nor are the weights written for BFQ forgotten")
        #expect(bfqSteps(p.run(observation(at: 4, reading: failed))).isEmpty)
        #expect(bfqSteps(p.run(observation(at: 6, disks: disk("mq-deadline")))).isEmpty)
        #expect(p.r.snapshot.disks == disk("mq-deadline") && p.r.snapshot.applied.values(of: .ioBFQWeight, as: BFQWeight.self).isEmpty, "a good reading replaces it")
    }

    @Test func aFailedWriteIsTriedAgainAndIOWeightIsUntouchedByIt() {
        var p = Passes(policy)
        let failBFQ: (Step) -> StepOutcome = { $0.sets(.ioBFQWeight) ? failedEACCES : .done }
        p.run(observation(at: 0, disks: disk("bfq")), answer: failBFQ)
        let again = p.run(observation(at: 2, disks: nil), answer: failBFQ)
        #expect(again.targets == ["io.bfq.weight of group a", "io.bfq.weight of group b"])
        #expect(p.r.snapshot.applied.values(of: .ioWeight, as: IOWeight.self) == policy.ioWeights(), "io.weight written and believed")
    }

    @Test func theFairnessFactorMovesTheBFQWeightLikeTheIOWeight() {
        let g = policy.groups[1]
        var d = Controller.GroupDecision(group: g.name, hungry: true, demandReason: "", share: Allocator.Share(group: g.name, allocation: 1, borrowed: 0, limit: .demand),
                                         factor: 2, cpuWeight: CPUWeight(300), ioWeight: IOWeight(800)!, cpuMax: nil, weightReason: "")
        let want = { (d: Controller.GroupDecision) in
            GroupFiles.ioBFQWeight.rule(SettingContext(group: g, decision: d, weights: ShareWeights(policy), capacity: 2, kernelLacks: [],
                                                       bfqActive: true))?.value.as(BFQWeight.self)
        }
        #expect(want(d) == BFQWeight(800))
        d.factor = 4
        #expect(want(d) == BFQWeight(1000), "pinned at BFQ's largest")
    }
}
