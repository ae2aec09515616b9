// `make fuzz` / `make fuzz-long`: the policy front end (bytes -> text -> PolicyParser.parse) on
// seeded inputs, in child processes so that a crash is reported with its seed, number and shape
// (and kept on disk) instead of killing the run. Fails on a crash, on an input that takes over
// 1 s, or on a child whose peak RSS is over 64 MB.
//
//   fairshare-fuzz --inputs N --seed S [--shape NAME] [--config DIR] [--crash-dir DIR]
//   fairshare-fuzz --replay FILE        parse one saved input in this process
//   fairshare-fuzz --reloads N          RSS across N agent reloads, good, bad and pathological
//   fairshare-fuzz ... --crash-at N     self-test: input N raises SIGSEGV in its child; the
//                                       run must report it, keep the input and exit 1
import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The issue's bounds for any input up to 1 MB.
let timeLimitMilliseconds = 1000.0
let peakRSSLimitMB = 64.0
/// A child that spends this long on one input is stopped (SIGALRM) and reported as hung.
let hangSeconds: UInt32 = 20
let batchSize = 500

func fail(_ message: String) -> Never {
    printError("fairshare-fuzz: \(message)")
    exit(2)
}

/// One line to the parent, unbuffered: if the next input crashes the child, this line is out.
func emit(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// `x ?? orFail("...")`: the option's value or a usage error.
func orFail<T>(_ value: T?, _ message: String) -> T {
    guard let value else { fail(message) }
    return value
}

func milliseconds(since start: UInt64) -> Double { Double(monotonicNanoseconds() - start) / 1e6 }

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The process's high-water mark of resident memory, in MB. ru_maxrss only ever grows, so it
/// is read after the work it is meant to bound.
func peakRSSMB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Resident memory now (not the peak), in MB: the second field of /proc/self/statm, in pages.
func currentRSSMB() -> Double {
    guard let statm = readBytes("/proc/self/statm") else { return 0 }
    let fields = String(decoding: statm, as: UTF8.self).split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
    return Double(pages * Int(sysconf(Int32(_SC_PAGESIZE)))) / 1_048_576
}

func readBytes(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        out += buf[0..<n]
        if n < buf.count { break }
    }
    return out
}

func writeBytes(_ bytes: [UInt8], to path: String) -> Bool {
    guard let f = fopen(path, "wb") else { return false }
    defer { fclose(f) }
    return fwrite(bytes, 1, bytes.count, f) == bytes.count
}

/// The front end exactly as the agent runs it on a file's bytes.
@discardableResult
func parse(_ bytes: [UInt8]) -> Bool {
    do throws(PolicyError) {
        let text = try PolicyParser.text(of: bytes, file: "fuzz.toml")
        _ = try PolicyParser.parse(text, file: "fuzz.toml")
        return true
    } catch {
        precondition(!error.problems.isEmpty, "a rejected policy must say why")
        for p in error.problems { precondition(p.location.line >= 1 && p.location.column >= 1, "bad location \(p.location)") }
        return false
    }
}

struct Options {
    var inputs = 20_000
    var seed: UInt64 = 1
    var shape: Shape?
    var configDirectory = "config"
    var crashDirectory = ".build/fuzz-crashes"
    var child: (first: Int, count: Int)?
    var replay: String?
    var reloads: Int?
    var crashAt: Int?

    init(_ args: [String]) {
        var i = 0
        func value() -> String {
            i += 1
            guard i < args.count else { fail("\(args[i - 1]) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--inputs": inputs = orFail(Int(value()), "--inputs takes a number")
            case "--seed": seed = orFail(UInt64(value()), "--seed takes a number")
            case "--shape":
                let name = value()
                shape = orFail(Shape(rawValue: name), "unknown shape \(name); one of \(Shape.allCases.map(\.rawValue).joined(separator: ", "))")
            case "--config": configDirectory = value()
            case "--crash-dir": crashDirectory = value()
            case "--child":
                let first = orFail(Int(value()), "--child FIRST COUNT"), count = orFail(Int(value()), "--child FIRST COUNT")
                child = (first, count)
            case "--replay": replay = value()
            case "--reloads": reloads = orFail(Int(value()), "--reloads takes a number")
            case "--crash-at": crashAt = orFail(Int(value()), "--crash-at takes a number")
            default: fail("unknown argument \(args[i])")
            }
            i += 1
        }
    }

    /// The arguments a child needs to rebuild the same inputs.
    var childArguments: [String] {
        ["--seed", String(seed), "--config", configDirectory] + (shape.map { ["--shape", $0.rawValue] } ?? [])
            + (crashAt.map { ["--crash-at", String($0)] } ?? [])
    }
}

func shippedPolicies(in directory: String) -> [[UInt8]] {
    var paths = [directory + "/policy.toml"]
    if let entries = DirectoryEntries.read(directory + "/examples") {
        paths += entries.map(\.name).filter { $0.hasSuffix(".toml") }.sorted().map { directory + "/examples/" + $0 }
    }
    return paths.compactMap(readBytes)
}

// MARK: Child: run inputs first..<first+count, one line per input on stdout

/// `s N` before input N and `r N SHAPE MICROSECONDS ok|rejected` after it, then
/// `done PEAK_RSS_KB`. A child that dies leaves an `s` line with no `r`: that input crashed it.
func runChild(_ options: Options, first: Int, count: Int) -> Never {
    let generator = Generator(seeds: shippedPolicies(in: options.configDirectory))
    for n in first..<(first + count) {
        let input = generator.input(seed: options.seed, number: n, only: options.shape)
        emit("s \(n)")
        alarm(hangSeconds)
        if n == options.crashAt {
            // A real fault: raise(SIGSEGV) would only reach the Swift backtracer's handler and return.
            UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1
        }
        let start = monotonicNanoseconds()
        let accepted = parse(input.bytes)
        let micros = (monotonicNanoseconds() - start) / 1000
        alarm(0)
        emit("r \(n) \(input.shape.rawValue) \(micros) \(accepted ? "ok" : "rejected")")
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)  // a high-water mark: read after every input of the batch
    emit("done \(usage.ru_maxrss)")
    exit(0)
}

// MARK: Parent: batches in children, crashes rebuilt and kept

struct Failure {
    var number: Int
    var shape: String
    var what: String
    var savedAs: String
}

/// Runs inputs `first..<first+count` in a child; returns the lines it printed and how it ended.
func spawnChild(_ options: Options, first: Int, count: Int) -> (lines: [Substring], status: Int32) {
    var pipeFDs: [Int32] = [0, 0]
    guard pipe(&pipeFDs) == 0 else { fail("pipe: \(String(cString: strerror(errno)))") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
    let args = ["fairshare-fuzz", "--child", String(first), String(count)] + options.childArguments
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/proc/self/exe", &actions, nil, &argv, environ)
    posix_spawn_file_actions_destroy(&actions)
    close(pipeFDs[1])
    guard rc == 0 else { fail("posix_spawn: \(String(cString: strerror(rc)))") }
    var output: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(pipeFDs[0], &buf, buf.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        output += buf[0..<n]
    }
    close(pipeFDs[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (String(decoding: output, as: UTF8.self).split(separator: "\n"), status)
}

func runParent(_ options: Options) -> Never {
    let seeds = shippedPolicies(in: options.configDirectory)
    guard !seeds.isEmpty else { fail("no shipped policies under \(options.configDirectory) (run from the repository, or pass --config)") }
    let generator = Generator(seeds: seeds)
    var made = ""
    for part in options.crashDirectory.split(separator: "/", omittingEmptySubsequences: false) {
        made += (made.isEmpty && !options.crashDirectory.hasPrefix("/") ? "" : "/") + part
        mkdir(made, 0o755)  // mkdir -p: existing ones fail harmlessly
    }
    var failures: [Failure] = []
    var timesByShape: [String: [Double]] = [:]
    var slowest = (ms: 0.0, shape: "-", number: -1)
    var peakKB = 0
    var done = 0
    let started = monotonicNanoseconds()

    func keep(_ n: Int, _ what: String) {
        let input = generator.input(seed: options.seed, number: n, only: options.shape)
        let path = "\(options.crashDirectory)/seed\(options.seed)-input\(n)-\(input.shape.rawValue).toml"
        _ = writeBytes(input.bytes, to: path)
        failures.append(Failure(number: n, shape: input.shape.rawValue, what: what, savedAs: path))
        printError("FAIL input \(n) (seed \(options.seed), shape \(input.shape.rawValue), \(input.bytes.count) bytes): \(what); saved as \(path); replay: fairshare-fuzz --replay \(path)")
    }

    var next = 0
    while next < options.inputs {
        let count = min(batchSize, options.inputs - next)
        let (lines, status) = spawnChild(options, first: next, count: count)
        var lastStarted: Int?
        var finished = false
        for line in lines {
            let f = line.split(separator: " ")
            switch f.first {
            case "s": lastStarted = Int(f[1])
            case "r":
                guard f.count == 5, let n = Int(f[1]), let micros = Double(f[3]) else { continue }
                lastStarted = nil
                done += 1
                let ms = micros / 1000
                timesByShape[String(f[2]), default: []].append(ms)
                if ms > slowest.ms { slowest = (ms, String(f[2]), n) }
                if ms > timeLimitMilliseconds { keep(n, "took \(Int(ms)) ms (limit \(Int(timeLimitMilliseconds)) ms)") }
            case "done":
                finished = true
                peakKB = max(peakKB, Int(f[1]) ?? 0)
            default: continue
            }
        }
        let signalled = status & 0x7F
        if finished && status == 0 {
            next += count
        } else {
            let n = lastStarted ?? next
            let how = signalled != 0 ? (signalled == SIGALRM ? "hung (no answer in \(hangSeconds) s)" : "crashed with signal \(signalled)") : "exited with status \((status >> 8) & 0xFF)"
            keep(n, how)
            done += 1
            next = n + 1  // go on after the crashing input
        }
    }

    let peakMB = Double(peakKB) / 1024
    let elapsed = milliseconds(since: started) / 1000
    func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
    print("shape                  inputs  median ms    max ms")
    for (shape, times) in timesByShape.sorted(by: { $0.key < $1.key }) {
        print(shape.padding(22) + String(times.count).leftPadded(7) + fixed(median(times), 3).leftPadded(11) + fixed(times.max() ?? 0, 1).leftPadded(10))
    }
    let crashes = failures.filter { !$0.what.hasPrefix("took") }.count
    print("inputs \(done), crashes \(crashes), slowest \(fixed(slowest.ms, 1)) ms (\(slowest.shape), input \(slowest.number)), peak RSS \(fixed(peakMB, 1)) MB (seed \(options.seed), \(fixed(elapsed, 1)) s)")
    var ok = failures.isEmpty
    if peakMB > peakRSSLimitMB {
        print("FAIL: a child's peak RSS was \(fixed(peakMB, 1)) MB, over \(Int(peakRSSLimitMB)) MB (rerun with --shape to find which shape)")
        ok = false
    }
    for f in failures { print("FAIL input \(f.number) (\(f.shape)): \(f.what); \(f.savedAs)") }
    exit(ok ? 0 : 1)
}

// MARK: Replay: one saved input, in this process

func runReplay(_ path: String) -> Never {
    guard let bytes = readBytes(path) else { fail("cannot read \(path)") }
    let start = monotonicNanoseconds()
    var outcome = "accepted"
    do throws(PolicyError) {
        let text = try PolicyParser.text(of: bytes, file: path)
        _ = try PolicyParser.parse(text, file: path)
    } catch {
        outcome = "rejected: " + (error.problems.first.map(\.description) ?? "")
    }
    let ms = milliseconds(since: start)
    print("\(path): \(bytes.count) bytes, \(fixed(ms, 2)) ms, peak RSS \(fixed(peakRSSMB(), 1)) MB, \(outcome)")
    exit(0)
}

// MARK: Reloads: does a rejected policy leave memory behind?

struct NullNotifier: ServiceNotifier {
    func notify(_ state: String) {}
}

func runReloads(_ count: Int, configDirectory: String) async -> Never {
    // As the agent runs (fairshare run sets it at start).
    keepLargeAllocationsOffTheHeap()
    guard let good = readBytes(configDirectory + "/policy.toml").map({ String(decoding: $0, as: UTF8.self) }) else {
        fail("no \(configDirectory)/policy.toml")
    }
    let generator = Generator(seeds: [Array(good.utf8)])
    // Every other one invalid, most of those pathological (the issue's shapes at their old worst).
    let texts: [String] = [
        good,
        good + "\n[[group]]\nname = \"broken\"\nshares = 0\n",
        good,
        String(repeating: "a.", count: 10_000) + "a = 1\n",
        good,
        (0..<40_000).map { "[k\($0).x]\n" }.joined(),
        good,
        String(repeating: "[", count: 200_000),
        good,
        "a = " + String(repeating: "[", count: 100) + "1" + String(repeating: "]", count: 100),
        good,
        String(decoding: generator.input(seed: 3, number: 0, only: .mutatedPolicy).bytes, as: UTF8.self),
        good,
        // Just inside every limit, so toml++ parses all of it: 250 KB of arrays, then rejected.
        (0..<120).map { "k\($0) = [" + Array(repeating: "1", count: 1000).joined(separator: ",") + "]\n" }.joined(),
    ]
    let counter = Mutex(0)
    let kernel = FakeKernel()
    let tree = CgroupTree(fs: kernel.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
    _ = try! tree.prepare(agentPID: getpid(), agentCgroup: CgroupPath("/"))
    let env = AgentEnvironment(
        cgroups: tree, processes: kernel.processSource, clock: ManualClock(), notifier: NullNotifier(),
        readFile: { _ in texts[counter.withLock { n in defer { n += 1 }; return n } % texts.count] },
        agentPID: getpid(), capacityCPUs: 4)
    let policy = try! PolicyParser.parse(good, file: "reload.toml")
    let agent = Agent(policy: policy, policyPath: "reload.toml", env: env, logger: Logger(label: "reloads") { _ in SwiftLogNoOpLogHandler() })
    // Warm up: the first few hundred reloads settle glibc's heap (about +4 MB, measured: 200
    // reloads are not enough, 400 are) and allocate what stays for good (caches, the runtime's
    // tables); what grows after that is what reloads keep. The fake kernel keeps every write
    // for tests to read: cleared after each reload, so what grows is the agent's.
    //
    // RSS is the smallest reading after each of the last 50 reloads of the warm-up ("before")
    // and of the run ("after"): what reloads retain is in every reading, the heap's momentary
    // state is not. (Without keepLargeAllocationsOffTheHeap, single readings went from -6.7
    // to +6.3 MB between runs of the same build on a loaded host, and one failed the bound.)
    let window = 50
    var before = Double.infinity
    for i in 0..<500 {
        _ = await agent.reload()
        kernel.clearWrites()
        if i >= 500 - window { before = min(before, currentRSSMB()) }
    }
    var after = Double.infinity
    var applied = 0, rejected = 0
    let start = monotonicNanoseconds()
    for i in 0..<count {
        if await agent.reload().applied { applied += 1 } else { rejected += 1 }
        kernel.clearWrites()
        if i >= count - window { after = min(after, currentRSSMB()) }
    }
    let growth = after - before
    print("reloads \(count) (applied \(applied), rejected \(rejected)), RSS before \(fixed(before, 1)) MB, after \(fixed(after, 1)) MB, growth \(fixed(growth, 1)) MB (limit +5 MB), peak \(fixed(peakRSSMB(), 1)) MB, \(fixed(milliseconds(since: start) / Double(max(count, 1)), 2)) ms per reload")
    exit(growth <= 5 ? 0 : 1)
}

// MARK: Formatting

func fixed(_ x: Double, _ digits: Int) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let v = (x * p).rounded() / p
    var s = String(v)
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    }
    return s
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
    func leftPadded(_ width: Int) -> String { count >= width ? " " + self : String(repeating: " ", count: width - count) + self }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
if let replay = options.replay { runReplay(replay) }
if let reloads = options.reloads { await runReloads(reloads, configDirectory: options.configDirectory) }
if let child = options.child { runChild(options, first: child.first, count: child.count) }
runParent(options)
