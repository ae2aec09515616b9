import Dispatch
import FairshareCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Errors of the control socket, on either side, saying which socket and why.
public struct ControlSocketError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public var description: String { "\(path): \(message)" }
}

/// Who is on the other end of a connection (SO_PEERCRED).
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

/// The agent's end of the control socket: a listening unix socket served on its own thread,
/// one request per connection. Requests larger than `maxRequestBytes` or slower than
/// `readTimeout` are refused with a clear error; nothing a client sends can stop the agent.
public final class ControlServer: Sendable {
    public static let maxRequestBytes = 4096
    public let path: String
    private let fd: Int32

    /// Binds the socket (replacing a stale one), mode 0660, and starts serving.
    public init(path: String, handler: @escaping @Sendable (ControlRequest, PeerCredentials) async -> ControlResponse) throws(ControlSocketError) {
        self.path = path
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !dir.isEmpty { mkdir(dir, 0o755) }
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw ControlSocketError(path: path, message: "socket(): \(String(cString: strerror(errno)))") }
        var addr = try ControlServer.address(path)
        // A socket file left by an earlier run that is not listening: remove it. One that is
        // listening means another agent runs: refuse to steal it.
        if ControlClient.isListening(path) {
            Glibc.close(s)
            throw ControlSocketError(path: path, message: "another fairshare agent is already listening here")
        }
        unlink(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let e = errno
            Glibc.close(s)
            throw ControlSocketError(path: path, message: "bind(): \(String(cString: strerror(e)))")
        }
        chmod(path, 0o660)
        // Members of the `fairshare` group may read the status (the group need not exist).
        if let gr = getgrnam("fairshare") { chown(path, 0, gr.pointee.gr_gid) }
        guard listen(s, 16) == 0 else {
            let e = errno
            Glibc.close(s)
            throw ControlSocketError(path: path, message: "listen(): \(String(cString: strerror(e)))")
        }
        self.fd = s
        let listener = s
        let thread = DispatchQueue(label: "fairshare.control")
        thread.async {
            ControlServer.acceptLoop(listener, handler: handler)
        }
    }

    /// Stops accepting and removes the socket file.
    public func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        unlink(path)
    }

    static func address(_ path: String) throws(ControlSocketError) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { throw ControlSocketError(path: path, message: "socket path longer than \(capacity - 1) bytes") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }

    private static func acceptLoop(_ listener: Int32, handler: @escaping @Sendable (ControlRequest, PeerCredentials) async -> ControlResponse) {
        while true {
            let conn = accept(listener, nil, nil)
            if conn < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                Glibc.close(listener)
                return
            }
            // Each connection on its own: a slow client never blocks the next one for long.
            DispatchQueue.global().async {
                serve(conn, handler: handler)
            }
        }
    }

    private static func serve(_ conn: Int32, handler: @escaping @Sendable (ControlRequest, PeerCredentials) async -> ControlResponse) {
        defer { Glibc.close(conn) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = fcntl(conn, F_SETFD, FD_CLOEXEC)
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (needs _GNU_SOURCE in C: read it raw).
        var cred: (Int32, UInt32, UInt32) = (0, UInt32.max, UInt32.max)
        var len = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len)
        let peer = PeerCredentials(pid: cred.0, uid: cred.1, gid: cred.2)

        let response: ControlResponse
        switch readLine(conn, limit: maxRequestBytes) {
        case .failure(let message):
            response = .failure(message)
        case .success(let line):
            if let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line)) {
                let box = ResponseBox()
                let done = DispatchSemaphore(value: 0)
                Task {
                    box.value = await handler(request, peer)
                    done.signal()
                }
                done.wait()
                response = box.value ?? .failure("internal error: no response")
            } else {
                response = .failure("malformed request: expected one JSON line such as {\"command\":\"status\"}; commands: status, reload, explain")
            }
        }
        var out = (try? JSONEncoder().encode(response)) ?? Data("{\"ok\":false,\"error\":\"cannot encode response\"}".utf8)
        out.append(UInt8(ascii: "\n"))
        _ = writeAll(conn, Array(out))
    }

    enum LineResult {
        case success([UInt8])
        case failure(String)
    }

    static func readLine(_ fd: Int32, limit: Int) -> LineResult {
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                return errno == EAGAIN || errno == EWOULDBLOCK ? .failure("request timed out: send one JSON line") : .failure("read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return buf.isEmpty ? .failure("empty request") : .success(buf) }
            buf.append(contentsOf: chunk[0..<n])
            if let nl = buf.firstIndex(of: UInt8(ascii: "\n")) { return .success(Array(buf[..<nl])) }
            if buf.count > limit { return .failure("request longer than \(limit) bytes") }
        }
    }

    /// MSG_NOSIGNAL: a client that hung up must cost an EPIPE, never a SIGPIPE for the agent.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }
}

private final class ResponseBox: @unchecked Sendable {
    // Written by one task before the semaphore is signalled, read after the wait.
    var value: ControlResponse?
}

/// The CLI's end: connect, send one request, read one response.
public enum ControlClient {
    public static let defaultPath = "/run/fairshare/fairshare.sock"

    public static func send(_ request: ControlRequest, to path: String, timeoutSeconds: Int = 30) throws(ControlSocketError) -> ControlResponse {
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw ControlSocketError(path: path, message: "socket(): \(String(cString: strerror(errno)))") }
        defer { close(s) }
        var addr = try ControlServer.address(path)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 {
            let e = errno
            switch e {
            case ENOENT, ECONNREFUSED:
                throw ControlSocketError(path: path, message: "the fairshare agent is not running (no one listens on this socket); start it with `systemctl start fairshare` or `fairshare run`")
            case EACCES, EPERM:
                throw ControlSocketError(path: path, message: "permission denied: run as root or as a member of the 'fairshare' group")
            default:
                throw ControlSocketError(path: path, message: "cannot connect: \(String(cString: strerror(e)))")
            }
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard var body = try? JSONEncoder().encode(request) else { throw ControlSocketError(path: path, message: "cannot encode request") }
        body.append(UInt8(ascii: "\n"))
        guard ControlServer.writeAll(s, Array(body)) else {
            throw ControlSocketError(path: path, message: "cannot send request: \(String(cString: strerror(errno)))")
        }
        switch ControlServer.readLine(s, limit: 16 << 20) {
        case .failure(let m):
            throw ControlSocketError(path: path, message: "no answer from the agent: \(m)")
        case .success(let line):
            do {
                return try JSONDecoder().decode(ControlResponse.self, from: Data(line))
            } catch {
                throw ControlSocketError(path: path, message: "unreadable answer from the agent: \(error)")
            }
        }
    }

    /// True if something accepts connections on the socket.
    public static func isListening(_ path: String) -> Bool {
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0, var addr = try? ControlServer.address(path) else { return false }
        defer { close(s) }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}
