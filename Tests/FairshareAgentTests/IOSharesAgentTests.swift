import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Testing

/// Two groups with io shares 1 : 4.
let lightAndHeavy = """
    [agent]
    interval = "1s"

    [[group]]
    name = "light"
    shares = 1
    io_shares = 1
    [group.match]
    comm = ["ioread_l"]

    [[group]]
    name = "heavy"
    shares = 1
    io_shares = 4
    [group.match]
    comm = ["ioread_h"]
    """

/// The agent on the in-memory kernel with a disk whose scheduler and io.cost the test switches,
/// as the machine's owner would: io.bfq.weight follows BFQ, status and the journal say per
/// disk where io shares count, and the agent never writes io.cost's files.
@Suite struct IOSharesAgentTests {
    func bfq(_ h: Harness, _ g: String) -> String? { h.kernel.file(.ioBFQWeight, of: "/fairshare/\(g)") }
    func bfqWrites(_ h: Harness) -> [(String, String)] { h.kernel.writes.filter { $0.0.hasSuffix("/io.bfq.weight") } }

    /// Enough passes for the disks to be read again (they are read every few passes).
    func passes(_ h: Harness, _ n: Int = Agent.disksReadEveryPasses) async {
        for _ in 0..<n {
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
    }

    @Test func underBFQEachGroupGetsItsMappedWeightAndStatusSaysSo() async throws {
        let disks = FakeIODisks(FakeIODisks.virtioDisk(scheduler: "bfq"))
        let h = try Harness(policy: lightAndHeavy, disks: disks) { kernel, _ in kernel.loadBFQ() }
        h.spawn(10, "ioread_l")
        h.spawn(11, "ioread_h")
        await h.agent.tick()
        #expect(bfq(h, "light") == "default 100")
        #expect(bfq(h, "heavy") == "default 400")
        #expect(h.kernel.file(.ioWeight, of: "/fairshare/heavy") == "default 400", "io.weight for io.cost as before")
        let status = await h.agent.status()
        #expect(status.groups.first { $0.name == "heavy" }?.ioBFQWeight == 400)
        let disk = try #require(status.ioDevices?.first)
        #expect(disk.name == "vda" && disk.inForce && disk.through == .bfq, "\(disk)")
        let told = h.journal.events("io_shares")
        #expect(told.count == 1 && told[0]["FAIRSHARE_THROUGH"] == ["bfq"] && told[0]["PRIORITY"] == ["6"], "\(told)")
        #expect(h.journal.events("weights").contains { $0["FAIRSHARE_IO_BFQ_WEIGHT"] == ["400"] && $0["FAIRSHARE_GROUP"] == ["heavy"] })

        // Nothing changes: nothing is written or told again.
        let writes = bfqWrites(h).count
        await passes(h)
        #expect(bfqWrites(h).count == writes)
        #expect(h.journal.events("io_shares").count == 1)
        #expect(!h.kernel.writes.contains { $0.0.contains("io.cost") }, "io.cost.model and io.cost.qos are the owner's")
    }

    @Test func noBFQWeightIsWrittenWhereNoDiskUsesBFQEvenWithTheModuleLoaded() async throws {
        let disks = FakeIODisks(FakeIODisks.virtioDisk(scheduler: "mq-deadline", ioCost: true))
        let h = try Harness(policy: lightAndHeavy, disks: disks) { kernel, _ in kernel.loadBFQ() }
        h.spawn(10, "ioread_l")
        await passes(h)
        #expect(bfqWrites(h).isEmpty)
        let status = await h.agent.status()
        #expect(status.groups.allSatisfy { $0.ioBFQWeight == nil })
        let disk = try #require(status.ioDevices?.first)
        #expect(disk.inForce && disk.through == .ioCost && disk.ioCostControl == "user", "\(disk)")
        #expect(h.journal.events("io_shares").map { $0["FAIRSHARE_THROUGH"] } == [["io.cost"]])
    }

    @Test func aDiskSwitchedToBFQAndAwayIsFollowedAndToldOnceEachWay() async throws {
        let disks = FakeIODisks(FakeIODisks.virtioDisk(scheduler: "mq-deadline"))
        let h = try Harness(policy: lightAndHeavy, disks: disks) { kernel, _ in kernel.loadBFQ() }
        h.spawn(10, "ioread_l")
        await h.agent.tick()
        var status = await h.agent.status()
        #expect(status.ioDevices?.first?.inForce == false)
        #expect(h.journal.events("io_shares").map { $0["PRIORITY"] } == [["4"], ["4"]], "the disk, then 'nowhere', as warnings")
        #expect(bfqWrites(h).isEmpty)

        disks.set(FakeIODisks.virtioDisk(scheduler: "bfq"))
        await passes(h)
        #expect(bfq(h, "heavy") == "default 400", "picked up at the next reading of the disks")
        status = await h.agent.status()
        #expect(status.ioDevices?.first?.through == .bfq)

        // BFQ goes and comes back: the cgroups' weights are written again (a fresh BFQ
        // instance starts groups at the default).
        disks.set(FakeIODisks.virtioDisk(scheduler: "none"))
        await passes(h)
        h.kernel.setFile(.ioBFQWeight, of: "/fairshare/heavy", to: "default 100")
        disks.set(FakeIODisks.virtioDisk(scheduler: "bfq"))
        await passes(h)
        #expect(bfq(h, "heavy") == "default 400")
        let throughs = h.journal.events("io_shares").compactMap { $0["FAIRSHARE_THROUGH"]?.first }
        #expect(throughs == ["none", "bfq", "none", "bfq"], "\(throughs)")
        // "nowhere" twice: at start, and when the disk went to none.
        #expect(h.journal.events("io_shares").filter { $0["FAIRSHARE_DISKS"] != nil }.count == 2)
    }

    @Test func bfqsRangeWarningIsToldWhileBFQIsActive() async throws {
        let lossy = lightAndHeavy.replacingOccurrences(of: "io_shares = 4", with: "io_shares = 10000")
        let disks = FakeIODisks(FakeIODisks.virtioDisk(scheduler: "bfq"))
        let h = try Harness(policy: lossy, disks: disks) { kernel, _ in kernel.loadBFQ() }
        h.spawn(10, "ioread_l")
        await passes(h, 2 * Agent.disksReadEveryPasses)
        let warnings = h.journal.events("warning").filter { $0["MESSAGE"]?.first?.contains("io.bfq.weight range") == true }
        #expect(warnings.count == 1, "once, not every reading: \(warnings)")
        #expect(warnings.first?["MESSAGE"]?.first?.contains("light (io_shares 1 -> io.bfq.weight 1)") == true)
        #expect(bfq(h, "heavy") == "default 1000")
    }

    @Test func aFailedBFQWriteIsReportedAndRetriedWithoutTouchingTheRest() async throws {
        let disks = FakeIODisks(FakeIODisks.virtioDisk(scheduler: "bfq"))
        // The module is not loaded (the disk was read before bfq went away): no file.
        let h = try Harness(policy: lightAndHeavy, disks: disks)
        h.spawn(10, "ioread_l")
        await h.agent.tick()
        let status = await h.agent.status()
        let failures = status.agent.failures ?? []
        #expect(failures.contains { $0.target == "io.bfq.weight of group light" && $0.message.contains("BFQ is no longer loaded") }, "\(failures)")
        #expect(h.kernel.file(.ioWeight, of: "/fairshare/light") == "default 100")
        #expect(h.kernel.file(.cpuWeight, of: "/fairshare/light") == "100")
    }
}
