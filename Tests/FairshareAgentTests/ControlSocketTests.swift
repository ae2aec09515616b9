import CSlowClients
import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking client I/O on a thread of its own: the server's handler needs the cooperative
/// pool, which blocking test threads would otherwise starve (2 CPUs, 2 pool threads); and
/// Dispatch's global queue on Linux runs only about as many blocked items at once as there are
/// CPUs, so a client blocked there can wait seconds for a server blocked beside it.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { cont in
        Thread.detachNewThread { cont.resume(with: Result { try body() }) }
    }
}

private func ask(_ request: ControlRequest, _ path: String, timeoutSeconds: Int = 30) async throws -> ControlResponse {
    try await offPool { try ControlClient.send(request, to: path, timeoutSeconds: timeoutSeconds) }
}

/// A fresh socket path in its own directory, which other users may traverse (0711, as the
/// runtime directory) so that a client dropped to uid 65534 can reach the socket.
private func controlSocketPath() -> String {
    var template = Array("/tmp/fairshare-sock-XXXXXX".utf8CString)
    let dir = String(cString: mkdtemp(&template)!)
    chmod(dir, 0o711)
    return dir + "/fairshare.sock"
}

/// The non-root users the abuse runs as; the socket's group is `nobodyGroup`, so they may connect.
private let nobody: uid_t = 65534
private let otherNobody: uid_t = 65533
private let nobodyGroup: gid_t = 65534

private func sampleStatus() -> StatusReport {
    StatusReport(
        agent: AgentStatus(pid: 7, startedAt: 1, uptimeSeconds: 2, cgroupRoot: "/sys/fs/cgroup/x", intervalSeconds: 2, cpus: 2, ticks: 3),
        policy: PolicyStatus(path: "/etc/fairshare/policy.toml", loadedAt: 1, lastReload: nil), groups: [])
}

/// Binds a server, runs it as a service (`run()` in a task) while `body` runs, then cancels it.
private func withControlServer(path: String = controlSocketPath(), limits: ControlSocketLimits = .standard,
                       handler: @escaping ControlServer.Handler = { _, _ in ControlResponse(ok: true, status: sampleStatus()) },
                       _ body: (ControlServer) async throws -> Void) async throws {
    let server = try await ControlServer.bind(path: path, limits: limits, accessGroup: nobodyGroup, handler: handler)
    let running = Task { try await server.run() }
    defer { running.cancel() }
    try await body(server)
    running.cancel()
    _ = await running.result
}

/// CSlowClients' loop in a forked child that has dropped to another uid.
private struct SlowClients {
    let pid: pid_t
    let statsFD: Int32

    static func spawn(_ path: String, count: Int, seconds: Double, intervalMS: Int, reconnect: Bool,
                      uid: uid_t = nobody, gid: gid_t = nobodyGroup) throws -> SlowClients {
        let cPath = strdup(path)!
        defer { free(cPath) }
        var options = slowclients_options(path: cPath, count: Int32(count), seconds: seconds, interval_ms: Int32(intervalMS),
                                          reconnect: reconnect ? 1 : 0)
        var fd: Int32 = -1
        let pid = slowclients_spawn(&options, uid, gid, &fd)
        guard pid > 0 else { throw ControlSocketError(path: path, message: "cannot fork slow clients: \(String(cString: strerror(errno)))") }
        return SlowClients(pid: pid, statsFD: fd)
    }

    /// Waits for the child to finish its run.
    func finish() async throws -> slowclients_stats {
        let (pid, fd) = (pid, statsFD)
        return try await offPool {
            var stats = slowclients_stats()
            guard slowclients_wait(pid, fd, &stats) == 0 else { throw ControlSocketError(path: "", message: "slow clients failed") }
            return stats
        }
    }
}

private extension slowclients_stats {
    var firstAnswer: String {
        withUnsafeBytes(of: first_answer) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}

/// A value shared between tasks, behind an NSLock (a pthread mutex, which ThreadSanitizer sees;
/// Synchronization's Mutex is a futex it does not).
final class Shared<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ initial: T) { value = initial }
    func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
    func update(_ body: (inout T) -> Void) { lock.withLock { body(&value) } }
}

private func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Polls `condition` every 20 ms for up to `seconds`.
private func eventually(within seconds: Double, _ condition: () -> Bool) async -> Bool {
    let end = monotonicSeconds() + seconds
    while monotonicSeconds() < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A raw client connection (blocking), for what `ControlClient` would never do.
private final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init?(_ path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let b = Array(path.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 { return nil }
    }

    deinit { Glibc.close(fd) }

    @discardableResult
    func send(_ text: String) -> Bool {
        text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } >= 0
    }

    /// Everything until the server closes (or `seconds` pass), and when that was.
    func readToEnd(within seconds: Double = 10) -> (text: String, closedAt: Double?) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        let end = monotonicSeconds() + seconds
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = Int32((end - monotonicSeconds()) * 1000)
            if left <= 0 || poll(&pfd, 1, left) <= 0 { return (String(decoding: out, as: UTF8.self), nil) }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return (String(decoding: out, as: UTF8.self), monotonicSeconds()) }
            out += buf[0..<n]
        }
    }
}

/// The control socket for real (a unix socket in a temp dir), with a recording handler.
@Suite struct ControlSocketTests {
    @Test func requestAndResponseRoundTrip() async throws {
        let path = controlSocketPath()
        let handler: ControlServer.Handler = { request, _ in
            switch request.command {
            case .status: ControlResponse(ok: true, status: sampleStatus())
            case .explain: .failure("no process with PID \(request.pid ?? 0)")
            case .reload: ControlResponse(ok: false, error: "rejected", reload: ReloadOutcome(applied: false, at: 1, error: "rejected"))
            case .plan: .failure("plan of \(request.policyPath ?? "-"): \(request.policyText?.utf8.count ?? 0) bytes")
            case .metrics: ControlResponse(ok: true, metrics: "# TYPE fairshare_passes_total counter\nfairshare_passes_total 3\n")
            case .mine: .failure("mine is the user socket's")
            }
        }
        try await withControlServer(path: path, handler: handler) { _ throws in
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o660, "socket mode 0660")
            #expect(st.st_uid == 0 && st.st_gid == nobodyGroup, "socket owned by root and the access group")
            #expect(try await ask(ControlRequest(command: .status), path).status == sampleStatus())
            #expect(try await ask(ControlRequest(command: .explain, pid: 42), path).error == "no process with PID 42")
            #expect(try await ask(ControlRequest(command: .reload), path).reload?.applied == false)
            #expect(try await ask(ControlRequest(command: .metrics), path).metrics == "# TYPE fairshare_passes_total counter\nfairshare_passes_total 3\n")
        }
    }

    @Test func metricsComeFromTheAgentThroughTheSocket() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(10, "burn_a")
        await h.agent.tick()
        try await withControlServer(handler: { request, peer in await AgentServices.handle(request, peer: peer, agent: h.agent) }) { server throws in
            let response = try await ask(ControlRequest(command: .metrics), server.path)
            #expect(response.ok)
            let text = try #require(response.metrics)
            #expect(text.contains("fairshare_group_members{group=\"low\"} 1.0\n"))
            #expect(text.contains("# TYPE fairshare_passes_total counter\n"))
            #expect(text == (await h.agent.metricsText()))
        }
    }

    @Test func theHandlerSeesThePeersCredentials() async throws {
        let seen = Shared<PeerCredentials?>(nil)
        try await withControlServer(handler: { _, peer in
            seen.set(peer)
            return ControlResponse(ok: true)
        }) { server throws in
            #expect(try await ask(ControlRequest(command: .status), server.path).ok)
        }
        #expect(seen.get() == PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid()))
    }

    @Test func garbageAndOversizedRequestsGetAClearErrorAndTheServerLivesOn() async throws {
        // The test runs as root, whose lines may be longer (`plan`): the same bound for all here.
        try await withControlServer(limits: ControlSocketLimits(maxRootRequestBytes: 4096)) { server throws in
            let path = server.path
            let garbage = try await offPool { Self.rawExchange(path, "hello\n") }
            #expect(garbage.contains("malformed request"))
            let unknown = try await offPool { Self.rawExchange(path, "{\"command\":\"format-disk\"}\n") }
            #expect(unknown.contains("malformed request"))
            let huge = try await offPool { Self.rawExchange(path, String(repeating: "x", count: 10_000)) }
            #expect(huge.contains("request longer than 4096 bytes"))
            let exactlyAtTheLimit = try await offPool {
                Self.rawExchange(path, "{\"command\":\"status\"}" + String(repeating: " ", count: 4096 - 20) + "\n")
            }
            #expect(exactlyAtTheLimit.contains("\"ok\":true"), "a 4096-byte line is a request")
            #expect(try await ask(ControlRequest(command: .status), path).ok)
        }
    }

    @Test func aRequestWithoutNewlineEndedByShutdownIsServedAndSilenceIsAnEmptyRequest() async throws {
        try await withControlServer { server throws in
            let path = server.path
            let halfClosed = try await offPool { () -> String in
                guard let c = RawConnection(path) else { return "connect failed" }
                c.send("{\"command\":\"status\"}")
                shutdown(c.fd, Int32(SHUT_WR))
                return c.readToEnd().text
            }
            #expect(halfClosed.contains("\"ok\":true"))
            let silent = try await offPool { () -> String in
                guard let c = RawConnection(path) else { return "connect failed" }
                shutdown(c.fd, Int32(SHUT_WR))
                return c.readToEnd().text
            }
            #expect(silent.contains("empty request"))
        }
    }

    @Test func clientSaysWhenNoAgentListens() {
        let path = controlSocketPath()
        #expect {
            try ControlClient.send(ControlRequest(command: .status), to: path)
        } throws: { "\($0)".contains("the fairshare agent is not running") && "\($0)".contains(path) }
    }

    @Test func clientSaysWhenASocketFileHasNoListener() throws {
        let path = controlSocketPath()
        // What a killed agent leaves: the socket file, bound once, with nobody listening.
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        close(s)
        #expect {
            try ControlClient.send(ControlRequest(command: .status), to: path)
        } throws: { error in
            let e = error as? ControlSocketError
            return e?.kind == .notRunning && "\(error)".contains("nothing listens on this socket") && "\(error)".contains(path)
        }
    }

    @Test func aSecondAgentDoesNotStealTheSocket() async throws {
        try await withControlServer { first throws in
            await #expect { try await ControlServer.bind(path: first.path) { _, _ in ControlResponse(ok: true) } } throws: {
                "\($0)".contains("another fairshare agent is already listening")
            }
            #expect(try await ask(ControlRequest(command: .status), first.path).ok)
        }
    }

    @Test func aStaleSocketFileIsReplaced() async throws {
        let path = controlSocketPath()
        let old = try await ControlServer.bind(path: path) { _, _ in ControlResponse(ok: false) }
        await old.close()
        // A crashed agent leaves the file behind; nothing listens on it.
        #expect(creat(path, 0o600) >= 0)
        try await withControlServer(path: path, handler: { _, _ in ControlResponse(ok: true) }) { _ throws in
            #expect(try await ask(ControlRequest(command: .status), path).ok)
        }
    }

    @Test func aMissingDirectoryIsMadeTraversableButNotListable() async throws {
        let path = controlSocketPath().replacingOccurrences(of: "/fairshare.sock", with: "/run/fairshare.sock")
        try await withControlServer(path: path) { _ throws in
            var st = stat()
            let directory = String(path.dropLast("/fairshare.sock".count))
            #expect(stat(directory, &st) == 0 && st.st_mode & 0o777 == 0o711)
        }
    }

    /// The socket is a service: on graceful shutdown it stops listening and its file is gone.
    @Test func gracefulShutdownClosesTheListenerAndRemovesTheFile() async throws {
        let path = controlSocketPath()
        let server = try await ControlServer.bind(path: path) { _, _ in ControlResponse(ok: true) }
        let group = ServiceGroup(services: [server], logger: .init(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(try await ask(ControlRequest(command: .status), path).ok)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(access(path, F_OK) != 0, "socket file removed")
        #expect(!ControlClient.isListening(path))
    }

    /// Sends raw bytes and returns the raw answer.
    static func rawExchange(_ path: String, _ text: String) -> String {
        guard let c = RawConnection(path) else { return "connect failed" }
        c.send(text)
        return c.readToEnd().text
    }
}

/// The order of the agent's services: the socket answers until the agent has given everything
/// back and stopped, then closes.
@Suite struct ControlSocketServiceOrderTests {
    /// Stands in for the agent: on graceful shutdown, asks the socket for the status as its
    /// "final report" would be asked for, and records whether it answered.
    fileprivate struct RecordingAgent: Service {
        let socketPath: String
        let answeredDuringShutdown = Shared<Bool?>(nil)

        func run() async throws {
            try? await gracefulShutdown()
            let answered = (try? await ask(ControlRequest(command: .status), socketPath, timeoutSeconds: 5))?.ok ?? false
            answeredDuringShutdown.set(answered)
        }
    }

    @Test func theSocketOutlivesTheAgentsShutdown() async throws {
        let path = controlSocketPath()
        let server = try await ControlServer.bind(path: path) { _, _ in ControlResponse(ok: true, status: sampleStatus()) }
        let agent = RecordingAgent(socketPath: path)
        let group = ServiceGroup(configuration: .init(
            services: AgentServices.services(agent: agent, controlSocket: server),
            logger: .init(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(try await ask(ControlRequest(command: .status), path).ok)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(agent.answeredDuringShutdown.get() == true, "status answered while the agent was stopping")
        #expect(access(path, F_OK) != 0, "then the socket file was removed")
    }
}

/// The bounds, with real clients of another uid (a forked child that setuid()s to 65534). These
/// fail on the thread-per-connection server: it had no connection bounds and a per-read (not
/// per-request) timeout, and 300 slow clients made root's status wait tens of seconds.
@Suite(.serialized) struct ControlSocketAbuseTests {
    @Test func theNinthConnectionOfOneUserIsRefusedAndRootStillGetsIn() async throws {
        // A long read deadline, so the idle connections hold for the whole test.
        let limits = ControlSocketLimits(readDeadline: .seconds(30))
        try await withControlServer(limits: limits) { server throws in
            // The clients hold 20 s, so a loaded machine (a sanitizer build beside a compile) may
            // start them late: 6 s was once not enough under TSan. The wait ends when all are in.
            let clients = try SlowClients.spawn(server.path, count: 9, seconds: 20, intervalMS: 0, reconnect: false)
            #expect(await eventually(within: 15) { server.openConnections == 8 }, "8 connections of uid 65534 held")
            #expect(try await ask(ControlRequest(command: .status), server.path).ok, "root gets through")
            let stats = try await clients.finish()
            #expect(stats.connects == 9)
            #expect(stats.limit_answers == 1)
            #expect(stats.firstAnswer.contains("too many connections from uid 65534 (limit 8)"), "\(stats.firstAnswer)")
            #expect(await eventually(within: 2) { server.openConnections == 0 }, "slots given back when the clients left")
        }
    }

    @Test func theTotalBoundKeepsSlotsForRoot() async throws {
        // 12 in all, 4 kept for root: two users share 8.
        let limits = ControlSocketLimits(totalConnections: 12, connectionsPerUser: 8, reservedForRoot: 4, readDeadline: .seconds(30))
        try await withControlServer(limits: limits) { server throws in
            let first = try SlowClients.spawn(server.path, count: 6, seconds: 4, intervalMS: 0, reconnect: false, uid: nobody)
            let second = try SlowClients.spawn(server.path, count: 6, seconds: 4, intervalMS: 0, reconnect: false, uid: otherNobody)
            #expect(await eventually(within: 3) { server.openConnections == 8 }, "users other than root hold 8 of 12")
            // Root's 4 reserved slots: 3 idle connections, then a status request in the 4th; then
            // a 4th idle one, and a 5th connection finds no slot at all.
            var idle = try await offPool { (0..<3).compactMap { _ in RawConnection(server.path) } }
            #expect(idle.count == 3)
            #expect(await eventually(within: 2) { server.openConnections == 11 })
            #expect(try await ask(ControlRequest(command: .status), server.path).ok, "root's 4th reserved slot")
            idle += try await offPool { [RawConnection(server.path)].compactMap { $0 } }
            #expect(await eventually(within: 2) { server.openConnections == 12 })
            // Every slot is taken, root's too: a 13th client is not even accepted (the server holds
            // no more descriptors than the total); it waits in the listen queue until a slot frees.
            let waiting = try await offPool { RawConnection(server.path) }
            waiting?.send("{\"command\":\"status\"}\n")
            let early = try await offPool { waiting?.readToEnd(within: 0.5).text ?? "" }
            #expect(early.isEmpty && server.openConnections == 12, "\(early)")
            idle.removeLast()
            let served = try await offPool { waiting?.readToEnd(within: 2).text ?? "" }
            #expect(served.contains("\"ok\":true"), "served once a slot was free: \(served)")
            let (a, b) = (try await first.finish(), try await second.finish())
            #expect(a.connects + b.connects == 12)
            #expect(a.limit_answers + b.limit_answers == 4)
            let refusal = a.limit_answers > 0 ? a.firstAnswer : b.firstAnswer
            #expect(refusal.contains("too many connections to the agent (limit 8 for users other than root; 4 more are kept for root)"), "\(refusal)")
            _ = idle
        }
    }

    @Test func aTrickleOrSilenceIsCutOffAtTheReadDeadline() async throws {
        let limits = ControlSocketLimits(readDeadline: .milliseconds(800))
        try await withControlServer(limits: limits) { server throws in
            let path = server.path
            // One byte every 200 ms: the old per-read timeout never fired on this.
            let trickle = try await offPool { () -> (String, Double?) in
                guard let c = RawConnection(path) else { return ("connect failed", nil) }
                let start = monotonicSeconds()
                for _ in 0..<25 {
                    var pfd = pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)
                    if poll(&pfd, 1, 200) > 0 { break }
                    c.send(" ")
                }
                let (text, closedAt) = c.readToEnd(within: 3)
                return (text, closedAt.map { $0 - start })
            }
            #expect(trickle.0.contains("request timed out: no complete request line within 800 ms"), "\(trickle.0)")
            #expect(trickle.1 != nil && trickle.1! < 2.5, "closed at \(String(describing: trickle.1)) s")
            let silence = try await offPool { () -> (String, Double?) in
                guard let c = RawConnection(path) else { return ("connect failed", nil) }
                let start = monotonicSeconds()
                let (text, closedAt) = c.readToEnd(within: 5)
                return (text, closedAt.map { $0 - start })
            }
            #expect(silence.0.contains("request timed out"), "\(silence.0)")
            #expect(silence.1 != nil && silence.1! >= 0.7 && silence.1! < 2.5, "closed at \(String(describing: silence.1)) s")
            #expect(await eventually(within: 1) { server.openConnections == 0 })
        }
    }

    @Test func aClientThatDoesNotReadItsAnswerIsClosedAtTheWriteDeadline() async throws {
        // An answer far larger than the socket buffers, to a client that never reads it.
        let huge = ControlResponse.failure(String(repeating: "x", count: 8 << 20))
        let limits = ControlSocketLimits(writeDeadline: .milliseconds(500))
        try await withControlServer(limits: limits, handler: { _, _ in huge }) { server throws in
            let c = try await offPool { RawConnection(server.path) }
            c?.send("{\"command\":\"status\"}\n")
            #expect(await eventually(within: 1) { server.openConnections == 1 })
            #expect(await eventually(within: 3) { server.openConnections == 0 }, "slot given back at the write deadline")
            _ = c
        }
    }

    /// The defect of issue 8: 300 slow connections from another user made root's status fail after
    /// 31 s. A time bound is legitimate here: the old server missed it by tens of seconds. Seven
    /// more users beside uid 65534 fill every slot root does not keep, so the total bound binds too.
    @Test func threeHundredSlowClientsDoNotStallRootsStatus() async throws {
        let limits = ControlSocketLimits.standard
        try await withControlServer { server throws in
            let baseline = Descriptors.count()
            #expect(Descriptors.serverSide(of: server.path) == 1, "the listener alone")
            let abuse = try SlowClients.spawn(server.path, count: 300, seconds: 7, intervalMS: 1000, reconnect: true)
            // More users beside it, each within its own bound: together they press on the total.
            let crowd = try (65527...65533).map { uid in
                try SlowClients.spawn(server.path, count: limits.connectionsPerUser, seconds: 7, intervalMS: 1000, reconnect: true,
                                      uid: uid_t(uid))
            }
            let peakDescriptors = Shared(baseline)
            let peakServerDescriptors = Shared(0)
            let peakHeldByOthers = Shared(0)
            let sampling = Task.detached {
                while !Task.isCancelled {
                    let (all, server, others) = (Descriptors.count(), Descriptors.serverSide(of: server.path), server.connectionBudget.heldByOthers)
                    peakDescriptors.update { $0 = max($0, all) }
                    peakServerDescriptors.update { $0 = max($0, server) }
                    peakHeldByOthers.update { $0 = max($0, others) }
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            var rounds: [Double] = []
            for _ in 0..<8 {
                let start = monotonicSeconds()
                let response = try await ask(ControlRequest(command: .status), server.path, timeoutSeconds: 5)
                rounds.append(monotonicSeconds() - start)
                #expect(response.status == sampleStatus())
                try await Task.sleep(for: .milliseconds(400))
            }
            let stats = try await abuse.finish()
            var crowdStats: [slowclients_stats] = []
            for c in crowd { crowdStats.append(try await c.finish()) }
            sampling.cancel()
            _ = await sampling.result
            #expect(rounds.allSatisfy { $0 < 1.0 }, "root's status round trips (s): \(rounds)")
            // The server holds its listener and at most the total of connections. The whole of
            // /proc/self/fd is reported, not asserted: tests running beside this one open
            // descriptors of their own, and so do the 8 children's stats pipes.
            let (serverPeak, allPeak) = (peakServerDescriptors.get(), peakDescriptors.get())
            #expect(serverPeak <= 1 + limits.totalConnections && serverPeak > 1,
                    "server descriptors: peak \(serverPeak), bound 1 + \(limits.totalConnections); all: baseline \(baseline), peak \(allPeak)")
            #expect(peakHeldByOthers.get() <= limits.sharedByOthers && peakHeldByOthers.get() > limits.connectionsPerUser,
                    "other users were served beside uid 65534, within their \(limits.sharedByOthers) slots (peak \(peakHeldByOthers.get()))")
            #expect(stats.connects >= 300, "uid 65534 kept connecting (\(stats.connects))")
            #expect(stats.limit_answers > 0, "uid 65534 was held to its bound")
            #expect(stats.timeout_answers > 0, "trickling connections were cut off at the read deadline")
        }
    }
}

@Suite struct ControlClientMessageTests {
    /// A stand-in agent that accepts one connection, reads the request, optionally writes part of
    /// an answer, and closes: what the client sees when the agent dies mid-request.
    static func listeningSocket(_ path: String) -> Int32 {
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: Array(path.utf8)) }
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(s, 4)
        return s
    }

    static func serveOnceAndDie(_ listener: Int32, partialAnswer: String?) {
        let c = accept(listener, nil, nil)
        var buf = [UInt8](repeating: 0, count: 256)
        _ = recv(c, &buf, buf.count, 0)
        if let partialAnswer { _ = partialAnswer.withCString { Glibc.send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        close(c)
        close(listener)
    }

    @Test(arguments: [nil, "{\"ok\":true,\"sta"])
    func theClientSaysTheAgentClosedTheConnectionBeforeAnswering(partialAnswer: String?) async throws {
        let path = controlSocketPath()
        let listener = Self.listeningSocket(path)
        Thread.detachNewThread { Self.serveOnceAndDie(listener, partialAnswer: partialAnswer) }
        await #expect {
            try await ask(ControlRequest(command: .status), path)
        } throws: { error in
            let e = error as? ControlSocketError
            return e?.kind == .closedBeforeAnswer
                && "\(error)" == "\(path): the agent closed the connection before answering (it may have exited or restarted): see journalctl -u fairshare"
        }
    }

    @Test func theClientGivesUpAtItsTimeout() async throws {
        let path = controlSocketPath()
        let listener = Self.listeningSocket(path)
        defer { close(listener) }
        // The kernel completes the connection from the listen queue; nobody ever answers. The
        // time is taken on the client's own thread: across the await it would include however
        // long the test pool took to resume (seconds, on a loaded machine under a sanitizer).
        let outcome = try await offPool { () -> (Result<ControlResponse, ControlSocketError>, Double) in
            let start = monotonicSeconds()
            let result = Result { () throws(ControlSocketError) in
                try ControlClient.send(ControlRequest(command: .status), to: path, timeoutSeconds: 1)
            }
            return (result, monotonicSeconds() - start)
        }
        guard case .failure(let error) = outcome.0 else {
            Issue.record("an answer from a server that never answers")
            return
        }
        #expect(error.kind == .timedOut && "\(error)".contains("no answer from the agent within 1 s"), "\(error)")
        #expect(outcome.1 < 3, "gave up after \(outcome.1) s")
    }

    struct ConnectCase: Sendable, CustomTestStringConvertible {
        var errno: Int32
        var kind: ControlSocketError.Kind
        var says: [String]
        var testDescription: String { String(cString: strerror(errno)) }
    }

    @Test(arguments: [
        ConnectCase(errno: ENOENT, kind: .notRunning, says: ["no control socket here", "the fairshare agent is not running", "systemctl start fairshare"]),
        ConnectCase(errno: ECONNREFUSED, kind: .notRunning, says: ["nothing listens", "the fairshare agent is not running", "journalctl -u fairshare"]),
        ConnectCase(errno: EACCES, kind: .permissionDenied, says: ["permission denied", "run as root", "'fairshare' group", "usermod -aG fairshare"]),
        ConnectCase(errno: EPERM, kind: .permissionDenied, says: ["permission denied", "'fairshare' group"]),
        ConnectCase(errno: EAGAIN, kind: .busy, says: ["accepted no connection within 30 s", "queue is full", "journalctl -u fairshare"]),
        ConnectCase(errno: ENOTDIR, kind: .other, says: ["cannot connect: Not a directory"]),
    ])
    func aFailedConnectSaysWhatToDo(_ c: ConnectCase) {
        let path = "/run/fairshare/fairshare.sock"
        let error = ControlClient.connectFailure(errno: c.errno, path: path, timeoutSeconds: 30)
        #expect(error.kind == c.kind)
        #expect("\(error)".hasPrefix(path + ": "), "names the socket")
        for phrase in c.says { #expect("\(error)".contains(phrase), "\(error)") }
    }
}

@Suite struct ControlPermissionTests {
    @Test func reloadNeedsRootStatusDoesNot() async throws {
        let h = try Harness(policy: threeGroups)
        let user = PeerCredentials(pid: 1, uid: 1000, gid: 1000)
        let denied = await AgentServices.handle(ControlRequest(command: .reload), peer: user, agent: h.agent)
        #expect(!denied.ok && denied.error?.contains("needs root") == true)
        #expect(await h.agent.status().policy.lastReload == nil, "no reload happened")
        let status = await AgentServices.handle(ControlRequest(command: .status), peer: user, agent: h.agent)
        #expect(status.ok && status.status != nil)
        let metrics = await AgentServices.handle(ControlRequest(command: .metrics), peer: user, agent: h.agent)
        #expect(metrics.ok && metrics.metrics?.contains("fairshare_group_members") == true, "metrics: the same access as status")
        let explain = await AgentServices.handle(ControlRequest(command: .explain, pid: 99999), peer: user, agent: h.agent)
        #expect(explain.error == "no process with PID 99999")
        let bad = await AgentServices.handle(ControlRequest(command: .explain, pid: -3), peer: user, agent: h.agent)
        #expect(bad.error == "explain needs a pid > 0")
    }
}

/// `plan` sends a whole policy: long request lines, from root only.
@Suite struct ControlSocketLongRequestTests {
    /// A request carrying `bytes` bytes of policy text.
    static func planRequest(bytes: Int) throws -> String {
        let text = "# " + String(repeating: "x", count: bytes - 3) + "\n"
        let line = try JSONEncoder().encode(ControlRequest(command: .plan, policyText: text, policyPath: "/root/p.toml"))
        return String(decoding: line, as: UTF8.self) + "\n"
    }

    @Test func theRootLimitHoldsTheLargestPolicyEscaped() throws {
        let limits = ControlSocketLimits.standard
        #expect(limits.maxRequestBytes(uid: 1000) == 4096 && limits.maxRequestBytes(uid: 0) == 6 * 256 * 1024 + 4096)
        // The worst case of JSON escaping: every byte a control character (\u00XX).
        let worst = String(repeating: "\u{01}", count: PolicyLimits.standard.fileBytes)
        let line = try JSONEncoder().encode(ControlRequest(command: .plan, policyText: worst, policyPath: String(repeating: "p", count: 1024)))
        #expect(line.count <= limits.maxRequestBytes(uid: 0), "\(line.count)")
    }

    @Test func rootsLongPlanIsServedAndOthersAreCutAt4096Bytes() async throws {
        let seen = Shared<[Int]>([])
        // Root's bound at 256 KiB here (the standard one, 1.5 MiB, is checked above against the
        // largest policy escaped): sending 1.5 MiB through an unoptimized sanitizer build under
        // load can outlast the read deadline, which would refuse it for time, not length.
        let rootBound = 256 * 1024
        try await withControlServer(limits: ControlSocketLimits(maxRootRequestBytes: rootBound), handler: { request, _ in
            seen.update { $0.append(request.policyText?.utf8.count ?? 0) }
            return ControlResponse(ok: true)
        }) { server throws in
            let path = server.path
            let long = try Self.planRequest(bytes: 200 * 1024)
            let root = try await offPool { SlowClientExchange.exchange(path, long, uid: 0, gid: 0) }
            #expect(root.contains("\"ok\":true"), "\(root.prefix(200))")
            let other = try await offPool { SlowClientExchange.exchange(path, long, uid: nobody, gid: nobodyGroup) }
            #expect(other.contains("request longer than 4096 bytes"), "\(other.prefix(200))")
            // Under the limit, the same user is served: the bound is the length, not the user.
            let short = try Self.planRequest(bytes: 2000)
            let small = try await offPool { SlowClientExchange.exchange(path, short, uid: nobody, gid: nobodyGroup) }
            #expect(small.contains("\"ok\":true"), "\(small.prefix(200))")
            // And root's bound is there too.
            let tooLong = String(repeating: " ", count: rootBound + 10)
            let cut = try await offPool { SlowClientExchange.exchange(path, tooLong, uid: 0, gid: 0) }
            #expect(cut.contains("request longer than \(rootBound) bytes"), "\(cut.prefix(200))")
        }
        #expect(seen.get() == [200 * 1024, 2000])
    }
}
