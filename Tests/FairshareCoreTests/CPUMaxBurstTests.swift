import FairshareTestSupport
import Testing

@testable import FairshareCore

// cpu.max.burst, the proof that a cgroup file is a row of GroupFiles: `max_burst` becomes the
// group's burst, kept within the quota the same pass writes, in the order the kernel accepts
// (the fake kernel refuses a burst above the quota, and a quota below the burst, as
// tg_set_cfs_bandwidth does).

@Suite struct CPUMaxBurstTests {
    typealias F = Fixture

    static func policy(max: CPUAmount?, burst: CPUAmount?) -> Policy {
        Policy(groups: [GroupPolicy(name: F.capped, shares: Shares(1)!, match: MatchRule(comm: ["burn"]), ceiling: max, maxBurst: burst)])
    }

    /// The group's cgroup in a fake kernel, with every pass's plan carried out against it.
    struct Machine {
        let kernel = FakeKernel()
        var passes: Passes
        var at: UInt64 = 0

        init(_ policy: Policy) {
            kernel.makeCgroup("/fairshare", enable: ["cpu", "io"])
            kernel.makeCgroup("/fairshare/capped")
            passes = Passes(policy)
        }

        /// Decides a pass and writes its group files into the fake kernel, each outcome its answer.
        @discardableResult
        mutating func pass() -> Plan {
            let fs = kernel.filesystem
            let o = Observation(at: at, processes: [], groupCgroups: .value([F.capped]))
            at += 2 * F.second
            return passes.run(o) { step in
                guard let s = step.setting else { return .done }
                do throws(CgroupError) {
                    try fs.write(s.value.fileText, to: s.file, of: CgroupPath("/fairshare/\(s.group)")!)
                    return .done
                } catch {
                    return .failed(cause: "errno \(error.errno)", message: error.description)
                }
            }
        }

        mutating func reload(_ next: Policy) {
            passes.r.replacePolicy(next, classifier: Classifier(policy: next, agentPID: 0, resolveUser: { _ in nil }, resolveGroup: { _ in nil }))
        }

        func file(_ name: String) -> String? { kernel.file(ControlFile(name), of: "/fairshare/capped") }
    }

    @Test func maxBurstIsWrittenWithTheMaxAndShownInStatus() {
        var m = Machine(Self.policy(max: .cpus(1), burst: .cpus(0.25)))
        m.pass()
        #expect(m.file("cpu.max") == "100000 100000")
        #expect(m.file("cpu.max.burst") == "25000")
        #expect(m.pass().isEmpty, "written once")
        let files = m.passes.r.snapshot.applied.all(of: F.capped)
        #expect(files[ControlFile("cpu.max.burst")]?.fileText == "25000")
    }

    /// Lowering both writes the burst first (it must fit the quota in force), raising both the
    /// max first; each order the other way round is refused by the kernel.
    @Test func theBurstGoesBeforeOrAfterTheMaxAsTheKernelNeeds() {
        var m = Machine(Self.policy(max: .cpus(1), burst: .cpus(0.8)))
        m.pass()
        m.reload(Self.policy(max: .cpus(0.5), burst: .cpus(0.4)))
        let lower = m.pass()
        #expect(lower.targets == ["cpu.max.burst of group capped", "cpu.max of group capped"])
        #expect(m.file("cpu.max") == "50000 100000" && m.file("cpu.max.burst") == "40000")
        m.reload(Self.policy(max: .cpus(2), burst: .cpus(1.5)))
        let raise = m.pass()
        #expect(raise.targets == ["cpu.max of group capped", "cpu.max.burst of group capped"])
        #expect(m.file("cpu.max") == "200000 100000" && m.file("cpu.max.burst") == "150000")
        #expect(m.pass().isEmpty, "no failure left to retry")
    }

    /// A burst in CPUs beside a max in percent may exceed the quota on a small machine: kept
    /// within it. Without max_burst (or without a max) the burst is 0.
    @Test func theBurstIsClampedToTheQuotaAndZeroWithoutTheKey() {
        var m = Machine(Self.policy(max: .percent(25), burst: .cpus(4)))
        m.pass()
        #expect(m.file("cpu.max") == "50000 100000")
        #expect(m.file("cpu.max.burst") == "50000", "clamped to the quota")
        m.reload(Self.policy(max: .cpus(1), burst: nil))
        m.pass()
        #expect(m.file("cpu.max.burst") == "0", "the key gone: no burst")
        m.reload(Self.policy(max: nil, burst: nil))
        m.pass()
        #expect(m.file("cpu.max") == "max 100000" && m.file("cpu.max.burst") == "0")
    }

    /// Before Linux 5.14 there is no cpu.max.burst: no burst is harmless (done), a burst fails
    /// once with its reason and is retried, and nothing else is held up.
    @Test func aKernelWithoutCPUMaxBurst() {
        var m = Machine(Self.policy(max: .cpus(1), burst: nil))
        m.kernel.lack(ControlFile("cpu.max.burst"))
        let first = m.pass()
        #expect(m.file("cpu.max") == "100000 100000")
        #expect(first.targets.contains("cpu.max.burst of group capped"))
        m.reload(Self.policy(max: .cpus(1), burst: .cpus(0.5)))
        let plan = m.pass()
        #expect(plan.targets == ["cpu.max.burst of group capped"])
        #expect(m.pass().targets == ["cpu.max.burst of group capped"], "retried, the failure stays listed")
    }
}
