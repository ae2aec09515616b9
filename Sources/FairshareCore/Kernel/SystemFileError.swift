#if canImport(Glibc)
import Glibc
#endif

/// A failed access to a kernel or system file outside the cgroup tree (/proc/self/cgroup,
/// /proc/self/mountinfo, /sys/block/...): what was attempted, on which path, and the errno.
/// Pure data, like `CgroupError`; the edge fills it in.
public struct SystemFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        /// open(2) or read(2) of a file.
        case read
        /// opendir(3) or readdir(3) of a directory.
        case list
        /// stat(2) of a path.
        case stat
    }

    public var operation: Operation
    public var path: String
    public var errno: Int32

    public init(_ operation: Operation, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// "cannot read /proc/self/mountinfo: EMFILE (Too many open files)".
    public var description: String {
        let verb = switch operation {
        case .read: "read"
        case .list: "list"
        case .stat: "stat"
        }
        return "cannot \(verb) \(path): \(ErrnoText.describe(errno))"
    }
}

/// errno as people and the journal read it.
public enum ErrnoText {
    /// The symbolic name, "EMFILE"; "errno N" for one not listed here.
    public static func name(_ e: Int32) -> String {
        switch e {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case ESRCH: "ESRCH"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case ENXIO: "ENXIO"
        case E2BIG: "E2BIG"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case ENODEV: "ENODEV"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case EFBIG: "EFBIG"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case ERANGE: "ERANGE"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOTEMPTY: "ENOTEMPTY"
        case ELOOP: "ELOOP"
        case ENOTSOCK: "ENOTSOCK"
        case EPROTOTYPE: "EPROTOTYPE"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EADDRINUSE: "EADDRINUSE"
        case ENOBUFS: "ENOBUFS"
        case ETIMEDOUT: "ETIMEDOUT"
        case ECONNREFUSED: "ECONNREFUSED"
        case EDQUOT: "EDQUOT"
        default: "errno \(e)"
        }
    }

    /// "EMFILE (Too many open files)".
    public static func describe(_ e: Int32) -> String {
        "\(name(e)) (\(String(cString: strerror(e))))"
    }
}
