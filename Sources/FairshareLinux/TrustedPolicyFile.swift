import FairshareCore

#if canImport(Glibc)
import Glibc
#endif

/// Why a policy file was not read: it is not a file the agent may trust, or its bytes are not a
/// policy's text. The agent (at start and on reload) and `fairshare check` apply the same rules.
public enum PolicyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// open, fstat or read failed.
    case unreadable(path: String, errno: Int32)
    /// A FIFO, device, directory or socket: reading it could block or never end.
    case notRegularFile(path: String, kind: String)
    /// Owned by a user other than root: that user could change what the agent enforces.
    case notOwnedByRoot(path: String, uid: UInt32)
    /// Writable by its group or by everyone: they could change what the agent enforces.
    case writableByOthers(path: String, mode: UInt32)
    /// Too large or not UTF-8, located (see `PolicyParser.text(of:file:limits:)`).
    case invalidText(PolicyError)

    public var description: String {
        let fix = { (path: String) in "fix it with: chown root:root \(path) && chmod go-w \(path)" }
        switch self {
        case .unreadable(let path, let errno):
            return "cannot read \(path): \(String(cString: strerror(errno)))"
        case .notRegularFile(let path, let kind):
            return "\(path) is a \(kind), not a regular file; the policy must be a regular file (reading a \(kind) could block the agent)"
        case .notOwnedByRoot(let path, let uid):
            return "\(path) is owned by uid \(uid), not root; the agent trusts only a policy owned by root and not writable by group or others (like sshd's StrictModes); \(fix(path))"
        case .writableByOthers(let path, let mode):
            let octal = String(mode & 0o7777, radix: 8)
            return "\(path) is writable by \(mode & 0o002 != 0 ? "everyone" : "its group") (mode \(String(repeating: "0", count: max(0, 4 - octal.count)) + octal)); the agent trusts only a policy owned by root and not writable by group or others (like sshd's StrictModes); \(fix(path))"
        case .invalidText(let error):
            return error.description
        }
    }
}

/// Reads the policy at `path` if the agent may trust it: a regular file (symlinks are followed:
/// the rules apply to the target), owned by root, not writable by group or others, at most
/// `limits.fileBytes` bytes of UTF-8.
///
/// The checks are on the opened descriptor (fstat), so the file read is the file checked; they
/// happen before any byte is read, and the open itself can not block (O_NONBLOCK: a FIFO with
/// no writer opens at once) or take a terminal (O_NOCTTY). At most `fileBytes + 1` bytes are
/// read, however large the file is or grows.
public func readTrustedPolicy(path: String, limits: PolicyLimits = .standard) throws(PolicyFileError) -> String {
    try readPolicy(path: path, limits: limits, trusted: true)
}

/// Reads a policy draft the caller may read, under the same bounds (a regular file, at most
/// `limits.fileBytes` bytes of UTF-8) but whoever owns it: `fairshare plan` sends its text to the
/// agent, which applies nothing of it.
public func readPolicyDraft(path: String, limits: PolicyLimits = .standard) throws(PolicyFileError) -> String {
    try readPolicy(path: path, limits: limits, trusted: false)
}

private func readPolicy(path: String, limits: PolicyLimits, trusted: Bool) throws(PolicyFileError) -> String {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
    guard fd >= 0 else {
        DescriptorReserve.shared.note(openFailure: errno, path: path)
        throw .unreadable(path: path, errno: errno)
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .unreadable(path: path, errno: errno) }
    let type = st.st_mode & S_IFMT
    guard type == S_IFREG else { throw .notRegularFile(path: path, kind: fileKind(type)) }
    if trusted {
        guard st.st_uid == 0 else { throw .notOwnedByRoot(path: path, uid: st.st_uid) }
        guard st.st_mode & (S_IWGRP | S_IWOTH) == 0 else { throw .writableByOthers(path: path, mode: st.st_mode) }
    }

    let wanted = limits.fileBytes + 1
    var bytes = [UInt8](repeating: 0, count: min(wanted, max(Int(st.st_size), 0) + 1))
    var count = 0
    while count < wanted {
        if count == bytes.count { bytes.append(contentsOf: repeatElement(0, count: min(wanted, 2 * count) - count)) }
        let n = bytes.withUnsafeMutableBytes { buffer in
            read(fd, buffer.baseAddress! + count, buffer.count - count)
        }
        if n < 0 {
            if errno == EINTR { continue }
            throw .unreadable(path: path, errno: errno)
        }
        if n == 0 { break }
        count += n
    }
    bytes.removeSubrange(count...)
    do throws(PolicyError) {
        return try PolicyParser.text(of: bytes, file: path, limits: limits)
    } catch {
        throw .invalidText(error)
    }
}

private func fileKind(_ type: mode_t) -> String {
    switch type {
    case S_IFDIR: "directory"
    case S_IFIFO: "FIFO"
    case S_IFSOCK: "socket"
    case S_IFCHR: "character device"
    case S_IFBLK: "block device"
    default: "special file"
    }
}
