import FairshareCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The CLI's end: connect, send one request, read one response. Plain blocking code with one
/// deadline for the whole exchange (a CLI has nothing else to do meanwhile).
public enum ControlClient {
    public static let defaultPath = "/run/fairshare/fairshare.sock"

    /// The user socket beside a control socket (`fairshare status --mine`).
    public static func userSocketPath(beside control: String) -> String { path(named: "user.sock", beside: control) }

    /// A file in the control socket's directory (the user socket, the origin ledger).
    public static func path(named name: String, beside control: String) -> String {
        let directory = control.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (directory.isEmpty ? "." : directory) + "/" + name
    }
    /// The longest answer accepted (a status of many groups is a few hundred KB at most).
    public static let maxAnswerBytes = 16 << 20
    static let journalHint = "see journalctl -u fairshare"

    public static func send(_ request: ControlRequest, to path: String, timeoutSeconds: Int = 30) throws(ControlSocketError) -> ControlResponse {
        let deadline = monotonicSeconds() + Double(timeoutSeconds)
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw ControlSocketError(path: path, message: "socket(): \(String(cString: strerror(errno)))") }
        defer { close(s) }
        var addr = try ControlServer.socketAddress(path)
        // A blocking connect waits while the listen queue is full: at most the timeout (EAGAIN).
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 { throw connectFailure(errno: errno, path: path, timeoutSeconds: timeoutSeconds) }
        guard var body = try? JSONEncoder().encode(request) else { throw ControlSocketError(path: path, message: "cannot encode request") }
        body.append(UInt8(ascii: "\n"))
        try writeAll(s, Array(body), path: path)
        let line = try readAnswerLine(s, path: path, deadline: deadline, timeoutSeconds: timeoutSeconds)
        do {
            return try JSONDecoder().decode(ControlResponse.self, from: Data(line))
        } catch {
            throw ControlSocketError(path: path, kind: .badAnswer, message: "unreadable answer from the agent: \(error)")
        }
    }

    /// What a failed connect() means to someone typing `fairshare status`.
    public static func connectFailure(errno e: Int32, path: String, timeoutSeconds: Int) -> ControlSocketError {
        switch e {
        case ENOENT:
            return ControlSocketError(path: path, kind: .notRunning, message: "no control socket here: the fairshare agent is not running; start it with `systemctl start fairshare` or `fairshare run`")
        case ECONNREFUSED:
            return ControlSocketError(path: path, kind: .notRunning, message: "nothing listens on this socket: the fairshare agent is not running (if it should be, \(journalHint)); start it with `systemctl start fairshare` or `fairshare run`")
        case EACCES, EPERM:
            return ControlSocketError(path: path, kind: .permissionDenied, message: "permission denied: run as root or as a member of the '\(ControlServer.accessGroupName)' group (`usermod -aG \(ControlServer.accessGroupName) USER`, then log in again)")
        case EAGAIN:
            return ControlSocketError(path: path, kind: .busy, message: "the agent accepted no connection within \(timeoutSeconds) s (its queue is full; it may be overloaded or stuck): \(journalHint)")
        default:
            return ControlSocketError(path: path, kind: .other, message: "cannot connect: \(String(cString: strerror(e)))")
        }
    }

    static func closedBeforeAnswer(_ path: String) -> ControlSocketError {
        ControlSocketError(path: path, kind: .closedBeforeAnswer,
                           message: "the agent closed the connection before answering (it may have exited or restarted): \(journalHint)")
    }

    /// MSG_NOSIGNAL: a peer that hung up costs an EPIPE, never a SIGPIPE.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(ControlSocketError) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EPIPE || e == ECONNRESET { throw closedBeforeAnswer(path) }
                throw ControlSocketError(path: path, message: "cannot send the request: \(String(cString: strerror(e)))")
            }
            off += n
        }
    }

    /// Reads up to the first newline, within the deadline. An end of input (or a reset) before
    /// it is the agent going away mid-request, whatever part of an answer came first.
    static func readAnswerLine(_ fd: Int32, path: String, deadline: Double, timeoutSeconds: Int) throws(ControlSocketError) -> [UInt8] {
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let remaining = deadline - monotonicSeconds()
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = remaining <= 0 ? 0 : poll(&pfd, 1, Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up)))
            if ready < 0 {
                if errno == EINTR { continue }
                throw ControlSocketError(path: path, message: "poll: \(String(cString: strerror(errno)))")
            }
            if ready == 0 {
                throw ControlSocketError(path: path, kind: .timedOut, message: "no answer from the agent within \(timeoutSeconds) s (it may be busy or stuck): \(journalHint)")
            }
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                let e = errno
                if e == EINTR || e == EAGAIN { continue }
                if e == ECONNRESET { throw closedBeforeAnswer(path) }
                throw ControlSocketError(path: path, message: "cannot read the answer: \(String(cString: strerror(e)))")
            }
            if n == 0 { throw closedBeforeAnswer(path) }
            let before = answer.count
            answer.append(contentsOf: chunk[0..<n])
            if let newline = answer[before...].firstIndex(of: UInt8(ascii: "\n")) { return Array(answer[..<newline]) }
            if answer.count > maxAnswerBytes {
                throw ControlSocketError(path: path, kind: .badAnswer, message: "answer longer than \(maxAnswerBytes) bytes")
            }
        }
    }

    /// What a probe found at a socket path.
    public enum Listener: Sendable, Equatable {
        /// Something accepts connections there (a full listen queue counts: someone is there).
        case listening
        /// No file at the path (ENOENT).
        case absent
        /// A file nobody listens on (ECONNREFUSED): what a killed agent leaves.
        case stale
    }

    /// Connects to `path` without waiting, to tell a live socket from a stale one. Anything else
    /// (no descriptor left, a socket of another type, a loop of links) throws: then nobody knows
    /// whether the file may be removed.
    public static func probe(_ path: String) throws(ControlSocketError) -> Listener {
        var addr = try ControlServer.socketAddress(path)
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard s >= 0 else {
            throw ControlSocketError(path: path, kind: .setup, message: "cannot tell whether something listens here: socket(): \(ErrnoText.describe(errno))")
        }
        defer { close(s) }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let e = errno
        if r == 0 || e == EAGAIN { return .listening }
        switch e {
        case ENOENT: return .absent
        case ECONNREFUSED: return .stale
        default:
            throw ControlSocketError(path: path, kind: .setup, message: "cannot tell whether something listens here: connect(): \(ErrnoText.describe(e))")
        }
    }

    /// True if something is known to listen on the socket (a full listen queue counts).
    public static func isListening(_ path: String) -> Bool {
        (try? probe(path)) == .listening
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
