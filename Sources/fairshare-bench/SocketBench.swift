import CSlowClients
import Dispatch
import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `fairshare-bench socket [CONNECTIONS] [SECONDS]`: the control socket under abuse. A server in
/// this process (the agent's, with its standard bounds) while a forked child, dropped to uid
/// 65534, holds CONNECTIONS slow connections (one byte a second each, reopened when closed);
/// root asks for the status every 100 ms meanwhile. Prints root's round trips (median, max), the
/// server's descriptors and what the abusers were told. Needs root (the child's setuid).
enum SocketBench {
    static let abuserUID: uid_t = 65534
    static let abuserGID: gid_t = 65534

    /// Another user, asking for their own share on the user socket while it is flooded.
    static let otherUID: uid_t = 65533

    /// - Parameter userSocket: flood the user socket (`status --mine`, mode 0666) instead, beside
    ///   a root-only control socket: root's status there and another user's answer on the
    ///   flooded socket are measured.
    static func run(_ arguments: [String], userSocket: Bool = false) -> Int32 {
        let connections = arguments.first.flatMap { Int($0) } ?? 1000
        let seconds = arguments.dropFirst().first.flatMap { Double($0) } ?? 10
        guard getuid() == 0 else {
            print("fairshare-bench socket: needs root (the slow clients run as uid \(abuserUID))")
            return 1
        }
        var template = Array("/tmp/fairshare-bench-sock-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template).map({ String(cString: $0) }) else {
            print("fairshare-bench socket: mkdtemp: \(String(cString: strerror(errno)))")
            return 1
        }
        chmod(dir, 0o711)
        let path = dir + "/fairshare.sock"
        defer { rmdir(dir) }
        let limits = ControlSocketLimits.standard
        let status = sampleStatus()
        // The socket's group is the abusers' own, as if they were members of `fairshare`: the
        // worst case, where they may connect at all.
        guard let server = blocking({
            try? await ControlServer.bind(path: path, limits: limits, accessGroup: userSocket ? nil : abuserGID) { _, _ in
                ControlResponse(ok: true, status: status)
            }
        }) else {
            print("fairshare-bench socket: cannot bind \(path)")
            return 1
        }
        let userPath = ControlClient.userSocketPath(beside: path)
        let userServer: ControlServer? = userSocket ? blocking({
            try? await ControlServer.bind(path: userPath, limits: limits, mode: ControlServer.userSocketMode, accessGroup: nil) { _, peer in
                ControlResponse(ok: true, mine: MineReport.make(status: status, uid: peer.uid, user: nil, processesByGroup: [:],
                                                                displayName: { $0.name }, halfLifeSeconds: nil))
            }
        }) : nil
        if userSocket && userServer == nil {
            print("fairshare-bench socket: cannot bind \(userPath)")
            return 1
        }
        let flooded = userSocket ? userPath : path
        let baseline = Descriptors.count()
        let sampler = DescriptorSampler(socketPath: flooded, baseline: baseline)
        sampler.start()

        var statsFD: Int32 = -1
        let cPath = strdup(flooded)!
        var options = slowclients_options(path: cPath, count: Int32(connections), seconds: seconds, interval_ms: 1000, reconnect: 1)
        let child = slowclients_spawn(&options, abuserUID, abuserGID, &statsFD)
        free(cPath)
        guard child > 0 else {
            print("fairshare-bench socket: cannot fork the slow clients: \(String(cString: strerror(errno)))")
            return 1
        }
        // Let the abuse build up, then measure until shortly before it ends.
        usleep(500_000)
        var rounds: [Double] = []
        var otherRounds: [Double] = []
        var failures: [String] = []
        let end = now() + UInt64((seconds - 1) * 1e9)
        while now() < end {
            let t0 = now()
            do {
                let response = try ControlClient.send(ControlRequest(command: .status), to: path, timeoutSeconds: 5)
                if response.status == nil { failures.append(response.error ?? "no status") }
            } catch {
                failures.append("\(error)")
            }
            rounds.append(Double(now() - t0) / 1e6)
            if userSocket {
                // A forked child as another uid: its round trip includes the fork.
                let t1 = now()
                let answer = SlowClientExchange.exchange(userPath, "{\"command\":\"mine\"}\n", uid: otherUID, gid: otherUID)
                otherRounds.append(Double(now() - t1) / 1e6)
                if !answer.contains("\"uid\":\(otherUID)") { failures.append("uid \(otherUID) on the user socket: \(answer.prefix(120))") }
            }
            usleep(100_000)
        }
        var stats = slowclients_stats()
        let childOK = slowclients_wait(child, statsFD, &stats) == 0
        sampler.stop()
        _ = blocking { await server.close(); return true }
        if let userServer { _ = blocking { await userServer.close(); return true } }

        let (peak, serverPeak) = sampler.peaks
        print("\(userSocket ? "user socket (status --mine)" : "control socket") under abuse: \(connections) slow connections (1 byte/s each, reopened when closed) from uid \(abuserUID) for \(format1(seconds)) s")
        print("  root's status\(userSocket ? " on the control socket beside it" : ""): \(rounds.count) round trips, median \(format3(median(rounds))) ms, max \(format3(rounds.max() ?? 0)) ms, "
              + "\(failures.isEmpty ? "all answered" : "\(failures.count) failed: \(failures.first!)") (goal: every one within 1000 ms)")
        if userSocket {
            print("  uid \(otherUID)'s status --mine on the flooded socket (a forked client each time): \(otherRounds.count) answers, median \(format3(median(otherRounds))) ms, max \(format3(otherRounds.max() ?? 0)) ms")
        }
        print("  server descriptors (its listener and accepted connections): peak \(serverPeak), bound 1 + \(limits.totalConnections); "
              + "the whole process: baseline \(baseline), peak \(peak) (+\(peak - baseline), with root's client socket and the abusers' stats pipe)")
        print("  the abusers\(childOK ? "" : " (child failed)"): \(stats.connects) connections made, \(stats.connect_failures) connects refused by a full listen queue, "
              + "\(stats.limit_answers) told \"too many connections\", \(stats.timeout_answers) cut off at the \(limits.readDeadline.components.seconds) s read deadline, "
              + "\(stats.max_open) open at once at most")
        return failures.isEmpty && (rounds.max() ?? 0) <= 1000 && serverPeak <= 1 + limits.totalConnections ? 0 : 1
    }

    static func sampleStatus() -> StatusReport {
        StatusReport(
            agent: AgentStatus(pid: getpid(), startedAt: 1, uptimeSeconds: 2, cgroupRoot: "/sys/fs/cgroup/fairshare",
                               intervalSeconds: 2, cpus: 2, ticks: 3),
            policy: PolicyStatus(path: "/etc/fairshare/policy.toml", loadedAt: 1, lastReload: nil), groups: [])
    }

    /// Runs async work from this synchronous bench and waits for it (the server's own threads
    /// and the cooperative pool do the work; this thread only waits).
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T?) -> T? {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value
    }

    static func format1(_ x: Double) -> String {
        let n = Int((x * 10).rounded())
        return "\(n / 10).\(n % 10)"
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    // Written by one task before the semaphore is signalled, read after the wait.
    var value: T?
}

/// Counts this process's descriptors, all and the server's, every 5 ms on a thread of its own
/// and keeps the peaks.
private final class DescriptorSampler: Sendable {
    private let socketPath: String
    private let state: Mutex<(running: Bool, peak: Int, serverPeak: Int)>
    private let thread = Mutex<pthread_t?>(nil)

    init(socketPath: String, baseline: Int) {
        self.socketPath = socketPath
        state = Mutex((true, baseline, 0))
    }

    var peaks: (all: Int, server: Int) { state.withLock { ($0.peak, $0.serverPeak) } }

    func start() {
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let sampler = Unmanaged<DescriptorSampler>.fromOpaque(arg!).takeRetainedValue()
            while sampler.state.withLock({ $0.running }) {
                let (all, server) = (Descriptors.count(), Descriptors.serverSide(of: sampler.socketPath))
                sampler.state.withLock {
                    $0.peak = max($0.peak, all)
                    $0.serverPeak = max($0.serverPeak, server)
                }
                usleep(5_000)
            }
            return nil
        }, Unmanaged.passRetained(self).toOpaque())
        thread.withLock { $0 = t }
    }

    func stop() {
        state.withLock { $0.running = false }
        if let t = thread.withLock({ $0 }) { pthread_join(t, nil) }
    }
}
