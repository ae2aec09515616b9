import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The disks can not be read (an errno injected into FakeIODisks): the agent keeps the last good
/// reading (BFQ's weights stay, status shows the disks as last read, no "no disk found"), tells
/// the failure once, counts it in status while it lasts (the disks are read every few passes,
/// and the failure stays open in between), and tells "recovered" once they read again.
@Suite struct DiskReadingFaultTests {
    static let target = "the disks"

    func passes(_ h: Harness, _ n: Int) async {
        for _ in 0..<n {
            h.clock.advance(by: .seconds(1))
            await h.agent.tick()
        }
    }

    @Test func anUnreadableSysBlockKeepsTheLastDisksAndIsToldOnceThenRecovered() async throws {
        let disks = FakeIODisks(FakeIODisks.virtioDisk(scheduler: "bfq"))
        let h = try Harness(policy: lightAndHeavy, disks: disks) { kernel, _ in kernel.loadBFQ() }
        h.spawn(10, "ioread_l")
        h.spawn(11, "ioread_h")
        await h.agent.tick()
        #expect(h.kernel.file(.ioBFQWeight, of: "/fairshare/heavy") == "default 400")
        let bfqWrites = h.kernel.writes.filter { $0.0.hasSuffix("/io.bfq.weight") }.count
        let toldDisks = h.journal.events("io_shares").count

        disks.fail(errno: EACCES)
        let readings = 3
        await passes(h, readings * Agent.disksReadEveryPasses)
        let told = h.journal.events("error").filter { $0["FAIRSHARE_TARGET"] == [Self.target] }
        #expect(told.count == 1, "told once over \(readings) failed readings: \(told)")
        #expect(told.first?["PRIORITY"] == ["4"])
        let message = told.first?["MESSAGE"]?.first ?? ""
        #expect(message.contains("cannot list /sys/block: EACCES (Permission denied)") && message.contains("last reading"), "\(message)")

        var status = await h.agent.status()
        let open = status.agent.failures?.first { $0.target == Self.target }
        #expect(open?.count == readings, "one count per failed reading: \(String(describing: open))")
        #expect(status.ioDevices?.map(\.name) == ["vda"] && status.ioDevices?.first?.through == .bfq, "the last good reading")
        #expect(status.groups.first { $0.name == "heavy" }?.ioBFQWeight == 400)
        #expect(h.journal.events("io_shares").count == toldDisks, "no \"no disk found\", nothing told of the disks")
        #expect(h.kernel.writes.filter { $0.0.hasSuffix("/io.bfq.weight") }.count == bfqWrites, "BFQ's weights are neither forgotten nor rewritten")

        disks.set(FakeIODisks.virtioDisk(scheduler: "bfq"))
        await passes(h, Agent.disksReadEveryPasses)
        let recovered = h.journal.events("recovered").filter { $0["FAIRSHARE_TARGET"] == [Self.target] }
        #expect(recovered.count == 1, "\(recovered)")
        status = await h.agent.status()
        #expect(status.agent.failures?.contains { $0.target == Self.target } != true)
        #expect(h.journal.events("error").filter { $0["FAIRSHARE_TARGET"] == [Self.target] }.count == 1)
    }

    @Test func disksThatWereNeverReadAreShownAsNoneWhileTheFailureIsOpen() async throws {
        let disks = FakeIODisks()
        disks.fail(.read, path: "/sys/block/vda/queue/scheduler", errno: EIO)
        let h = try Harness(policy: lightAndHeavy, disks: disks) { kernel, _ in kernel.loadBFQ() }
        h.spawn(10, "ioread_l")
        await h.agent.tick()
        let status = await h.agent.status()
        #expect(status.ioDevices == nil, "nothing read yet: no disks shown, rather than \"none found\"")
        #expect(status.agent.failures?.first { $0.target == Self.target }?.message == "cannot read /sys/block/vda/queue/scheduler: EIO (Input/output error)")
        #expect(h.journal.events("io_shares").isEmpty, "no \"no disk found under /sys/block\"")
        #expect(h.kernel.writes.filter { $0.0.hasSuffix("/io.bfq.weight") }.isEmpty)
    }
}
