import FairshareCore
import FairshareLinux
import FairshareAgent
import FairshareTestSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

// `fairshare-bench socket [CONNECTIONS] [SECONDS]` (`make bench-socket`): the control socket
// under abuse instead (SocketBench.swift).
if CommandLine.arguments.dropFirst().first == "socket" {
    exit(SocketBench.run(Array(CommandLine.arguments.dropFirst(2))))
}

/// Benchmarks that print figures (`make bench`). Medians of repeated runs; compare ratios
/// within one run, these machines are noisy.
func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func measure(_ name: String, runs: Int = 50, _ body: () -> Int) {
    var times: [Double] = []
    var n = 0
    for _ in 0..<runs {
        let t0 = now()
        n = body()
        times.append(Double(now() - t0) / 1e6)
    }
    let label = name.padding(toLength: 44, withPad: " ", startingAt: 0)
    print("\(label) median \(String(format3(median(times)))) ms  min \(format3(times.min()!)) ms  (\(n) processes)")
}

func format3(_ x: Double) -> String {
    let n = Int((x * 1000).rounded())
    let frac = String(n % 1000)
    return "\(n / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
}

let source = LinuxProcessSource()
print("one agent pass reads /proc: \(source.scan(details: []).count) processes on this machine")
measure("scan /proc: stat, status, cgroup") { source.scan(details: []).count }
measure("scan /proc: + exe and cmdline") { source.scan(details: .all).count }
let policy = Policy(groups: [
    GroupPolicy(name: GroupName("a")!, shares: Shares(1)!, match: MatchRule(comm: ["burn_a"])),
    GroupPolicy(name: GroupName("b")!, shares: Shares(2)!, match: MatchRule(users: [.id(1001)], cmdline: [try! Pattern("--batch")])),
])
let classifier = Classifier(policy: policy, agentPID: getpid(), resolveUser: { _ in nil }, resolveGroup: { _ in nil })
let procs = source.scan(details: .all)
measure("classify every process (2 groups)", runs: 200) {
    var matched = 0
    for p in procs { if case .matched = classifier.classify(p) { matched += 1 } }
    return procs.count
}
let enforcer = Enforcer(root: "/fairshare")
measure("plan one pass (Enforcer)", runs: 200) {
    enforcer.plan(policy: policy, classifier: classifier, processes: procs, existingGroups: [GroupName("a")!, GroupName("b")!]).count
    return procs.count
}

// Where a scan's time goes: the kernel's side of each file, read with plain read(2).
func rawRead(_ path: String) -> Int {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: 4096)
    return read(fd, &buf, 4096)
}
let pids = procs.map(\.pid)
for file in ["stat", "status", "cgroup", "cmdline"] {
    measure("raw read(2) of /proc/PID/\(file)") {
        for p in pids { _ = rawRead("/proc/\(p)/\(file)") }
        return pids.count
    }
}

// The agent's pass on a quiet machine: one read of /proc/PID/stat per known process.
let incremental = IncrementalProcessSource(fullRefreshEvery: 1_000_000)
_ = incremental.scan(details: [])
measure("incremental scan, nothing changed (stat only)") { incremental.scan(details: []).count }
let statTexts = pids.compactMap { p -> String? in
    let fd = open("/proc/\(p)/stat", O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = read(fd, &buf, 4096)
    return String(decoding: buf[0..<max(n, 0)], as: UTF8.self)
}
measure("parse stat text only", runs: 200) {
    for t in statTexts { _ = ProcFormat.parseStat(t) }
    return statTexts.count
}

// A whole agent pass: the real /proc, an in-memory cgroup tree (this host has no cgroup v2).
let kernel = FakeKernel()
let tree = CgroupTree(fs: kernel.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
_ = try! tree.prepare(agentPID: getpid(), agentCgroup: CgroupPath("/"))
let agent = Agent(
    policy: policy, policyPath: "bench.toml",
    env: AgentEnvironment(cgroups: tree, processes: IncrementalProcessSource(), clock: ManualClock(), notifier: RecordingNotifier(),
                          readFile: { _ in "" }, agentPID: getpid(), capacityCPUs: 2),
    logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
await agent.tick()
var passTimes: [Double] = []
for _ in 0..<50 {
    let t0 = now()
    await agent.tick()
    passTimes.append(Double(now() - t0) / 1e6)
}
print("agent pass (real /proc, in-memory cgroups)".padding(toLength: 44, withPad: " ", startingAt: 0) + " median \(format3(median(passTimes))) ms  min \(format3(passTimes.min()!)) ms")
