import Dispatch
import FairshareAgent
import FairshareCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking client I/O on a Dispatch thread: the server's handler needs the cooperative
/// pool, which blocking test threads would otherwise starve (2 CPUs, 2 pool threads).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { cont in
        DispatchQueue.global().async { cont.resume(with: Result { try body() }) }
    }
}

func ask(_ request: ControlRequest, _ path: String) async throws -> ControlResponse {
    try await offPool { try ControlClient.send(request, to: path) }
}

/// The control socket for real (a unix socket in a temp dir), with a recording handler.
@Suite struct ControlSocketTests {
    static func socketPath() -> String {
        var template = Array("/tmp/fairshare-sock-XXXXXX".utf8CString)
        let dir = String(cString: mkdtemp(&template)!)
        return dir + "/fairshare.sock"
    }

    static func sample() -> StatusReport {
        StatusReport(
            agent: AgentStatus(pid: 7, startedAt: 1, uptimeSeconds: 2, cgroupRoot: "/sys/fs/cgroup/x", intervalSeconds: 2, cpus: 2, ticks: 3),
            policy: PolicyStatus(path: "/etc/fairshare/policy.toml", loadedAt: 1, lastReload: nil), groups: [])
    }

    @Test func requestAndResponseRoundTrip() async throws {
        let path = Self.socketPath()
        let server = try ControlServer(path: path) { request, peer in
            switch request.command {
            case .status: ControlResponse(ok: true, status: Self.sample())
            case .explain: .failure("no process with PID \(request.pid ?? 0)")
            case .reload: ControlResponse(ok: false, error: "rejected", reload: ReloadOutcome(applied: false, at: 1, error: "rejected"))
            }
        }
        defer { server.close() }
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o660, "socket mode 0660")
        #expect(try await ask(ControlRequest(command: .status), path).status == Self.sample())
        #expect(try await ask(ControlRequest(command: .explain, pid: 42), path).error == "no process with PID 42")
        #expect(try await ask(ControlRequest(command: .reload), path).reload?.applied == false)
    }

    @Test func garbageAndOversizedRequestsGetAClearErrorAndTheServerLivesOn() async throws {
        let path = Self.socketPath()
        let server = try ControlServer(path: path) { _, _ in ControlResponse(ok: true, status: Self.sample()) }
        defer { server.close() }
        let garbage = try await offPool { Self.rawExchange(path, "hello\n") }
        #expect(garbage.contains("malformed request"))
        let unknown = try await offPool { Self.rawExchange(path, "{\"command\":\"format-disk\"}\n") }
        #expect(unknown.contains("malformed request"))
        let huge = try await offPool { Self.rawExchange(path, String(repeating: "x", count: 10_000)) }
        #expect(huge.contains("request longer than 4096 bytes"))
        #expect(try await ask(ControlRequest(command: .status), path).ok)
    }

    @Test func clientSaysWhenNoAgentListens() {
        let path = Self.socketPath()
        #expect {
            try ControlClient.send(ControlRequest(command: .status), to: path)
        } throws: { "\($0)".contains("the fairshare agent is not running") && "\($0)".contains(path) }
    }

    @Test func aSecondAgentDoesNotStealTheSocket() async throws {
        let path = Self.socketPath()
        let first = try ControlServer(path: path) { _, _ in ControlResponse(ok: true) }
        defer { first.close() }
        #expect { try ControlServer(path: path) { _, _ in ControlResponse(ok: true) } } throws: {
            "\($0)".contains("another fairshare agent is already listening")
        }
        #expect(try await ask(ControlRequest(command: .status), path).ok)
    }

    @Test func aStaleSocketFileIsReplaced() async throws {
        let path = Self.socketPath()
        let old = try ControlServer(path: path) { _, _ in ControlResponse(ok: false) }
        old.close()
        // A crashed agent leaves the file behind; nothing listens on it.
        #expect(creat(path, 0o600) >= 0)
        let server = try ControlServer(path: path) { _, _ in ControlResponse(ok: true) }
        defer { server.close() }
        #expect(try await ask(ControlRequest(command: .status), path).ok)
    }

    /// Sends raw bytes and returns the raw answer.
    static func rawExchange(_ path: String, _ text: String) -> String {
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let b = Array(path.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else { return "connect failed" }
        _ = text.withCString { send(s, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(s, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

@Suite struct ControlPermissionTests {
    @Test func reloadNeedsRootStatusDoesNot() async throws {
        let h = try Harness(policy: threeGroups)
        let user = PeerCredentials(pid: 1, uid: 1000, gid: 1000)
        let denied = await AgentRunner.handle(ControlRequest(command: .reload), peer: user, agent: h.agent)
        #expect(!denied.ok && denied.error?.contains("needs root") == true)
        #expect(await h.agent.status().policy.lastReload == nil, "no reload happened")
        let status = await AgentRunner.handle(ControlRequest(command: .status), peer: user, agent: h.agent)
        #expect(status.ok && status.status != nil)
        let explain = await AgentRunner.handle(ControlRequest(command: .explain, pid: 99999), peer: user, agent: h.agent)
        #expect(explain.error == "no process with PID 99999")
        let bad = await AgentRunner.handle(ControlRequest(command: .explain, pid: -3), peer: user, agent: h.agent)
        #expect(bad.error == "explain needs a pid > 0")
    }
}
