import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `recover` after the agent: what it can not do is in its problems, never dropped.
@Suite struct RecoveryFaultTests {
    final class EmptyStore: OriginStore, Sendable {
        func load() throws -> String? { nil }
        func save(_ t: String) throws {}
    }

    /// Before, rmdir of the agent's leaf was `try?`: an EACCES left it behind unsaid.
    @Test func aLeafThatCanNotBeRemovedIsAProblemNotSilence() async throws {
        let k = FakeKernel()
        k.makeCgroup("/", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare/mid")
        k.makeCgroup("/fairshare/" + CgroupTree.agentLeafName)
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        k.inject(errno: EACCES, cgroup: tree.agentLeaf.description, operation: .rmdir)
        let outcome = try await Recovery.run(mode: .handBack, tree: tree, processes: k.processSource, origins: EmptyStore(),
                                             capacityCPUs: 2, logger: RecordingJournal().logger())
        #expect(outcome.problems.contains { $0.hasPrefix("cannot remove the agent's leaf cgroup: removing cgroup") && $0.contains("Permission denied") },
                "\(outcome.problems)")
        #expect(!k.exists("/fairshare/mid"), "the group itself is removed")
    }

    @Test func anAlreadyRemovedLeafIsNoProblem() async throws {
        let k = FakeKernel()
        k.makeCgroup("/", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare/mid")
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        let outcome = try await Recovery.run(mode: .handBack, tree: tree, processes: k.processSource, origins: EmptyStore(),
                                             capacityCPUs: 2, logger: RecordingJournal().logger())
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
    }
}

/// `recover` first asks whether an agent still runs. Before, any failure of that question
/// (`try?`) read as "no agent": a busy agent, one that answered "stopping", or a socket that
/// could not be asked had its processes handed back from under it.
@Suite struct RecoveryAgentPresenceTests {
    static func socketPath() -> String {
        var template = Array("/tmp/fairshare-presence-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!) + "/fairshare.sock"
    }

    static func presence(_ path: String) async throws -> Recovery.AgentPresence {
        try await withCheckedThrowingContinuation { cont in
            Thread.detachNewThread { cont.resume(with: Result { try Recovery.agentPresence(socket: path, timeoutSeconds: 5) }) }
        }
    }

    static func status(pid: Int32) -> StatusReport {
        StatusReport(agent: AgentStatus(pid: pid, startedAt: 1, uptimeSeconds: 2, cgroupRoot: "/sys/fs/cgroup/x", intervalSeconds: 2, cpus: 2, ticks: 3),
                     policy: PolicyStatus(path: "/etc/fairshare/policy.toml", loadedAt: 1, lastReload: nil), groups: [])
    }

    @Test func noSocketOrAStaleOneMeansGone() async throws {
        let path = Self.socketPath()
        #expect(try await Self.presence(path) == .gone)
        let server = try await ControlServer.bind(path: path, accessGroup: nil) { _, _ in ControlResponse(ok: true) }
        await server.close()
        #expect(creat(path, 0o600) >= 0, "a file nobody listens on")
        #expect(try await Self.presence(path) == .gone)
    }

    @Test func anAgentThatAnswersIsRunning() async throws {
        let path = Self.socketPath()
        let server = try await ControlServer.bind(path: path, accessGroup: nil) { _, _ in ControlResponse(ok: true, status: Self.status(pid: 77)) }
        #expect(try await Self.presence(path) == .running(pid: 77))
        await server.close()
    }

    @Test func anAgentThatAnswersWithoutAStatusIsNotGone() async throws {
        let path = Self.socketPath()
        let server = try await ControlServer.bind(path: path, accessGroup: nil) { _, _ in .failure("the agent is stopping") }
        await #expect {
            try await Self.presence(path)
        } throws: { "\($0)".contains("an agent answers here but sent no status (the agent is stopping)") }
        await server.close()
    }

    @Test func aSocketThatCanNotBeAskedIsNotGone() async throws {
        let path = Self.socketPath()
        let other = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0)
        defer { close(other) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(other, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0 && listen(other, 1) == 0)
        await #expect(throws: ControlSocketError.self) { try await Self.presence(path) }
    }
}
