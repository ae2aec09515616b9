import FairshareEdge

#if canImport(Glibc)
import Glibc
#endif

/// The textfile port on the real file system. The directory may belong to the prometheus user
/// (Debian's package makes it), so the agent, as root, never follows a link planted there: the
/// temporary name is unlinked, then created with O_EXCL | O_NOFOLLOW.
public struct LinuxMetricsFiles: MetricsFiles {
    public init() {}

    /// False only when stat(2) says there is no such directory (ENOENT, ENOTDIR, or not a
    /// directory). Any other failure (ELOOP, EACCES, EIO) counts as existing, so the write that
    /// follows fails and is reported with its errno, instead of being taken for "node_exporter
    /// is not installed".
    public func directoryExists(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return errno != ENOENT && errno != ENOTDIR }
        return (st.st_mode & S_IFMT) == S_IFDIR
    }

    public func create(_ path: String, text: String, mode: UInt32) throws(MetricsFileError) {
        if unlink(path) != 0 && errno != ENOENT { throw Self.error("unlink", path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else {
            DescriptorReserve.shared.note(openFailure: errno, path: path)
            throw Self.error("create", path)
        }
        var failure: MetricsFileError?
        // The umask may have taken bits away: the collector runs as prometheus and must read it.
        if fchmod(fd, mode_t(mode)) != 0 { failure = Self.error("chmod", path) }
        if failure == nil {
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = Self.error("write", path)
                    break
                }
                bytes = bytes.dropFirst(n)
            }
        }
        if close(fd) != 0 && failure == nil { failure = Self.error("close", path) }
        if let failure {
            unlink(path)
            throw failure
        }
    }

    public func rename(_ from: String, to: String) throws(MetricsFileError) {
        guard Glibc.rename(from, to) == 0 else { throw Self.error("rename \(from) to", to) }
    }

    public func remove(_ path: String) {
        unlink(path)
    }

    static func error(_ operation: String, _ path: String) -> MetricsFileError {
        let e = errno
        return MetricsFileError(operation: operation, path: path, errno: e, message: String(cString: strerror(e)))
    }
}
