import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `fairshare-bench users [FEW] [MANY]` (`make bench-users`): the agent's steady pass with one
/// per_user group holding FEW users, then MANY, one idle process each (issue 20: the agent's
/// CPU with 200 users within 1.5 x its CPU with 20). The shipping Agent on the in-memory kernel
/// with kernel events on: what the pass costs the agent's own code, per user. The kernel's
/// side of the cgroup reads is measured in the VM (`make vm-tree`, the many phase).
enum UsersBench {
    static let policyText = """
        [agent]
        interval = "1s"

        [[group]]
        name = "many"
        shares = 1
        per_user = true
        [group.match]
        comm = ["hold_u"]
        """

    static func run(_ arguments: [String]) -> Int32 {
        let counts = arguments.compactMap { Int($0) }.filter { $0 > 0 }
        let withStatus = !arguments.contains("--no-status")
        let few = counts.first ?? 20
        let many = counts.dropFirst().first ?? 200
        let result = SocketBench.blocking { () async -> (Figures, Figures)? in
            guard let a = try? await passTimes(users: few, withStatus: withStatus),
                  let b = try? await passTimes(users: many, withStatus: withStatus) else { return nil }
            return (a, b)
        }
        guard let (a, b) = result else {
            print("users bench: the policy did not parse")
            return 1
        }
        print("agent pass, one per_user group, idle users (medians of 60 passes, in-memory kernel, events on)")
        for (n, f) in [(few, a), (many, b)] {
            print("  " + "\(n) users".padded(to: 12) + " pass \(format3(f.pass)) ms   status \(format3(f.status)) ms   "
                + "users' cpu.stat read per pass \(format3(f.userReadsPerPass))   a command's exec+exit events \(format3(f.events)) ms")
        }
        print("  per user and pass \(format3((b.pass - a.pass) / Double(max(many - few, 1)) * 1000)) us; pass ratio \(format3(b.pass / max(a.pass, 1e-9))) "
            + "(\(many) users to \(few); the goal, 1.5, is for the agent's CPU in the VM, where a pass costs more besides its users)")
        return 0
    }

    /// Median pass and status times with `users` users, one idle process each, after the first
    /// passes placed them.
    struct Figures {
        var pass: Double
        var status: Double
        var userReadsPerPass: Double
        /// An unrelated command's exec and exit events handled.
        var events: Double
    }

    static func passTimes(users: Int, withStatus: Bool = true) async throws -> Figures {
        let kernel = FakeKernel()
        kernel.makeCgroup("/origin")
        let tree = CgroupTree(fs: kernel.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        _ = try tree.prepare(agentPID: 4242, agentCgroup: CgroupPath("/origin"))
        let policy = try PolicyParser.parse(policyText, file: "users.toml")
        let clock = ManualClock()
        let agent = Agent(
            policy: policy, policyPath: "users.toml",
            env: AgentEnvironment(cgroups: tree, processes: kernel.processSource, clock: clock, notifier: RecordingNotifier(),
                                  readFile: { _ in policyText }, agentPID: 4242, capacityCPUs: 2, events: FakeProcessEvents()),
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        for i in 0..<users {
            kernel.spawn(ProcessInfo(pid: Int32(10_000 + i), parentPID: 1, startTime: 100, uid: UInt32(2000 + i), comm: "hold_u",
                                     argv: ["hold_u"], cgroup: "/origin"))
        }
        for _ in 0..<3 {
            clock.advance(by: .seconds(1))
            await agent.tick()
        }
        let userPaths = (0..<users).map { "/fairshare/many/user-\(2000 + $0)" }
        let readsBefore = userPaths.reduce(0) { $0 + kernel.cpuStatReads(of: $1) }
        var times: [Double] = []
        var statusTimes: [Double] = []
        var eventTimes: [Double] = []
        for k in 0..<60 {
            clock.advance(by: .seconds(1))
            let t0 = now()
            await agent.tick()
            times.append(Double(now() - t0) / 1e6)
            // A command a user's shell runs: exec and exit, a batch of events each (the agent
            // classifies it and leaves it where it is).
            let pid = Int32(50_000 + k)
            kernel.spawn(ProcessInfo(pid: pid, parentPID: 1, startTime: 200, uid: 1000, comm: "sleep", argv: ["sleep"], cgroup: "/origin"))
            let t2 = now()
            await agent.handleEvents(.events([.exec(pid: pid, tgid: pid)], malformed: 0))
            kernel.kill(pid)
            await agent.handleEvents(.events([.exit(pid: pid, tgid: pid)], malformed: 0))
            eventTimes.append(Double(now() - t2) / 1e6)
            if withStatus {
                let t1 = now()
                _ = await agent.status()
                statusTimes.append(Double(now() - t1) / 1e6)
            }
        }
        let reads = userPaths.reduce(0) { $0 + kernel.cpuStatReads(of: $1) } - readsBefore
        return Figures(pass: median(times), status: statusTimes.isEmpty ? 0 : median(statusTimes), userReadsPerPass: Double(reads) / 60,
                       events: median(eventTimes))
    }
}
