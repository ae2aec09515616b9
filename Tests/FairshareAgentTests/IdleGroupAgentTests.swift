import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Testing

/// A busy ordinary group beside an idle (scavenger) group.
let workAndScavenger = """
    [agent]
    interval = "1s"

    [[group]]
    name = "work"
    shares = 1
    [group.match]
    comm = ["work"]

    [[group]]
    name = "scav"
    idle = true
    [group.match]
    comm = ["scav"]
    """

/// The same, with scav an ordinary group of 3 shares.
let workAndOrdinaryScav = workAndScavenger.replacingOccurrences(of: "idle = true", with: "shares = 3")

/// `idle = true` on the in-memory kernel, which refuses cpu.weight while cpu.idle = 1 (EINVAL)
/// and resets the weight when it is cleared, as sched_group_set_shares / _set_idle do: a write
/// in the wrong order shows up as a failure here.
@Suite struct IdleGroupAgentTests {
    func cpuIdle(_ h: Harness, _ g: String) -> String? { h.kernel.file(.cpuIdle, of: "/fairshare/\(g)") }
    func weightWrites(_ h: Harness, _ g: String) -> [String] {
        h.kernel.writes.filter { $0.0 == "/sys/fs/cgroup/fairshare/\(g)/cpu.weight" }.map(\.1)
    }

    /// One second: each group's usage (CPUs), and a task of each waiting half the time (hungry).
    func interval(_ h: Harness, _ usage: [String: Double], totals: inout [String: UInt64]) async {
        h.clock.advance(by: .seconds(1))
        for (g, cpus) in usage {
            totals[g, default: 0] += UInt64(cpus * 1e6)
            totals["stall-" + g, default: 0] += 500_000
            h.kernel.setUsage("/fairshare/\(g)", usageUsec: totals[g]!)
            h.kernel.setPressure("/fairshare/\(g)", someTotalUsec: totals["stall-" + g]!)
        }
        await h.agent.tick()
    }

    @Test func anIdleGroupGetsCPUIdleAndNoWeightAndOnlyWhatTheOthersLeave() async throws {
        let h = try Harness(policy: workAndScavenger)
        h.spawn(10, "work")
        h.spawn(11, "scav")
        await h.agent.tick()
        #expect(cpuIdle(h, "scav") == "1")
        #expect(cpuIdle(h, "work") == "0")
        #expect(weightWrites(h, "scav").isEmpty, "no cpu.weight for an idle group")
        #expect(h.weight("scav") == "0", "the kernel's reading under cpu.idle = 1")
        #expect(h.journal.events("cpu_idle").contains { $0["FAIRSHARE_GROUP"] == ["scav"] && $0["FAIRSHARE_CPU_IDLE"] == ["1"] })

        var totals: [String: UInt64] = [:]
        for _ in 0..<3 { await interval(h, ["work": 2, "scav": 0], totals: &totals) }
        var status = await h.agent.status()
        #expect(status.agent.failures == nil || status.agent.failures!.isEmpty, "\(status.agent.failures ?? [])")
        var scav = try #require(status.groups.first { $0.name == "scav" })
        #expect(scav.idle == true)
        #expect(scav.cpuWeight == nil)
        #expect(scav.unavailable?["cpu_weight"] == "idle group: cpu.idle = 1, no CPU weight")
        #expect(scav.redistribution?.limit == "idle", "hungry, behind a hungry ordinary group: \(String(describing: scav.redistribution))")
        #expect(scav.redistribution.map { $0.allocationCPUs < 1e-6 } == true, "\(String(describing: scav.redistribution))")
        #expect(status.groups.first { $0.name == "work" }?.idle == nil)

        // The ordinary group stops: all of it is left to the idle one.
        for _ in 0..<3 { await interval(h, ["work": 0, "scav": 2], totals: &totals) }
        h.kernel.kill(10)
        await interval(h, ["work": 0, "scav": 2], totals: &totals)
        status = await h.agent.status()
        scav = try #require(status.groups.first { $0.name == "scav" })
        #expect(scav.redistribution.map { abs($0.allocationCPUs - 2) < 1e-6 } == true, "\(String(describing: scav.redistribution))")
        #expect(weightWrites(h, "scav").isEmpty)
    }

    /// Reloads both ways: cpu.idle goes first, and the weight the kernel reset on leaving idle
    /// is written after it. The fake kernel fails any cpu.weight written while idle.
    @Test func reloadTurnsIdleOnAndOffInTheKernelsOrder() async throws {
        let h = try Harness(policy: workAndScavenger)
        h.spawn(10, "work")
        h.spawn(11, "scav")
        await h.agent.tick()
        #expect(cpuIdle(h, "scav") == "1")

        h.rewrite(workAndOrdinaryScav)
        #expect(await h.agent.reload().applied)
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()
        #expect(cpuIdle(h, "scav") == "0")
        #expect(h.weight("scav") == "300", "written after cpu.idle 0, which had reset it to 100")

        h.rewrite(workAndScavenger)
        #expect(await h.agent.reload().applied)
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()
        #expect(cpuIdle(h, "scav") == "1")
        let status = await h.agent.status()
        #expect(status.agent.failures == nil || status.agent.failures!.isEmpty, "\(status.agent.failures ?? [])")
        #expect(weightWrites(h, "scav") == ["300"])
    }

    /// A kernel before 5.15: one failure, told once, and the idle group runs as an
    /// ordinary group with the smallest weight; ordinary groups are not troubled.
    @Test func aKernelWithoutCPUIdleIsReportedOnceAndTheGroupStillRuns() async throws {
        let h = try Harness(policy: workAndScavenger, setUp: { kernel, _ in kernel.removeCPUIdle() })
        h.spawn(10, "work")
        h.spawn(11, "scav")
        for _ in 0..<3 {
            await h.agent.tick()
            h.clock.advance(by: .seconds(1))
        }
        let status = await h.agent.status()
        let failures = status.agent.failures ?? []
        #expect(failures.map(\.target) == ["cpu.idle of group scav"], "\(failures)")
        #expect(failures.first?.count == 3, "tried every pass, listed while it fails")
        #expect(failures.first?.message.contains("needs Linux 5.15") == true)
        #expect(h.journal.events("error").count == 1, "told once")
        #expect(h.weight("scav") == "1")
        #expect(h.weight("work") == "100")
        #expect(status.groups.first { $0.name == "scav" }?.cpuWeight == 1)
    }

    /// A restart after a policy change: a group an earlier run left idle is made ordinary
    /// again, and gets its weight.
    @Test func aRestartClearsAnIdleFlagTheNewPolicyDoesNotHave() async throws {
        let h = try Harness(policy: workAndOrdinaryScav, setUp: { kernel, _ in
            kernel.makeCgroup("/fairshare")
        })
        h.kernel.makeCgroup("/fairshare/scav")
        h.kernel.setFile(.cpuIdle, of: "/fairshare/scav", to: "1")
        h.kernel.setFile(.cpuWeight, of: "/fairshare/scav", to: "0")
        h.spawn(11, "scav", in: "/fairshare/scav")
        await h.agent.tick()
        #expect(cpuIdle(h, "scav") == "0")
        #expect(h.weight("scav") == "300")
        let status = await h.agent.status()
        #expect(status.agent.failures == nil || status.agent.failures!.isEmpty, "\(status.agent.failures ?? [])")
    }
}
