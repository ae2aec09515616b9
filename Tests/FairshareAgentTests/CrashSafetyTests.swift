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

/// An origin ledger that dies with the agent: a write after the kill point does not happen.
final class MortalOriginStore: OriginStore, Sendable {
    let kernel: FakeKernel
    let text = Mutex<String?>(nil)

    init(kernel: FakeKernel) { self.kernel = kernel }

    func load() throws -> String? { text.withLock { $0 } }
    func save(_ t: String) throws {
        guard kernel.takeEffect() else { throw CgroupError(.write, path: "/run/fairshare/origins", errno: EIO) }
        text.withLock { $0 = t }
    }
}

/// A life of the agent with processes born in several cgroups, children born inside groups, a
/// reload that drops a group and a stop; `die(afterEffects:)` kills it at any of its effects.
final class CrashScenario: Sendable {
    static let root = "/fairshare.slice/fairshare.service"
    static let origins = ["/origA", "/origB", "/user.slice/user-1000.slice/session-1.scope"]

    let kernel = FakeKernel()
    let store: MortalOriginStore
    let policyText: Mutex<String>
    /// The agent hears of processes from kernel events (a fake source) instead of scanning.
    let withEvents: Bool
    /// Processes of three users (uid 1000 + pid % 3) rather than one.
    let users: Bool
    /// Where every process was born: where it must end.
    private let birthplaces = Mutex<[Int32: String]>([:])

    init(withEvents: Bool = false, policy: String = threeGroups, users: Bool = false) {
        self.withEvents = withEvents
        self.users = users
        policyText = Mutex(policy)
        store = MortalOriginStore(kernel: kernel)
        kernel.makeCgroup("/fairshare.slice", enable: ["cpu", "io"])
        kernel.makeCgroup(Self.root)
        for o in Self.origins { kernel.makeCgroup(o) }
    }

    var tree: CgroupTree { CgroupTree(fs: kernel.filesystem, root: CgroupPath(Self.root)!, pause: { _ in }) }

    /// A process born outside every group; its birthplace is its origin.
    func spawn(_ pid: Int32, _ comm: String, in cgroup: String, parent: Int32 = 1) {
        kernel.spawn(ProcessInfo(pid: pid, parentPID: parent, startTime: 1000 + UInt64(pid), uid: uid(pid), comm: comm, argv: [comm], cgroup: cgroup))
        birthplaces.withLock { $0[pid] = cgroup }
    }

    /// A child born wherever its parent is now; inside a group it belongs where the parent came from.
    func fork(_ pid: Int32, _ comm: String, parent: Int32) {
        let here = kernel.cgroupOf(parent)!
        kernel.spawn(ProcessInfo(pid: pid, parentPID: parent, startTime: 1000 + UInt64(pid), uid: uid(parent), comm: comm, argv: [comm], cgroup: here))
        birthplaces.withLock { $0[pid] = here.hasPrefix(Self.root + "/") ? $0[parent]! : here }
    }

    var expectedHomes: [Int32: String] { birthplaces.withLock { $0 } }

    func uid(_ pid: Int32) -> UInt32 { users ? 1000 + UInt32(pid % 3) : 1000 }

    func startAgent(pid: Int32) throws -> Agent {
        kernel.spawn(ProcessInfo(pid: pid, parentPID: 1, startTime: 1, uid: 0, comm: "fairshare", argv: ["fairshare"], cgroup: Self.root))
        _ = try tree.prepare(agentPID: pid, agentCgroup: CgroupPath(Self.root), configureAncestors: false)
        let policy = try PolicyParser.parse(policyText.withLock { $0 }, file: "/etc/fairshare/policy.toml")
        let env = AgentEnvironment(
            cgroups: tree, processes: kernel.processSource, clock: ManualClock(), notifier: RecordingNotifier(),
            readFile: { [self] _ in self.policyText.withLock { $0 } }, agentPID: pid, capacityCPUs: 2, origins: store,
            events: withEvents ? FakeProcessEvents() : nil)
        return Agent(policy: policy, policyPath: "/etc/fairshare/policy.toml", env: env, logger: RecordingJournal().logger())
    }

    /// The first agent's life. After the kill point nothing it does has an effect, but the world
    /// (processes being born) goes on.
    func live() async throws {
        spawn(10, "burn_a", in: Self.origins[2])
        spawn(11, "burn_b", in: Self.origins[0])
        spawn(12, "burn_c", in: Self.origins[1])
        spawn(13, "bash", in: Self.origins[2])
        // A kill during set-up: the agent never ran (its set-up fails once it is dead).
        guard let agent = try? startAgent(pid: 4242) else { return }
        await agent.tick()
        for pid: Int32 in 20..<30 { spawn(pid, pid % 2 == 0 ? "burn_a" : "burn_b", in: Self.origins[Int(pid) % 2]) }
        fork(40, "make", parent: 10)
        if withEvents {
            // What the kernel would say: ten execs, a fork of a member; then a pass (no scan).
            await agent.handleEvents(.events((20..<30).map { .exec(pid: $0, tgid: $0) } + [.fork(parentTGID: 10, childPID: 40, childTGID: 40)],
                                             malformed: 0))
        }
        await agent.tick()
        fork(41, "cc", parent: 40)
        if withEvents { await agent.handleEvents(.events([.fork(parentTGID: 40, childPID: 41, childTGID: 41)], malformed: 0)) }
        spawn(30, "burn_c", in: Self.origins[0])
        policyText.withLock { $0 = $0.replacingOccurrences(of: "name = \"mid\"", with: "name = \"middle\"") }
        await agent.reload()
        await agent.tick()
        await agent.shutdown()
    }
}

@Suite struct CrashSafetyTests {
    /// The issue's reproduction: killed as soon as the first process has moved, the ledger must
    /// already name that process's origin (0.4.0 wrote it only after the whole pass).
    @Test func theLedgerNamesAMovedProcesssOriginBeforeItMoves() async throws {
        for k in 0..<100 {
            let s = CrashScenario()
            let agent = try s.startAgent(pid: 4242)
            for pid: Int32 in 11..<21 { s.spawn(pid, "burn_b", in: CrashScenario.origins[0]) }
            s.kernel.die(afterEffects: k)
            await agent.tick()
            let moved = (11..<21).filter { s.kernel.cgroupOf($0) == CrashScenario.root + "/mid" }
            guard !moved.isEmpty else { continue }
            let text = try s.store.load()
            let ledger = try OriginLedger.decode(try #require(text, "killed after the first move with no ledger at all"))
            for pid in moved {
                #expect(ledger.members[ProcessIdentity(pid: pid, startTime: 1000 + UInt64(pid))]?.origin == "/origA",
                        "pid \(pid) moved, but the ledger does not say where it came from")
            }
            return
        }
        Issue.record("no process was ever moved")
    }

    /// Kill at every effect of a life (cgroup writes, mkdir, rmdir, ledger writes), recover with
    /// `keep` and `hand-back` alternately, restart, stop: every process ends where it was born
    /// (or where its parent was, for one born in a group), alive, and no group is left.
    @Test(arguments: [false, true])
    func aKillAtAnyEffectLosesNothing(withEvents: Bool) async throws {
        try await killAtAnyEffect(withEvents: withEvents, policy: threeGroups)
    }

    /// The same with a per_user group (three users) and a nested one: a user's subgroup and a
    /// parent's cgroup are made, filled, emptied and removed at every kill point.
    @Test(arguments: [false, true])
    func aKillAtAnyEffectLosesNothingWithUsersAndNestedGroups(withEvents: Bool) async throws {
        try await killAtAnyEffect(withEvents: withEvents, policy: treeCrashPolicy, users: true)
    }

    func killAtAnyEffect(withEvents: Bool, policy: String, users: Bool = false) async throws {
        let whole = CrashScenario(withEvents: withEvents, policy: policy, users: users)
        try await whole.live()
        let total = whole.kernel.effects
        #expect(total > 40, "the scenario does too little to mean anything (\(total) effects)")
        var failures: [String] = []
        for k in 0...total {
            let s = CrashScenario(withEvents: withEvents, policy: policy, users: users)
            s.kernel.die(afterEffects: k)
            try await s.live()
            s.kernel.revive()
            s.kernel.kill(4242)
            let mode: Recovery.Mode = k % 2 == 0 ? .keep : .handBack
            _ = try await Recovery.run(mode: mode, tree: s.tree, processes: s.kernel.processSource, origins: s.store,
                                       capacityCPUs: 2, logger: RecordingJournal().logger())
            let next = try s.startAgent(pid: 4343)
            await next.tick()
            await next.shutdown()
            s.kernel.kill(4343)
            for (pid, home) in s.expectedHomes.sorted(by: { $0.key < $1.key }) {
                guard let now = s.kernel.cgroupOf(pid) else {
                    failures.append("kill after \(k) (\(mode)): pid \(pid) is gone")
                    continue
                }
                if now != home { failures.append("kill after \(k) (\(mode)): pid \(pid) in \(now), born in \(home)") }
            }
            // Groups only: the agent's own empty leaf goes with the unit's cgroup under systemd.
            let left = ((try? s.kernel.filesystem.children(of: CgroupPath(CrashScenario.root)!)) ?? []).compactMap { GroupName($0) }
            if !left.isEmpty { failures.append("kill after \(k) (\(mode)): left \(left)") }
        }
        #expect(failures.isEmpty, "\(failures.count) wrong outcomes over \(total + 1) kill points, first: \(failures.prefix(5))")
    }
}

@Suite struct OriginLedgerWriteTests {
    @Test func noProcessIsMovedWhileTheLedgerCannotBeWritten() async throws {
        let s = CrashScenario()
        let agent = try s.startAgent(pid: 4242)
        s.spawn(11, "burn_b", in: CrashScenario.origins[0])
        // Everything but the ledger still works: the kernel would take the move.
        final class FullDisk: OriginStore, Sendable {
            func load() throws -> String? { nil }
            func save(_ t: String) throws { throw CgroupError(.write, path: "/run/fairshare/origins.new", errno: ENOSPC) }
        }
        let env = AgentEnvironment(cgroups: s.tree, processes: s.kernel.processSource, clock: ManualClock(), notifier: RecordingNotifier(),
                                   readFile: { _ in threeGroups }, agentPID: 4242, capacityCPUs: 2, origins: FullDisk())
        let journal = RecordingJournal()
        let blind = Agent(policy: await agent.policy, policyPath: "/etc/fairshare/policy.toml", env: env, logger: journal.logger())
        await blind.tick()
        await blind.tick()
        #expect(s.kernel.cgroupOf(11) == "/origA", "moved without a record of where it came from")
        #expect(s.kernel.file(.cpuWeight, of: CrashScenario.root + "/mid") == "200", "the rest of the pass did not run")
        let errors = journal.events("error").compactMap { $0["MESSAGE"]?.first }.filter { $0.contains("not moving") }
        #expect(errors.count == 1, "reported \(errors.count) times: \(errors)")
    }

    @Test func theLedgerFileIsPrivateAndReplacedWhole() throws {
        var template = Array("/tmp/fairshare-ledger-XXXXXX".utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        defer { _ = unlink(dir + "/origins"); _ = rmdir(dir) }
        let path = dir + "/origins"
        // A file left by an older version, readable by everyone.
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        close(fd)
        chmod(path, 0o644)
        let store = FileOriginStore(path: path)
        try store.save("fairshare-origins 1\n11\t1011\tmatched\tmid\t/origA\n")
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(try store.load() == "fairshare-origins 1\n11\t1011\tmatched\tmid\t/origA\n")
        #expect(access(path + ".new", F_OK) != 0, "the temporary file was left behind")
    }
}

/// threeGroups as a tree: `low` one subgroup per user, `mid` and `high` the children of `research`.
let treeCrashPolicy = """
    [agent]
    interval = "1s"

    [[group]]
    name = "low"
    shares = 1
    per_user = true
    [group.match]
    comm = ["burn_a"]

    [[group]]
    name = "research"
    shares = 2

    [[group]]
    name = "mid"
    parent = "research"
    shares = 2
    [group.match]
    comm = ["burn_b"]

    [[group]]
    name = "high"
    parent = "research"
    shares = 5
    [group.match]
    comm = ["burn_c"]
    """
