import FairshareCore
import FairshareEdge
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
// `fairshare-bench socket-user [CONNECTIONS] [SECONDS]`: the same flood on the user socket
// (`status --mine`), root's status beside it and another user's answer on it.
if CommandLine.arguments.dropFirst().first == "socket-user" {
    exit(SocketBench.run(Array(CommandLine.arguments.dropFirst(2)), userSocket: true))
}
// `fairshare-bench users [FEW] [MANY]`: a per_user group's pass with FEW, then MANY users (UsersBench.swift).
if CommandLine.arguments.dropFirst().first == "users" {
    exit(UsersBench.run(Array(CommandLine.arguments.dropFirst(2))))
}
// `fairshare-bench metrics [GROUPS] [--out FILE]`: the metrics exposition (MetricsBench.swift).
if CommandLine.arguments.dropFirst().first == "metrics" {
    exit(MetricsBench.run(Array(CommandLine.arguments.dropFirst(2))))
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
    let label = name.padded(to: 44)
    print("\(label) median \(String(format3(median(times)))) ms  min \(format3(times.min()!)) ms  (\(n) processes)")
}

func format3(_ x: Double) -> String {
    guard x >= 0 else { return "-" + format3(-x) }
    let n = Int((x * 1000).rounded())
    let frac = String(n % 1000)
    return "\(n / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
}

let source = LinuxProcessSource()
/// The processes a scan read (the bench stops where /proc can not be read).
func scanned(_ source: some ProcessSource, _ details: ProcessDetails) -> [ProcessInfo] {
    guard let scan = source.scan(details: details).value else { fatalError("cannot read /proc") }
    return scan.processes
}
print("one agent pass reads /proc: \(scanned(source, []).count) processes on this machine")
measure("scan /proc: stat, status, cgroup") { scanned(source, []).count }
measure("scan /proc: + exe and cmdline") { scanned(source, .all).count }
let policy = Policy(groups: [
    GroupPolicy(name: GroupName("a")!, shares: Shares(1)!, match: MatchRule(comm: ["burn_a"])),
    GroupPolicy(name: GroupName("b")!, shares: Shares(2)!, match: MatchRule(users: [.id(1001)], cmdline: [try! Pattern("--batch")])),
])
let classifier = Classifier(policy: policy, agentPID: getpid(), resolveUser: { _ in nil }, resolveGroup: { _ in nil })
let procs = scanned(source, .all)
measure("classify every process (2 groups)", runs: 200) {
    var matched = 0
    for p in procs { if case .matched = classifier.classify(p) { matched += 1 } }
    return procs.count
}
let enforcer = Enforcer(root: "/fairshare")
measure("plan one pass (Enforcer)", runs: 200) {
    _ = enforcer.plan(policy: policy, classifier: classifier, processes: procs, existingGroups: [GroupName("a")!, GroupName("b")!])
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
measure("incremental scan, nothing changed (stat only)") { scanned(incremental, []).count }
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
print("agent pass (real /proc, in-memory cgroups)".padded(to: 44) + " median \(format3(median(passTimes))) ms  min \(format3(passTimes.min()!)) ms")

// Issue 10: a pass with kernel events on (no /proc walk), ten groups: the per-pass cost that
// does not depend on the number of processes, and what a status report costs beside it.
do {
    var groups = ""
    for i in 0..<10 { groups += "[[group]]\nname = \"g\(i)\"\nshares = \(i + 1)\n[group.match]\ncomm = [\"evp_g\(i)\"]\n\n" }
    let tenGroups = try! PolicyParser.parse(groups, file: "ten.toml")
    let kernel = FakeKernel()
    let tree = CgroupTree(fs: kernel.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
    _ = try! tree.prepare(agentPID: getpid(), agentCgroup: CgroupPath("/"))
    let clock = ManualClock()
    let agent = Agent(
        policy: tenGroups, policyPath: "ten.toml",
        env: AgentEnvironment(cgroups: tree, processes: LinuxProcessSource(), clock: clock, notifier: RecordingNotifier(),
                              readFile: { _ in "" }, agentPID: getpid(), capacityCPUs: 2, events: FakeProcessEvents()),
        logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
    await agent.tick()  // the start rescan
    var times: [Double] = []
    var statusTimes: [Double] = []
    for _ in 0..<50 {
        clock.advance(by: .seconds(2))
        let t0 = now()
        await agent.tick()
        times.append(Double(now() - t0) / 1e6)
        let t1 = now()
        _ = await agent.status()
        statusTimes.append(Double(now() - t1) / 1e6)
    }
    print("agent pass with events, 10 groups (no /proc)".padded(to: 44) + " median \(format3(median(times))) ms  min \(format3(times.min()!)) ms")
    print("  one status report (once per report_interval)".padded(to: 44) + " median \(format3(median(statusTimes))) ms")
}

// Hostile command lines (issue 8): a classification pass over 1000 processes, with and without
// 100 of them carrying 128 KB arguments crafted against the shipped policies' regexes. The
// hostile processes are what the /proc source hands over: the first cmdlineMatchBytes + 1 bytes.
print("")
print("classification with hostile command lines (1000 processes, 100 hostile 128 KB arguments)")
/// What the process source keeps of a command line (the first cmdlineMatchBytes + 1 bytes).
func asRead(_ argv: [String]) -> [String] {
    let bytes = Array(argv.joined(separator: "\u{0}").utf8)
    return ProcFormat.parseCmdline(Array(bytes.prefix(ProcessInfo.cmdlineMatchBytes + 1)))
}
/// A 128 KB argument that makes a backtracking engine work hardest on this pattern.
func hostileArgument(against pattern: String) -> [String] {
    let size = 128 * 1024
    if pattern.contains("train") { return ["python3", String(repeating: "train", count: size / 5)] }
    if pattern.contains("--batch") { return ["job", String(repeating: "--batch-", count: size / 8)] }
    return ["x", String(repeating: "a", count: size)]
}
func ordinaryProcesses(_ n: Int) -> [ProcessInfo] {
    let commands: [[String]] = [["bash"], ["python3", "serve.py", "--port", "8080"], ["make", "-j8"], ["sshd: alice@pts/0"],
                                ["/usr/lib/jvm/java-17/bin/java", "-Xmx2g", "-jar", "app.jar"], ["postgres: writer"]]
    return (0..<n).map { i in
        let argv = commands[i % commands.count]
        return ProcessInfo(pid: Int32(10_000 + i), parentPID: 1, startTime: UInt64(i), uid: UInt32(1000 + i % 7), gid: 100,
                           comm: String(argv[0].split(separator: "/").last!.prefix(15)), exe: "/usr/bin/" + argv[0].split(separator: "/").last!,
                           argv: argv, cgroup: "/user.slice/user-\(1000 + i % 7).slice/session-\(i % 5).scope")
    }
}
var shipped: [(String, Policy)] = []
for file in ["config/policy.toml", "config/examples/build-farm.toml", "config/examples/database-backups.toml", "config/examples/multi-user-server.toml"] {
    guard let f = fopen(file, "r") else { continue }
    var text = ""
    var buf = [CChar](repeating: 0, count: 4096)
    while fgets(&buf, 4096, f) != nil { text += String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    fclose(f)
    if let parsed = try? PolicyParser.parse(text, file: file) { shipped.append((file, parsed)) }
}
// Every shipped cmdline pattern, or the default one when no shipped policy has any.
var patterns = shipped.flatMap { $0.1.groups.flatMap { $0.match.cmdline.map(\.source) } }
if patterns.isEmpty { patterns = ["--batch( |$)"] }
let calm = ordinaryProcesses(1000)
var hostile = calm
for i in 0..<100 {
    hostile[i * 10].argv = asRead(hostileArgument(against: patterns[i % patterns.count]))
}
func medianMs(runs: Int, _ body: () -> Void) -> Double {
    var times: [Double] = []
    for _ in 0..<runs {
        let t0 = now()
        body()
        times.append(Double(now() - t0) / 1e6)
    }
    return median(times)
}
/// Medians and minima of two bodies run alternately, so a neighbour's load on this shared
/// machine weighs on both alike.
func pairedMs(runs: Int, _ a: () -> Void, _ b: () -> Void) -> (median: (Double, Double), min: (Double, Double)) {
    var ta: [Double] = []
    var tb: [Double] = []
    for _ in 0..<runs {
        var t0 = now()
        a()
        ta.append(Double(now() - t0) / 1e6)
        t0 = now()
        b()
        tb.append(Double(now() - t0) / 1e6)
    }
    return ((median(ta), median(tb)), (ta.min()!, tb.min()!))
}
func row(_ label: String, _ m: (median: (Double, Double), min: (Double, Double))) {
    let ratio = m.median.1 / max(m.median.0, 1e-9)
    let minRatio = m.min.1 / max(m.min.0, 1e-9)
    print("  " + label.padded(to: 58)
        + " \(format3(m.median.0)) ms  \(format3(m.median.1)) ms  ratio \(format3(ratio))  (min: \(format3(m.min.0)) / \(format3(m.min.1)) ms, ratio \(format3(minRatio)))")
}
print("  " + "pass (medians)".padded(to: 58) + " without    with       (goal: ratio <= 1.5)")
for (file, shippedPolicy) in shipped {
    let c = Classifier(policy: shippedPolicy, agentPID: getpid(), resolveUser: { _ in 1000 }, resolveGroup: { _ in 100 })
    let e = Enforcer(root: "/fairshare")
    let name = String(file.split(separator: "/").last!)
    // Every process matched against the rules: what a pass costs when all of them are new.
    let cold = pairedMs(
        runs: 51,
        { var cache = ClassificationCache(); _ = e.plan(policy: shippedPolicy, classifier: c, processes: calm, existingGroups: [], cache: &cache) },
        { var cache = ClassificationCache(); _ = e.plan(policy: shippedPolicy, classifier: c, processes: hostile, existingGroups: [], cache: &cache) })
    row("\(name): every process new (all matched)", cold)
    // The agent's steady state: nothing changed since the last pass.
    var warmCalm = ClassificationCache()
    var warmHostile = ClassificationCache()
    _ = e.plan(policy: shippedPolicy, classifier: c, processes: calm, existingGroups: [], cache: &warmCalm)
    _ = e.plan(policy: shippedPolicy, classifier: c, processes: hostile, existingGroups: [], cache: &warmHostile)
    let warm = pairedMs(
        runs: 101,
        { _ = e.plan(policy: shippedPolicy, classifier: c, processes: calm, existingGroups: [], cache: &warmCalm) },
        { _ = e.plan(policy: shippedPolicy, classifier: c, processes: hostile, existingGroups: [], cache: &warmHostile) })
    row("\(name): nothing changed (verdicts cached)", warm)
}
// The engine alone on whole 128 KB lines (no prefix cut): linear, so milliseconds.
for source in patterns {
    let pattern = try! Pattern(source)
    let line = hostileArgument(against: source).joined(separator: " ")
    let ms = medianMs(runs: 5) { for _ in 0..<100 { _ = pattern.matches(line) } }
    print("  RE2 alone: 100 searches of \(source) in a whole 128 KB line: \(format3(ms)) ms")
}

// The metrics exposition (`fairshare metrics`, the textfile): its size and cost per group count.
for groups in [10, 100] { _ = MetricsBench.run(["\(groups)"]) }

extension String {
    /// Left-aligned in a column of `width` characters (cut when longer), for the tables above.
    func padded(to width: Int) -> String {
        count >= width ? String(prefix(width)) : self + String(repeating: " ", count: width - count)
    }
}
