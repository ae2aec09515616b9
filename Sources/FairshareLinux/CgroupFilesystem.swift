import FairshareCore
import FairshareEdge
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The real filesystem. Pointed at a temp dir it also serves as a fake cgroup tree for tests.
public struct LinuxCgroupFilesystem: CgroupFilesystem {
    public let mountPoint: String

    public init(mountPoint: String = "/sys/fs/cgroup") {
        self.mountPoint = mountPoint
    }

    public func read(_ file: ControlFile, of cgroup: CgroupPath) throws(CgroupError) -> String {
        let path = absolutePath(file, of: cgroup)
        do {
            return try readWholeFile(path)
        } catch let e as Errno {
            throw CgroupError(.read, path: path, errno: e.rawValue)
        } catch {
            throw CgroupError(.read, path: path, errno: EIO)
        }
    }

    public func write(_ value: String, to file: ControlFile, of cgroup: CgroupPath) throws(CgroupError) {
        let path = absolutePath(file, of: cgroup)
        do {
            // No O_CREAT: interface files exist or the write is wrong. One write() call: the
            // kernel parses each write as a whole.
            let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.closeOnExec])
            defer { try? fd.close() }
            let bytes = Array(value.utf8)
            let n = try bytes.withUnsafeBytes { try fd.write($0) }
            if n != bytes.count { throw Errno.ioError }
        } catch let e as Errno {
            DescriptorReserve.shared.note(openFailure: e.rawValue, path: path)
            throw CgroupError(.write, path: path, value: value, errno: e.rawValue)
        } catch {
            throw CgroupError(.write, path: path, value: value, errno: EIO)
        }
    }

    public func create(_ cgroup: CgroupPath) throws(CgroupError) {
        let path = absolutePath(cgroup)
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw CgroupError(.mkdir, path: path, errno: errno)
        }
    }

    public func remove(_ cgroup: CgroupPath) throws(CgroupError) {
        let path = absolutePath(cgroup)
        if rmdir(path) != 0 {
            throw CgroupError(.rmdir, path: path, errno: errno)
        }
    }

    public func exists(_ cgroup: CgroupPath) -> Bool {
        var st = stat()
        return stat(absolutePath(cgroup), &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public func children(of cgroup: CgroupPath) throws(CgroupError) -> [String] {
        let path = absolutePath(cgroup)
        guard let entries = DirectoryEntries.read(path) else { throw CgroupError(.open, path: path, errno: errno) }
        return entries.filter(\.isDirectory).map(\.name).sorted()
    }
}

/// The one readdir(3) loop: a directory's entries, without "." and "..".
public enum DirectoryEntries {
    /// Nil when the directory can not be opened (errno says why). A readdir(3) that fails
    /// part way ends the list there: see `list` for a listing that says so.
    public static func read(_ path: String) -> [(name: String, isDirectory: Bool)]? {
        guard let dir = opendir(path) else {
            DescriptorReserve.shared.note(openFailure: errno, path: path)
            return nil
        }
        defer { closedir(dir) }
        var entries: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(dir) {
            if let e = self.entry(entry) { entries.append(e) }
        }
        return entries
    }

    /// Every entry, or why not: opendir(3) or readdir(3) failing, with the path and the errno.
    public static func list(_ path: String) throws(SystemFileError) -> [(name: String, isDirectory: Bool)] {
        guard let dir = opendir(path) else {
            let e = errno
            DescriptorReserve.shared.note(openFailure: e, path: path)
            throw SystemFileError(.list, path: path, errno: e)
        }
        defer { closedir(dir) }
        var entries: [(name: String, isDirectory: Bool)] = []
        while true {
            // readdir(3) returns NULL at the end and on an error; only errno tells them apart.
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw SystemFileError(.list, path: path, errno: errno) }
                return entries
            }
            if let e = self.entry(entry) { entries.append(e) }
        }
    }

    private static func entry(_ entry: UnsafeMutablePointer<dirent>) -> (name: String, isDirectory: Bool)? {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return name == "." || name == ".." ? nil : (name, entry.pointee.d_type == DT_DIR)
    }
}

/// Reads a small kernel file whole (procfs and cgroupfs report size 0, so read until EOF).
func readWholeFile(_ path: String, shortReadIsEOF: Bool = false) throws -> String {
    String(decoding: try readWholeFileBytes(path, shortReadIsEOF: shortReadIsEOF), as: UTF8.self)
}

/// - Parameter shortReadIsEOF: for /proc files the kernel renders whole in one go (stat,
///   status, cgroup: seq_file single_open), a read that returns less than asked for means the
///   end; this saves a second read(2) per file on the agent's hot path. Never for cgroup.procs
///   and other iterated files.
/// - Parameter limit: read no more than this many bytes (the start of a file that may be long).
func readWholeFileBytes(_ path: String, shortReadIsEOF: Bool = false, limit: Int = .max) throws -> [UInt8] {
    let fd = path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
    guard fd >= 0 else {
        let e = errno
        DescriptorReserve.shared.note(openFailure: e, path: path)
        throw Errno(rawValue: e)
    }
    defer { close(fd) }
    // One read usually gets it all (these files are small); a stack buffer avoids an
    // allocation per file on the agent's hot path.
    return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { chunk in
        var out: [UInt8] = []
        while out.count < limit {
            let asked = min(chunk.count, limit - out.count)
            let n = read(fd, chunk.baseAddress, asked)
            if n < 0 {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            if n == 0 { break }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<n]))
            if shortReadIsEOF && n < asked { break }
        }
        return out
    }
}
