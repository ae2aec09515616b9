import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The control socket's own failures, each injected (a real failing call, or the bind's file
/// calls replaced): every one is an error that says what, where and why, and costs nothing
/// (no descriptor kept, no socket file of another removed).
@Suite struct ControlSocketFaultTests {
    /// A fresh socket path in its own directory.
    static func socketPath() -> String {
        var template = Array("/tmp/fairshare-sockfault-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!) + "/fairshare.sock"
    }

    /// Longer than sun_path holds: socketAddress throws.
    static let unaddressablePath = "/tmp/" + String(repeating: "x", count: 200) + "/fairshare.sock"

    @Test func failedConnectsToAnUnaddressablePathKeepNoDescriptor() {
        let before = Descriptors.count()
        for _ in 0..<2000 {
            #expect(!ControlClient.isListening(Self.unaddressablePath))
            #expect(throws: ControlSocketError.self) {
                try ControlClient.send(ControlRequest(command: .status), to: Self.unaddressablePath, timeoutSeconds: 1)
            }
        }
        // Other tests open and close descriptors meanwhile: a leak would be 2000 or 4000.
        #expect(Descriptors.count() - before < 200)
    }

    // MARK: bind's file calls

    static func bind(_ path: String, accessGroup: gid_t? = 65534, files: ControlServer.FileCalls = .system) async throws(ControlSocketError) -> ControlServer {
        try await ControlServer.bind(path: path, accessGroup: accessGroup, files: files) { _, _ in ControlResponse(ok: true) }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// The client blocks: on a thread of its own, not the cooperative pool the server's handler needs.
    static func ask(_ path: String) async throws -> ControlResponse {
        try await withCheckedThrowingContinuation { cont in
            Thread.detachNewThread { cont.resume(with: Result { try ControlClient.send(ControlRequest(command: .status), to: path, timeoutSeconds: 10) }) }
        }
    }

    @Test func aFailedChmodStopsTheBindAndLeavesNoSocket() async throws {
        let path = Self.socketPath()
        var files = ControlServer.FileCalls.system
        files.changeMode = { _, _ in EPERM }
        await #expect {
            try await Self.bind(path, files: files)
        } throws: { error in
            let e = error as? ControlSocketError
            return e?.kind == .setup && e?.path == path && "\(error)".contains("cannot set its mode to 0660: EPERM")
                && "\(error)".contains("not listening")
        }
        #expect(!Self.exists(path), "the file it bound is removed")
        #expect(!ControlClient.isListening(path))
        // Nothing is left in the way of the next start.
        let server = try await Self.bind(path)
        await server.close()
    }

    @Test func aFailedStatStopsTheBindRatherThanKeepAnUnsetInode() async throws {
        let path = Self.socketPath()
        var files = ControlServer.FileCalls.system
        files.identify = { path in .failure(SystemFileError(.stat, path: path, errno: EIO)) }
        await #expect {
            try await Self.bind(path, files: files)
        } throws: { error in
            (error as? ControlSocketError)?.kind == .setup && "\(error)".contains("cannot stat \(path): EIO")
                && "\(error)".contains("shutdown could not tell it from another agent's socket")
        }
        #expect(!ControlClient.isListening(path))
    }

    @Test func shutdownRemovesOnlyItsOwnFileAndNotOnAFailedStat() async throws {
        let path = Self.socketPath()
        let statFails = Atomic<Bool>(false)
        var files = ControlServer.FileCalls.system
        let system = ControlServer.FileCalls.system.identify
        files.identify = { path in statFails.load(ordering: .relaxed) ? .failure(SystemFileError(.stat, path: path, errno: EIO)) : system(path) }
        let server = try await Self.bind(path, files: files)
        statFails.store(true, ordering: .relaxed)
        await server.close()
        #expect(Self.exists(path), "which file is there is not known: it stays (the next start finds it stale)")
        let next = try await Self.bind(path)
        await next.close()
        #expect(!Self.exists(path))
    }

    @Test func shutdownNeverRemovesAnotherAgentsSocket() async throws {
        let path = Self.socketPath()
        let first = try await Self.bind(path)
        // Someone removed the first agent's file and a second agent bound the path.
        #expect(unlink(path) == 0)
        let second = try await Self.bind(path)
        await first.close()
        #expect(Self.exists(path), "the second agent's socket stays")
        #expect(try await Self.ask(path).ok, "and answers")
        await second.close()
        #expect(!Self.exists(path))
    }

    @Test func aFailedChownLeavesARootOnlySocketThatServesAndSaysWhy() async throws {
        let path = Self.socketPath()
        var files = ControlServer.FileCalls.system
        files.changeOwner = { _, _, _ in EPERM }
        let server = try await Self.bind(path, accessGroup: 65534, files: files)
        #expect(server.accessProblem.map { "\($0)" }?.contains("cannot hand the socket to group fairshare (gid 65534): EPERM") == true)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o660 && st.st_gid != 65534)
        #expect(try await Self.ask(path).ok, "root still gets in")
        await server.close()
        let fine = try await Self.bind(path)
        #expect(fine.accessProblem == nil)
        await fine.close()
    }

    // MARK: bind's checks of what is in the way

    @Test func anotherKindOfLiveSocketIsNeitherRemovedNorTakenForStale() async throws {
        let path = Self.socketPath()
        // Someone else's live socket of another type: a stream connect says EPROTOTYPE.
        let other = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0)
        #expect(other >= 0)
        defer { close(other) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(other, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0 && listen(other, 1) == 0)
        await #expect {
            try await Self.bind(path)
        } throws: { "\($0)".contains("cannot tell whether something listens here: connect(): EPROTOTYPE") }
        #expect(Self.exists(path), "the other socket's file is still there")
    }

    @Test func aDirectoryThatCanNotBeMadeIsNamed() async throws {
        let file = Self.socketPath()
        #expect(creat(file, 0o600) >= 0)
        let path = file + "/run/fairshare.sock"
        await #expect {
            try await Self.bind(path)
        } throws: { "\($0)".contains("cannot create its directory \(file)/run: ENOTDIR") }
    }

    @Test func aStaleFileThatCanNotBeRemovedIsNamed() async throws {
        let path = Self.socketPath()
        #expect(mkdir(path, 0o755) == 0)
        await #expect {
            try await Self.bind(path)
        } throws: { "\($0)".contains("cannot remove the stale file in the socket's place: EISDIR") }
        #expect(Self.exists(path))
    }
}
