import FairshareCore
import FairshareEdge

#if canImport(Glibc)
import Glibc
#endif

/// A file, replaced atomically and durably: the new text goes to a temporary file that is
/// fsynced, renamed over the ledger, and the directory fsynced, so a crash or a kill at any
/// instruction leaves either the previous ledger or the new one, whole. Under systemd it is
/// /run/fairshare/origins, which RuntimeDirectoryPreserve=restart keeps across a restart after
/// a crash. Mode 0600: where processes came from is nobody else's business.
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
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw FileWriteError(path: temporary, errno: errno) }
        func fail(_ e: Int32, _ at: String) -> FileWriteError {
            close(fd)
            return FileWriteError(path: at, errno: e)
        }
        // An older file may have had a wider mode: O_CREAT's mode applies only to new files.
        guard fchmod(fd, 0o600) == 0 else { throw fail(errno, temporary) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(errno, temporary)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw fail(errno, temporary) }
        guard close(fd) == 0 else { throw FileWriteError(path: temporary, errno: errno) }
        guard rename(temporary, path) == 0 else { throw FileWriteError(path: path, errno: errno) }
        syncDirectory(of: path)
    }

    /// Makes the rename itself durable. Best effort: the rename already happened, and a
    /// directory that can not be opened (tmpfs never needs it) must not fail the write.
    private func syncDirectory(of path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { return }
        _ = fsync(dfd)
        close(dfd)
    }
}

public struct FileWriteError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32

    public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}
