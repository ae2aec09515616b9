import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The origin ledger in memory (the agent's /run/fairshare/origins).
final class MemoryOriginStore: OriginStore {
    let text = Mutex<String?>(nil)
    func load() throws -> String? { text.withLock { $0 } }
    func save(_ t: String) throws { text.withLock { $0 = t } }
}

/// The layout systemd gives the service: a delegated root with cpu and io available.
struct ServiceMachine {
    static let root = "/fairshare.slice/fairshare.service"
    static let session = "/user.slice/user-1000.slice/session-1.scope"
    static let cron = "/system.slice/cron.service"

    let kernel = FakeKernel()
    let store = MemoryOriginStore()
    let journal = RecordingJournal()
    let units: FakeUnitManager
    let policyText: String
    let policy: Policy

    init(policy text: String = threeGroups) throws {
        units = FakeUnitManager(kernel: kernel)
        kernel.makeCgroup("/fairshare.slice", enable: ["cpu", "io"])
        kernel.makeCgroup(Self.root)
        kernel.makeCgroup(Self.session)
        kernel.makeCgroup(Self.cron)
        policyText = text
        policy = try PolicyParser.parse(text, file: "/etc/fairshare/policy.toml")
        spawn(10, "burn_a", in: Self.session, uid: 1000)
        spawn(11, "burn_b", in: Self.cron)
        spawn(12, "burn_c", in: Self.session, uid: 1000)
        spawn(13, "bash", in: Self.session, uid: 1000)
    }

    func spawn(_ pid: Int32, _ comm: String, in cgroup: String, uid: UInt32 = 0, parent: Int32 = 1) {
        kernel.spawn(ProcessInfo(pid: pid, parentPID: parent, startTime: 100 + UInt64(pid), uid: uid, comm: comm, argv: [comm], cgroup: cgroup))
    }

    var tree: CgroupTree { CgroupTree(fs: kernel.filesystem, root: CgroupPath(Self.root)!, pause: { _ in }) }

    /// systemd starts an agent process in the unit's cgroup; it sets up like `fairshare run`.
    func startAgent(pid: Int32, descriptors: DescriptorReserve? = nil) throws -> Agent {
        spawn(pid, "fairshare", in: Self.root)
        _ = try tree.prepare(agentPID: pid, agentCgroup: CgroupPath(Self.root), configureAncestors: false)
        let text = policyText
        let env = AgentEnvironment(
            cgroups: tree, processes: kernel.processSource, clock: ManualClock(), notifier: RecordingNotifier(),
            readFile: { _ in text }, agentPID: pid, capacityCPUs: 2, origins: store, units: units, descriptors: descriptors)
        return Agent(policy: policy, policyPath: "/etc/fairshare/policy.toml", env: env, logger: journal.logger())
    }

    func group(_ name: String) -> String { Self.root + "/" + name }
}

let threeGroupsAndADatabaseUnit = threeGroups + """

    [[group]]
    name = "database"
    shares = 3
    [group.match]
    units = ["postgresql.service"]
    """

@Suite struct RestartAfterCrashTests {
    @Test func recoveryModeFollowsSystemdsServiceResult() {
        let table: [(String?, Recovery.Mode)] = [
            ("signal", .keep), ("core-dump", .keep), ("watchdog", .keep),
            ("success", .handBack), ("timeout", .handBack), ("exit-code", .handBack),
            ("start-limit-hit", .handBack), (nil, .handBack),
        ]
        for (result, mode) in table {
            #expect(Recovery.mode(serviceResult: result) == mode, "SERVICE_RESULT=\(result ?? "unset")")
        }
    }

    @Test func restartedAgentAdoptsProcessesInPlaceAndGivesThemBackToTheirRecordedOrigins() async throws {
        let m = try ServiceMachine()
        let first = try m.startAgent(pid: 4242)
        await first.tick()
        #expect(m.kernel.cgroupOf(10) == m.group("low"))
        #expect(m.kernel.cgroupOf(11) == m.group("mid"))
        let ledger = try #require(m.store.text.withLock { $0 })
        #expect(ledger.contains("11\t111\tmatched\tmid\t\(ServiceMachine.cron)"))

        // kill -9: no shutdown. A child is born inside a group while no agent runs.
        m.kernel.kill(4242)
        m.spawn(20, "make", in: m.group("low"), uid: 1000, parent: 10)
        let kept = try await Recovery.run(mode: .keep, tree: m.tree, processes: m.kernel.processSource, origins: m.store,
                                          capacityCPUs: 2, logger: m.journal.logger())
        #expect(kept.populatedGroups.map(\.rawValue) == ["high", "low", "mid"])
        #expect(Set(kept.controllersReleased) == ["cpu", "io"])
        #expect(m.kernel.subtreeControl(of: ServiceMachine.root).isEmpty, "systemd could not start the next agent in the unit's cgroup")
        for pid: Int32 in [10, 11, 12, 20] {
            #expect(m.kernel.cgroupOf(pid)?.hasPrefix(ServiceMachine.root + "/") == true, "pid \(pid) left its group")
        }

        let movesBefore = m.journal.events("moved").count
        let second = try m.startAgent(pid: 4343)
        await second.tick()
        #expect(m.journal.events("moved").count == movesBefore, "the restarted agent moved processes instead of adopting them")
        #expect(m.kernel.cgroupOf(10) == m.group("low"))
        #expect(m.kernel.cgroupOf(20) == m.group("low"))
        #expect(m.kernel.cgroupOf(13) == ServiceMachine.session, "an unmatched process was touched")
        #expect(m.kernel.file(.cpuWeight, of: m.group("low")) == "100")
        #expect(m.kernel.file(.cpuWeight, of: m.group("high")) == "500")
        #expect(Set(m.kernel.subtreeControl(of: ServiceMachine.root)).isSuperset(of: ["cpu", "io"]))

        await second.shutdown()
        #expect(m.kernel.cgroupOf(10) == ServiceMachine.session)
        #expect(m.kernel.cgroupOf(11) == ServiceMachine.cron, "the ledger's origin was not used")
        #expect(m.kernel.cgroupOf(12) == ServiceMachine.session)
        #expect(m.kernel.cgroupOf(20) == ServiceMachine.session, "a child born in a group goes where its parent came from")
        #expect(!m.kernel.exists(m.group("low")))
        let after = try #require(m.store.text.withLock { $0 })
        #expect(try OriginLedger.decode(after) == OriginLedger.Contents())
    }

    @Test func unitsGetTheirOwnWeightsBackAfterACrashAndRestartNotTheCrashedAgents() async throws {
        let m = try ServiceMachine(policy: threeGroupsAndADatabaseUnit)
        m.units.addUnit("postgresql.service", cgroup: "/system.slice/postgresql.service", weights: UnitWeights(cpu: 250, io: nil))
        let first = try m.startAgent(pid: 4242)
        await first.tick()
        #expect(m.units.unit("postgresql.service")?.weights == UnitWeights(cpu: 300, io: 300))
        m.kernel.kill(4242)
        _ = try await Recovery.run(mode: .keep, tree: m.tree, processes: m.kernel.processSource, origins: m.store,
                                   units: m.units, capacityCPUs: 2, logger: m.journal.logger())
        #expect(m.units.unit("postgresql.service")?.weights == UnitWeights(cpu: 300, io: 300), "keep mode left the units alone")

        let second = try m.startAgent(pid: 4343)
        await second.tick()
        await second.shutdown()
        #expect(m.units.unit("postgresql.service")?.weights == UnitWeights(cpu: 250, io: nil),
                "the restarted agent took the crashed agent's weights for the unit's own")
    }

    @Test func handBackAfterACrashAlsoRestoresTheUnits() async throws {
        let m = try ServiceMachine(policy: threeGroupsAndADatabaseUnit)
        m.units.addUnit("postgresql.service", cgroup: "/system.slice/postgresql.service")
        let agent = try m.startAgent(pid: 4242)
        await agent.tick()
        m.kernel.kill(4242)
        _ = try await Recovery.run(mode: .handBack, tree: m.tree, processes: m.kernel.processSource, origins: m.store,
                                   units: m.units, capacityCPUs: 2, logger: m.journal.logger())
        #expect(m.units.unit("postgresql.service")?.weights == UnitWeights(cpu: nil, io: nil))
        #expect(m.kernel.cgroupOf(11) == ServiceMachine.cron)
    }

    @Test func handBackAfterTheAgentIsGoneReturnsEveryProcessAndRemovesTheGroups() async throws {
        let m = try ServiceMachine()
        let agent = try m.startAgent(pid: 4242)
        await agent.tick()
        m.kernel.kill(4242)
        let outcome = try await Recovery.run(mode: .handBack, tree: m.tree, processes: m.kernel.processSource, origins: m.store,
                                             capacityCPUs: 2, logger: m.journal.logger())
        #expect(outcome.populatedGroups.isEmpty)
        #expect(outcome.acted)
        #expect(m.kernel.cgroupOf(10) == ServiceMachine.session)
        #expect(m.kernel.cgroupOf(11) == ServiceMachine.cron)
        for name in ["low", "mid", "high", "_agent"] {
            #expect(!m.kernel.exists(m.group(name)), "\(name) left behind")
        }
        #expect([10, 11, 12, 13].allSatisfy { m.kernel.process($0) != nil }, "a process was lost")
    }

    @Test func aProcessThatCannotBeGivenBackStaysAndTheControllersAreStillReleased() async throws {
        let m = try ServiceMachine()
        let agent = try m.startAgent(pid: 4242)
        await agent.tick()
        m.kernel.kill(4242)
        // Its origin refuses it and so does every ancestor: it must stay, alive, in its group.
        for c in [ServiceMachine.cron, "/system.slice", "/", "/fairshare.slice"] {
            m.kernel.inject(errno: EACCES, file: .procs, cgroup: c, operation: .write)
        }
        let outcome = try await Recovery.run(mode: .handBack, tree: m.tree, processes: m.kernel.processSource, origins: m.store,
                                             capacityCPUs: 2, logger: m.journal.logger())
        #expect(outcome.populatedGroups.map(\.rawValue) == ["mid"])
        #expect(m.kernel.cgroupOf(11) == m.group("mid"))
        #expect(m.kernel.subtreeControl(of: ServiceMachine.root).isEmpty)
        #expect(m.kernel.process(11) != nil)
    }

    @Test func afterACleanStopThereIsNothingToRecover() async throws {
        let m = try ServiceMachine()
        let agent = try m.startAgent(pid: 4242)
        await agent.tick()
        await agent.shutdown()
        let outcome = try await Recovery.run(mode: .handBack, tree: m.tree, processes: m.kernel.processSource, origins: m.store,
                                             capacityCPUs: 2, logger: m.journal.logger())
        #expect(!outcome.acted)
        #expect(m.journal.events("stopping").count == 1, "recover went through a second shutdown")
    }

    @Test func ledgerRoundTripsAndRejectsMalformedLines() throws {
        let members: [ProcessIdentity: Enforcer.Membership] = [
            ProcessIdentity(pid: 7, startTime: 99): .init(group: GroupName("build")!, origin: "/user.slice/a b.scope", reason: .matched),
            ProcessIdentity(pid: 8, startTime: 5): .init(group: GroupName("db")!, origin: "/", reason: .inherited),
        ]
        let units = ["postgresql.service": UnitWeights(cpu: nil, io: nil), "user-1000.slice": UnitWeights(cpu: 250, io: nil)]
        let contents = OriginLedger.Contents(members: members, unitOriginals: units)
        #expect(try OriginLedger.decode(OriginLedger.encode(contents)) == contents)
        let bad: [String] = [
            "", "fairshare-origins 2\n", "fairshare-origins 1\n7\t99\tmatched\tbuild\n",
            "fairshare-origins 1\nx\t99\tmatched\tbuild\t/a\n", "fairshare-origins 1\n7\t99\tguessed\tbuild\t/a\n",
            "fairshare-origins 1\n7\t99\tmatched\t../etc\t/a\n", "fairshare-origins 1\n7\t99\tmatched\tbuild\trelative\n",
            "fairshare-origins 1\nunit\tpg.service\t0\t-\n", "fairshare-origins 1\nunit\tpg-*.service\t100\t-\n",
            "fairshare-origins 1\nunit\tpg.target\t100\t100\n", "fairshare-origins 1\nunit\tpg.service\t100\n",
        ]
        for text in bad {
            #expect(throws: OriginLedger.ParseError.self, "accepted \(text.debugDescription)") { try OriginLedger.decode(text) }
        }
    }
}
