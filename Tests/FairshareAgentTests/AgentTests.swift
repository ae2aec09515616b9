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

/// A fake machine: an in-memory kernel, a policy file the test can rewrite, and the agent
/// wired to them with recording notifier and journal.
final class Harness: Sendable {
    let kernel = FakeKernel()
    let clock = ManualClock()
    let notifier = RecordingNotifier()
    let journal = RecordingJournal()
    let policyFile: PolicyFile
    let agent: Agent
    /// systemd, for unit-backed groups.
    let units: FakeUnitManager
    /// The metrics textfile's directory and files (none exist until a test makes them).
    let metricsFiles = FakeMetricsFiles()
    static let agentPID: Int32 = 4242

    init(policy text: String, root: String = "/fairshare", events: FakeProcessEvents? = nil, eventsUnavailable: String? = nil,
         disks: FakeIODisks? = nil, prepared: Bool = true, setUp: (FakeKernel, FakeUnitManager) -> Void = { _, _ in }) throws {
        policyFile = PolicyFile(text)
        units = FakeUnitManager(kernel: kernel)
        setUp(kernel, units)
        kernel.makeCgroup("/origin")
        kernel.makeCgroup("/user.slice/user-1000.slice")
        let tree = CgroupTree(fs: kernel.filesystem, root: CgroupPath(root)!, pause: { _ in })
        // Unprepared: the agent prepares the tree itself when it first enforces (observe mode).
        if prepared { _ = try tree.prepare(agentPID: Harness.agentPID, agentCgroup: CgroupPath("/origin")) }
        let policy = try PolicyParser.parse(text, file: "/etc/fairshare/policy.toml")
        let file = policyFile
        let env = AgentEnvironment(
            cgroups: tree, processes: kernel.processSource, clock: clock, notifier: notifier,
            readFile: { _ in file.text },
            resolveUser: { $0 == "alice" ? 1001 : nil }, resolveGroup: { $0 == "staff" ? 50 : nil }, userName: { $0 == 1001 ? "alice" : nil },
            agentPID: Harness.agentPID, capacityCPUs: 2, units: units, events: events, eventsUnavailable: eventsUnavailable,
            metricsFiles: metricsFiles, disks: disks,
            preparation: prepared ? nil : CgroupPreparation(agentCgroup: CgroupPath("/origin"), configureAncestors: true))
        agent = Agent(policy: policy, policyPath: "/etc/fairshare/policy.toml", env: env, logger: journal.logger(), version: "9.9.9")
    }

    func rewrite(_ text: String) { policyFile.text = text }

    func spawn(_ pid: Int32, _ comm: String, in cgroup: String = "/origin", uid: UInt32 = 0, parent: Int32 = 1, start: UInt64 = 100) {
        kernel.spawn(ProcessInfo(pid: pid, parentPID: parent, startTime: start, uid: uid, comm: comm, argv: [comm], cgroup: cgroup))
    }

    func weight(_ group: String) -> String? { kernel.file(.cpuWeight, of: "/fairshare/\(group)") }
}

/// The policy file's text, as the test last wrote it.
final class PolicyFile: Sendable {
    private let content: Mutex<String>
    init(_ text: String) { content = Mutex(text) }
    var text: String {
        get { content.withLock { $0 } }
        set { content.withLock { $0 = newValue } }
    }
}

let threeGroups = """
    [agent]
    interval = "1s"
    report_interval = "10s"

    [[group]]
    name = "low"
    shares = 1
    [group.match]
    comm = ["burn_a"]

    [[group]]
    name = "mid"
    shares = 2
    [group.match]
    comm = ["burn_b"]

    [[group]]
    name = "high"
    shares = 5
    [group.match]
    comm = ["burn_c"]
    """

@Suite struct AgentTickTests {
    @Test func movesMatchingProcessesAndWritesWeightsPreservingRatios() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        h.spawn(12, "burn_c")
        h.spawn(13, "bash")
        await h.agent.tick()

        #expect(h.kernel.cgroupOf(10) == "/fairshare/low")
        #expect(h.kernel.cgroupOf(11) == "/fairshare/mid")
        #expect(h.kernel.cgroupOf(12) == "/fairshare/high")
        #expect(h.kernel.cgroupOf(13) == "/origin", "a process matching no group stays where it is")
        #expect(h.weight("low") == "100")
        #expect(h.weight("mid") == "200")
        #expect(h.weight("high") == "500")
        #expect(h.kernel.file(.ioWeight, of: "/fairshare/high") == "default 500")
        #expect(h.kernel.subtreeControl(of: "/fairshare").contains("cpu"))
        #expect(h.journal.events("group_created").count == 3)
        #expect(h.journal.events("moved").map { $0["FAIRSHARE_PID"] ?? [] }.flatMap { $0 }.sorted() == ["10", "11", "12"])
    }

    @Test func neverMovesPID1KernelThreadsOrItself() async throws {
        let h = try Harness(policy: """
            [[group]]
            name = "all"
            shares = 1
            [group.match]
            users = [0]
            """)
        h.spawn(1, "systemd")
        h.kernel.spawn(ProcessInfo(pid: 2, parentPID: 0, comm: "kthreadd", cgroup: "/", isKernelThread: true))
        h.spawn(Harness.agentPID, "fairshare")
        h.spawn(20, "sleep")
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(1) == "/origin")
        #expect(h.kernel.cgroupOf(2) == "/")
        #expect(h.kernel.cgroupOf(Harness.agentPID) == "/origin")
        #expect(h.kernel.cgroupOf(20) == "/fairshare/all")
    }

    @Test func writesWeightsOnlyWhenTheyChange() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        await h.agent.tick()
        h.kernel.clearWrites()
        await h.agent.tick()
        #expect(h.kernel.writes.isEmpty, "a second pass with nothing new writes nothing: \(h.kernel.writes)")
    }

    @Test func vanishedProcessIsSkippedQuietly() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        // pid 10 exits between the scan and the write: the kernel answers ESRCH.
        h.kernel.inject(errno: ESRCH, file: .procs, cgroup: "/fairshare/low", times: 1)
        await h.agent.tick()
        #expect(h.journal.events("error").isEmpty)
        #expect(h.kernel.cgroupOf(11) == "/fairshare/mid")
        let status = await h.agent.status()
        #expect(status.groups.first { $0.name == "low" }?.members == 0)
    }

    @Test func transientEBUSYIsRetriedAndPermanentOneReportedOnce() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.kernel.inject(errno: EBUSY, file: .procs, cgroup: "/fairshare/low", times: 2)
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(10) == "/fairshare/low", "two EBUSY answers are retried within the pass")

        h.spawn(11, "burn_b")
        h.kernel.inject(errno: EACCES, file: .procs, cgroup: "/fairshare/mid")
        await h.agent.tick()
        await h.agent.tick()
        await h.agent.tick()
        let errors = h.journal.events("error")
        #expect(errors.count == 1, "one report per process, not one per pass: \(errors)")
        #expect(errors.first?["PRIORITY"] == ["3"])
        #expect(errors.first?["MESSAGE"]?.first?.contains("/sys/fs/cgroup/fairshare/mid/cgroup.procs") == true)
        #expect(h.kernel.cgroupOf(11) == "/origin", "a process that can not be moved stays where it was")
        h.kernel.clearInjections()
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(11) == "/fairshare/mid", "moved once the kernel lets it")
    }

    @Test func pidReuseIsNotMistakenForTheMovedProcess() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a", in: "/user.slice/user-1000.slice", start: 100)
        await h.agent.tick()
        // The process exits and a new one gets the same pid inside the group (a child).
        h.kernel.kill(10)
        h.spawn(10, "cc1", in: "/fairshare/low", parent: 77, start: 999)
        await h.agent.tick()
        await h.agent.shutdown()
        // Its origin is not the old process's /user.slice/...: it is unknown, so the root's parent.
        #expect(h.kernel.cgroupOf(10) == "/")
    }

    @Test func samplesUsageAsRateAndTargetOverGroupsWithMembers() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(12, "burn_c")
        await h.agent.tick()
        h.kernel.setUsage("/fairshare/low", usageUsec: 0)
        h.kernel.setUsage("/fairshare/high", usageUsec: 0)
        await h.agent.tick()
        h.clock.advance(by: .seconds(2))
        h.kernel.setUsage("/fairshare/low", usageUsec: 500_000)      // 0.25 CPU over 2 s
        h.kernel.setUsage("/fairshare/high", usageUsec: 3_000_000)   // 1.5 CPUs over 2 s
        await h.agent.tick()
        let s = await h.agent.status()
        let low = try #require(s.groups.first { $0.name == "low" })
        let high = try #require(s.groups.first { $0.name == "high" })
        let mid = try #require(s.groups.first { $0.name == "mid" })
        #expect(abs((low.cpuUsageCPUs ?? .nan) - 0.25) < 1e-9)
        #expect(abs((low.cpuUsagePercent ?? .nan) - 12.5) < 1e-9)
        #expect(abs((high.cpuUsagePercent ?? .nan) - 75) < 1e-9)
        // Target over the groups with members: low 1 and high 5 of 6 shares; mid is empty.
        #expect(abs(low.cpuTargetPercent - 100.0 / 6) < 1e-9)
        #expect(abs(high.cpuTargetPercent - 500.0 / 6) < 1e-9)
        #expect(mid.cpuTargetPercent == 0)
        #expect(low.members == 1 && mid.members == 0)
    }

    @Test func oneSummaryPerReportInterval() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        for _ in 0..<25 {
            await h.agent.tick()
            h.clock.advance(by: .seconds(1))
        }
        // 25 ticks of 1 s with report_interval 10 s: summaries at 10 s and 20 s.
        let summaries = h.journal.events("summary")
        #expect(summaries.count == 2)
        #expect(summaries.first?["FAIRSHARE_GROUP"] == ["low", "mid", "high"])
        #expect(summaries.first?["FAIRSHARE_TARGET_PCT"] == ["100.0", "0.0", "0.0"])
        #expect(summaries.first?["MESSAGE_ID"]?.count == 1)
    }
}

@Suite struct AgentReloadTests {
    @Test func changedSharesApplyAndChangedRulesMoveLive() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        h.spawn(11, "burn_b")
        await h.agent.tick()
        h.rewrite("""
            [[group]]
            name = "low"
            shares = 5
            [group.match]
            comm = ["burn_a", "burn_b"]

            [[group]]
            name = "high"
            shares = 1
            [group.match]
            comm = ["burn_c"]
            """)
        let outcome = await h.agent.reload()
        #expect(outcome.applied)
        #expect(h.weight("low") == "500")
        #expect(h.weight("high") == "100")
        #expect(h.kernel.cgroupOf(11) == "/fairshare/low", "burn_b now matches low: moved live")
        #expect(!h.kernel.exists("/fairshare/mid"), "a group gone from the policy is removed")
        #expect(h.journal.events("group_removed").first?["FAIRSHARE_GROUP"] == ["mid"])
        #expect(h.notifier.all.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") })
        #expect(h.notifier.all.last?.hasPrefix("READY=1") == true)
    }

    @Test func removedGroupGivesItsProcessesBackToWhereTheyCameFrom() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a", in: "/user.slice/user-1000.slice")
        h.spawn(11, "burn_b")
        await h.agent.tick()
        h.rewrite("""
            [[group]]
            name = "mid"
            shares = 2
            [group.match]
            comm = ["burn_b"]
            """)
        await h.agent.reload()
        #expect(h.kernel.cgroupOf(10) == "/user.slice/user-1000.slice")
        #expect(h.kernel.cgroupOf(11) == "/fairshare/mid")
        #expect(!h.kernel.exists("/fairshare/low") && !h.kernel.exists("/fairshare/high"))
        #expect(h.kernel.process(10) != nil, "nothing is killed")
    }

    @Test(arguments: [
        ("shares = 0", "shares"),
        ("this is not toml", "policy.toml:1:"),
        ("[[group]]\nname = \"low\"\nshares = 1\n[[group]]\nname = \"low\"\nshares = 2", "low"),
    ])
    func invalidPolicyIsRejectedAndTheOldOneStays(broken: String, mention: String) async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        await h.agent.tick()
        let before = h.kernel.writes.count
        h.rewrite(broken.hasPrefix("shares") ? "[[group]]\nname = \"low\"\n\(broken)\n" : broken)
        let outcome = await h.agent.reload()
        #expect(!outcome.applied)
        #expect(outcome.error?.contains("/etc/fairshare/policy.toml:") == true, "the error names file:line:column: \(outcome.error ?? "")")
        #expect(outcome.error?.contains(mention) == true)
        #expect(h.kernel.writes.count == before, "nothing was written")
        #expect(h.weight("low") == "100")
        #expect(await h.agent.policy.groups.count == 3)
        let rejected = h.journal.events("policy_rejected")
        #expect(rejected.count == 1)
        #expect(rejected.first?["PRIORITY"] == ["3"])
        let status = await h.agent.status()
        #expect(status.policy.lastReload?.applied == false)
        // The agent goes on enforcing the old policy.
        h.spawn(11, "burn_c")
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(11) == "/fairshare/high")
    }

    @Test func unreadablePolicyFileIsRejected() async throws {
        let h = try Harness(policy: threeGroups)
        let env = h.agent.env
        var broken = env
        broken.readFile = { path in throw FileReadError(path: path, errno: ENOENT) }
        let agent = Agent(policy: await h.agent.policy, policyPath: "/etc/fairshare/policy.toml", env: broken, logger: h.journal.logger())
        let outcome = await agent.reload()
        #expect(!outcome.applied)
        #expect(outcome.error?.contains("cannot read /etc/fairshare/policy.toml") == true)
    }

    /// The agent's real reader on reload: a policy someone else could write is refused, with the
    /// fix, and the policy in force stays; once fixed, the same file is applied.
    @Test func aReloadOfAGroupWritablePolicyIsRefusedAndTheOldOneKept() async throws {
        let h = try Harness(policy: threeGroups)
        var template = Array("/tmp/fairshare-reload-XXXXXX".utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        let path = directory + "/policy.toml"
        defer { unlink(path); rmdir(directory) }
        let text = threeGroups.replacing("shares = 5", with: "shares = 7")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(chmod(path, 0o664) == 0)
        var trusted = h.agent.env
        trusted.readFile = { try readTrustedPolicy(path: $0) }
        let agent = Agent(policy: await h.agent.policy, policyPath: path, env: trusted, logger: h.journal.logger())

        let refused = await agent.reload()
        #expect(!refused.applied)
        #expect(refused.error?.contains("chmod go-w \(path)") == true, "\(refused.error ?? "")")
        #expect(await agent.policy.groups.map(\.shares.value) == (await h.agent.policy).groups.map(\.shares.value))

        #expect(chmod(path, 0o644) == 0)
        let applied = await agent.reload()
        #expect(applied.applied, "\(applied.error ?? "")")
        #expect(await agent.policy.groups.contains { $0.shares.value == 7 })
    }
}

@Suite struct AgentShutdownTests {
    @Test func everyProcessGoesBackAliveAndGroupsAreRemoved() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a", in: "/user.slice/user-1000.slice")
        h.spawn(11, "burn_b")
        h.spawn(12, "burn_c")
        await h.agent.tick()
        // A child born inside a group after the move goes back with its parent's origin.
        h.spawn(30, "sh", in: "/fairshare/low", parent: 10)
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(30) == "/fairshare/low", "an unmatched child stays in its parent's group")
        await h.agent.shutdown()
        #expect(h.kernel.cgroupOf(10) == "/user.slice/user-1000.slice")
        #expect(h.kernel.cgroupOf(30) == "/user.slice/user-1000.slice")
        #expect(h.kernel.cgroupOf(11) == "/origin")
        #expect(h.kernel.cgroupOf(12) == "/origin")
        for g in ["low", "mid", "high"] { #expect(!h.kernel.exists("/fairshare/\(g)")) }
        #expect(h.notifier.all.contains("STOPPING=1"))
        #expect(h.journal.events("stopping").count == 1)
    }

    @Test func originGoneFallsBackToTheNearestAncestor() async throws {
        let h = try Harness(policy: threeGroups)
        h.kernel.makeCgroup("/user.slice/user-1000.slice/session-3.scope")
        h.spawn(10, "burn_a", in: "/user.slice/user-1000.slice/session-3.scope")
        await h.agent.tick()
        // The session ends while its process sits in our group: its scope is removed.
        try h.kernel.filesystem.remove(CgroupPath("/user.slice/user-1000.slice/session-3.scope")!)
        await h.agent.shutdown()
        #expect(h.kernel.cgroupOf(10) == "/user.slice/user-1000.slice")
    }

    @Test func aProcessThatCanNotGoBackStaysAndIsNamed() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        await h.agent.tick()
        h.kernel.inject(errno: EACCES, file: .procs)
        await h.agent.shutdown()
        #expect(h.kernel.cgroupOf(10) == "/fairshare/low", "never lost: it stays in its group")
        #expect(h.kernel.exists("/fairshare/low"))
        #expect(h.journal.events("error").contains { $0["FAIRSHARE_PID"] == ["10"] })
        #expect(h.journal.events("stopping").first?["MESSAGE"]?.first?.contains("low") == true)
    }

    @Test func triggersDriveTheAgentAndShutdownEndsIt() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        let (stream, input) = AsyncStream<Trigger>.makeStream()
        input.yield(.tick)
        input.yield(.reload)
        input.yield(.shutdown)
        await h.agent.run(triggers: stream)
        // READY=1 only once the first enforcement pass is done (which already sent a STATUS=).
        let ready = try #require(h.notifier.all.firstIndex { $0.hasPrefix("READY=1") })
        #expect(h.notifier.all[..<ready].contains { $0.hasPrefix("STATUS=") })
        #expect(h.notifier.all.contains("STOPPING=1"))
        #expect(h.kernel.cgroupOf(10) == "/origin")
        #expect(h.journal.events("started").count == 1)
        #expect(h.journal.events("policy_loaded").count == 2)
        let withoutID = h.journal.all.filter { !$0.contains { $0.0 == "MESSAGE_ID" } }
        #expect(withoutID.isEmpty, "every entry carries a MESSAGE_ID: \(withoutID)")
    }

    @Test func watchdogPingsTravelTheAgentsQueueAndReloadsAreCounted() async throws {
        let h = try Harness(policy: threeGroups)
        #expect(await h.agent.status().policy.reloads == 0)
        let (stream, input) = AsyncStream<Trigger>.makeStream()
        input.yield(.watchdog)
        input.yield(.reload)
        h.rewrite("not toml [")
        input.yield(.reload)
        input.yield(.watchdog)
        input.finish()
        await h.agent.run(triggers: stream)
        #expect(h.notifier.all.filter { $0 == "WATCHDOG=1" }.count == 2)
        let status = await h.agent.status()
        // `fairshare reload --pid` waits for this count to grow, then reads last_reload.
        #expect(status.policy.reloads == 2)
        #expect(status.policy.lastReload?.applied == false)
    }
}

@Suite struct ExplainTests {
    @Test func namesTheGroupAndTheKeysThatMatched() async throws {
        let h = try Harness(policy: """
            [[group]]
            name = "interactive"
            shares = 4
            [group.match]
            users = ["alice"]
            comm = ["vim", "bash"]
            """)
        h.spawn(10, "vim", uid: 1001)
        h.spawn(11, "vim", uid: 1002)
        await h.agent.tick()
        let e = try #require(await h.agent.explain(pid: 10))
        #expect(e.group == "interactive")
        #expect(e.matchedKeys == ["users alice ~ uid 1001", "comm vim ~ vim"])
        #expect(e.originCgroup == "/origin")
        let other = try #require(await h.agent.explain(pid: 11))
        #expect(other.group == nil)
        #expect(other.reason?.contains("matches no group") == true)
        #expect(await h.agent.explain(pid: 999) == nil)
    }
}
