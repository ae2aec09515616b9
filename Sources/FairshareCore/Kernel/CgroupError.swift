#if canImport(Glibc)
import Glibc
#endif

/// A failed cgroup file operation: what was attempted, on which file, with which value, and the
/// errno the kernel gave. `kind` is the single place where errno is classified.
public struct CgroupError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case read, write, mkdir, rmdir, open
    }

    public enum Kind: Sendable, Equatable {
        /// ENOENT, ESRCH: the process or cgroup is gone. Skip quietly.
        case gone
        /// EBUSY: cgroup.procs of a cgroup with controllers in subtree_control (no internal
        /// processes), or rmdir of a populated cgroup. Worth a bounded retry on cgroup.procs.
        case busy
        /// EINVAL: a task too young to be moved, or a value the file does not accept.
        case invalid
        /// EACCES, EPERM, EROFS: report, never crash.
        case permission
        /// EOPNOTSUPP: an invalid domain (threaded subtree) or a controller not enabled.
        case notSupported
        /// ERANGE: a weight outside 1...10000.
        case outOfRange
        case other
    }

    public var operation: Operation
    /// The absolute path of the file or directory.
    public var path: String
    /// The value written, for writes.
    public var value: String?
    public var errno: Int32

    public init(_ operation: Operation, path: String, value: String? = nil, errno: Int32) {
        self.operation = operation
        self.path = path
        self.value = value
        self.errno = errno
    }

    public var kind: Kind {
        switch errno {
        case ENOENT, ESRCH: .gone
        case EBUSY: .busy
        case EINVAL: .invalid
        case EACCES, EPERM, EROFS: .permission
        case EOPNOTSUPP: .notSupported
        case ERANGE: .outOfRange
        default: .other
        }
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        switch operation {
        case .write: return "writing '\(value ?? "")' to \(path): \(reason) (errno \(errno))"
        case .read: return "reading \(path): \(reason) (errno \(errno))"
        case .open: return "opening \(path): \(reason) (errno \(errno))"
        case .mkdir: return "creating cgroup \(path): \(reason) (errno \(errno))"
        case .rmdir: return "removing cgroup \(path): \(reason) (errno \(errno))"
        }
    }
}
