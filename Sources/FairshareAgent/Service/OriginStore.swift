import FairshareCore
import FairshareEdge
import FairshareLinux

#if canImport(Glibc)
import Glibc
#endif

/// A file, replaced atomically: the new text goes to a temporary file that is renamed over the
/// ledger, so a crash or a kill of the agent at any instruction leaves either the previous
/// ledger or the new one, whole (the page cache outlives the process). It is not fsynced: what
/// it records (pids and start times) means nothing after the machine itself goes down, and
/// under systemd it lives on tmpfs (/run/fairshare/origins, which
/// RuntimeDirectoryPreserve=restart keeps across a restart after a crash). An fsync per write
/// was a third of an event move's cost under emulation. Mode 0600: where processes came from is
/// nobody else's business.
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
        guard fd >= 0 else {
            DescriptorReserve.shared.note(openFailure: errno, path: temporary)
            throw FileWriteError(path: temporary, errno: errno)
        }
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
        guard close(fd) == 0 else { throw FileWriteError(path: temporary, errno: errno) }
        guard rename(temporary, path) == 0 else { throw FileWriteError(path: path, errno: errno) }
    }
}

public struct FileWriteError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32

    public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}
