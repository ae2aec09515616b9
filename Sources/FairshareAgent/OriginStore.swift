import FairshareCore

#if canImport(Glibc)
import Glibc
#endif

/// Where the origin ledger lives between runs of the agent.
public protocol OriginStore: Sendable {
    /// The ledger's text, or nil when there is none.
    func load() throws -> String?
    func save(_ text: String) throws
}

/// A file, replaced atomically (write a temporary file, then rename), so a crash mid-write
/// leaves the previous ledger intact. Under systemd it is /run/fairshare/origins, which
/// RuntimeDirectoryPreserve=restart keeps across a restart after a crash.
public struct FileOriginStore: OriginStore {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func load() throws -> String? {
        do {
            return try readTextFile(path)
        } catch let error as FileReadError where error.errno == ENOENT {
            return nil
        }
    }

    public func save(_ text: String) throws {
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path: temporary, errno: errno) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                throw FileWriteError(path: temporary, errno: e)
            }
            written += n
        }
        guard close(fd) == 0 else { throw FileWriteError(path: temporary, errno: errno) }
        guard rename(temporary, path) == 0 else { throw FileWriteError(path: path, errno: errno) }
    }
}

public struct FileWriteError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32

    public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}
