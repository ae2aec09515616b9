import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `fairshare-bench metrics [GROUPS] [--out FILE]`: the exposition of a realistic agent (the
/// shipping Agent on the fake kernel: GROUPS groups with processes, growing cpu.stat and
/// cpu.pressure counters, a few passes, process events, a reload). Writes the text to FILE
/// (`make metrics-lint` runs promtool on it) and prints its size and the time to render it.
enum MetricsBench {
    static func run(_ arguments: [String]) -> Int32 {
        var groups = 8
        var out: String?
        var args = arguments[...]
        while let a = args.popFirst() {
            if a == "--out" { out = args.popFirst() } else if let n = Int(a), n > 0 { groups = n } else {
                print("usage: fairshare-bench metrics [GROUPS] [--out FILE]")
                return 2
            }
        }
        let result = SocketBench.blocking { [groups] () async -> (text: String, renderMs: Double, statusMs: Double)? in
            guard let agent = try? await realisticAgent(groups: groups) else { return nil }
            var times: [Double] = []
            var statusTimes: [Double] = []
            var text = ""
            for _ in 0..<50 {
                var t0 = now()
                text = await agent.metricsText()
                times.append(Double(now() - t0) / 1e6)
                t0 = now()
                _ = await agent.status()
                statusTimes.append(Double(now() - t0) / 1e6)
            }
            return (text, median(times), median(statusTimes))
        }
        guard let (text, renderMs, statusMs) = result else {
            print("fairshare-bench metrics: cannot build the agent")
            return 1
        }
        if let out {
            guard let f = fopen(out, "w") else {
                print("fairshare-bench metrics: cannot write \(out): \(String(cString: strerror(errno)))")
                return 1
            }
            fputs(text, f)
            fclose(f)
        }
        let series = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        print("metrics exposition, \(groups) groups: \(text.utf8.count) bytes, \(series) samples; fairshare metrics median \(format3(renderMs)) ms, of which status \(format3(statusMs)) ms")
        return 0
    }

    static func realisticAgent(groups: Int) async throws -> Agent {
        let kernel = FakeKernel()
        let clock = ManualClock()
        kernel.makeCgroup("/origin")
        let tree = CgroupTree(fs: kernel.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        _ = try tree.prepare(agentPID: 4242, agentCgroup: CgroupPath("/origin"))
        var text = "[agent]\ninterval = \"1s\"\nreport_interval = \"10s\"\n"
        for i in 0..<groups {
            text += "\n[[group]]\nname = \"g\(i)\"\nshares = \(i % 5 + 1)\n\(i % 3 == 0 ? "min = 0.1\n" : "")[group.match]\ncomm = [\"w\(i)\"]\n"
        }
        let policy = try PolicyParser.parse(text, file: "/etc/fairshare/policy.toml")
        let env = AgentEnvironment(cgroups: tree, processes: kernel.processSource, clock: clock, notifier: RecordingNotifier(),
                                   readFile: { [text] _ in text }, agentPID: 4242, capacityCPUs: 2, events: FakeProcessEvents())
        let agent = Agent(policy: policy, policyPath: "/etc/fairshare/policy.toml", env: env,
                          logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }, version: "bench")
        for i in 0..<groups {
            for p in 0..<3 {
                kernel.spawn(ProcessInfo(pid: Int32(1000 + i * 10 + p), parentPID: 1, startTime: 100, uid: 0, comm: "w\(i)", argv: ["w\(i)"], cgroup: "/origin"))
            }
        }
        await agent.tick()
        for pass in 1...5 {
            clock.advance(by: .seconds(1))
            for i in 0..<groups {
                let path = "/fairshare/g\(i)"
                kernel.setUsage(path, usageUsec: UInt64(pass * (i + 1) * 150_000), nrThrottled: UInt64(pass * i))
                kernel.setPressure(path, someTotalUsec: UInt64(pass * i * 20_000))
            }
            await agent.tick()
        }
        // An exec that moves a process (a latency), and a reload.
        kernel.spawn(ProcessInfo(pid: 9000, parentPID: 1, startTime: 200, uid: 0, comm: "w0", argv: ["w0"], cgroup: "/origin"))
        clock.advance(by: .milliseconds(2))
        await agent.handleEvents(.events([.fork(parentTGID: 1, childPID: 9000, childTGID: 9000), .exec(pid: 9000, tgid: 9000)], malformed: 0))
        await agent.reload()
        return agent
    }
}
