import FairshareCore
import FairshareEdge
import SystemPackage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Reads /proc (or a copy of its layout under another root, for tests). A process whose files
/// fail with ENOENT or ESRCH has exited; any other failure (EMFILE, ENOMEM, EACCES, an unparsable
/// file) makes it unreadable, never absent: the agent leaves it as it is.
public struct LinuxProcessSource: ProcessSource {
    public let procRoot: String

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    public func scan(details: ProcessDetails) -> Reading<ProcessScan> {
        let pids: [Int32]
        do throws(ProcReadError) { pids = try listPIDs() } catch { return .unavailable(error.description) }
        var scan = ProcessScan([])
        for pid in pids { scan.add(pid, lookup(pid, details: details)) }
        return .value(scan)
    }

    /// The numeric entries of /proc, in order.
    func listPIDs() throws(ProcReadError) -> [Int32] {
        guard let entries = DirectoryEntries.read(procRoot) else { throw ProcReadError(path: procRoot, errno: errno) }
        return entries.compactMap { Int32($0.name) }.filter { $0 > 0 }.sorted()
    }

    func readStat(_ pid: Int32) -> Result<ProcFormat.Stat, ProcessFailure> {
        let path = "\(procRoot)/\(pid)/stat"
        return read(path, shortReadIsEOF: true).flatMap { text in
            ProcFormat.parseStat(text).map { .success($0) } ?? .failure(.unreadable("cannot parse \(path)"))
        }
    }

    public func lookup(_ pid: Int32, details: ProcessDetails) -> ProcessLookup {
        switch readStat(pid).flatMap({ process(pid, stat: $0, details: details) }) {
        case .success(let p): .found(p)
        case .failure(.gone): .gone
        case .failure(.unreadable(let why)): .unreadable(why)
        }
    }

    func process(_ pid: Int32, stat: ProcFormat.Stat, details: ProcessDetails) -> Result<ProcessInfo, ProcessFailure> {
        let base = "\(procRoot)/\(pid)"
        // stat, cgroup (and status, for the ids) are required.
        if stat.isKernelThread {
            // Never moved: the rest would be read for nothing (most of a small machine's pids).
            return .success(ProcessInfo(pid: pid, parentPID: stat.parentPID, startTime: stat.startTime, comm: stat.comm, cgroup: "/", isKernelThread: true))
        }
        var ids = (uid: UInt32(0), gid: UInt32(0))
        if details.contains(.ids) {
            switch read(base + "/status", shortReadIsEOF: true) {
            case .failure(let f): return .failure(f)
            case .success(let text):
                guard let read = ProcFormat.parseStatusIDs(text) else { return .failure(.unreadable("cannot parse the Uid/Gid lines of \(base)/status")) }
                ids = (read.uid, read.gid)
            }
        }
        let cgroup: String
        switch read(base + "/cgroup", shortReadIsEOF: true) {
        case .failure(let f): return .failure(f)
        case .success(let text):
            // No "0::/path" line, or a path outside this cgroup namespace ("/../.."): the process
            // can not be placed, and its origin would be a guess.
            guard let path = ProcFormat.parseCgroupV2Path(text) else {
                return .failure(.unreadable("cannot parse \(base)/cgroup: no cgroup v2 path in \(String(reflecting: String(text.prefix(80))))"))
            }
            cgroup = path
        }
        var cmdline: [String] = []
        if details.contains(.argv) {
            do { cmdline = ProcFormat.parseCmdline(try readCmdlinePrefix(base + "/cmdline")) } catch {
                return .failure(ProcessFailure(ProcReadError(path: base + "/cmdline", errno: error.rawValue)))
            }
        }
        return .success(ProcessInfo(
            pid: pid, parentPID: stat.parentPID, startTime: stat.startTime, uid: ids.uid, gid: ids.gid,
            comm: stat.comm, exe: details.contains(.exe) ? readLink(base + "/exe") : nil, argv: cmdline,
            cgroup: cgroup, isKernelThread: false
        ))
    }

    private func read(_ path: String, shortReadIsEOF: Bool) -> Result<String, ProcessFailure> {
        do {
            return .success(try readWholeFile(path, shortReadIsEOF: shortReadIsEOF))
        } catch let e as Errno {
            return .failure(ProcessFailure(ProcReadError(path: path, errno: e.rawValue)))
        } catch {
            return .failure(.unreadable("cannot read \(path): \(error)"))
        }
    }

    /// The start of /proc/PID/cmdline: the bytes classification matches
    /// (`ProcessInfo.cmdlineMatchBytes`) and one more, which tells a cut line from a whole one.
    /// Whatever the process's arguments, a read costs the same.
    func readCmdlinePrefix(_ path: String) throws(Errno) -> [UInt8] {
        do { return try readWholeFileBytes(path, limit: ProcessInfo.cmdlineMatchBytes + 1) } catch let e as Errno { throw e } catch { throw .ioError }
    }

    /// The exe link's target; nil for a process without one (a kernel thread, a zombie) or when
    /// it can not be read: an exe rule then does not match, nothing else follows from it.
    private func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buf, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A /proc file that could not be read: its path and errno.
public struct ProcReadError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var errno: Int32

    /// The process exited (ENOENT, ESRCH): not an error of the agent's.
    public var meansGone: Bool { errno == ENOENT || errno == ESRCH }
    public var description: String { "cannot read \(path): \(ErrnoText.describe(errno))" }
}

/// Why one process could not be read.
enum ProcessFailure: Error {
    case gone
    case unreadable(String)

    init(_ error: ProcReadError) {
        self = error.meansGone ? .gone : .unreadable(error.description)
    }
}

extension ProcessScan {
    /// Adds what reading one pid found.
    mutating func add(_ pid: Int32, _ lookup: ProcessLookup) {
        switch lookup {
        case .found(let p): processes.append(p)
        case .gone: break
        case .unreadable(let why):
            unreadable.insert(pid)
            if firstProblem == nil { firstProblem = why }
        }
    }
}

/// Users and groups by name, from the system's databases (NSS).
public enum AccountDatabase {
    public static func uid(ofUser name: String) -> UInt32? {
        guard let pw = getpwnam(name) else { return nil }
        return pw.pointee.pw_uid
    }

    /// The name of a uid (getpwuid_r: reentrant, the agent asks from its loop while the control
    /// socket's tasks run), nil when it has none or the entry does not fit 64 KiB.
    public static func name(ofUID uid: UInt32) -> String? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 65536)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &found) == 0, found != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }

    public static func gid(ofGroup name: String) -> UInt32? {
        guard let gr = getgrnam(name) else { return nil }
        return gr.pointee.gr_gid
    }
}

/// Finds the cgroup2 mount and the agent's own cgroup.
public enum CgroupEnvironment {
    /// The cgroup2 mount: /sys/fs/cgroup if it is one, else the first cgroup2 mount (on a hybrid
    /// host, /sys/fs/cgroup/unified).
    public static func mountPoint(mountinfo: String) throws(CgroupSetupError) -> String {
        let mounts = MountInfo.cgroup2MountPoints(mountinfo)
        if mounts.contains("/sys/fs/cgroup") { return "/sys/fs/cgroup" }
        guard let first = mounts.first else { throw .noCgroup2Mount }
        return first
    }

    /// Resolves the managed root from the setting: "auto" = the agent's own cgroup (which must
    /// not be the hierarchy's root), a path = that path, which must lie beneath the mount.
    public static func root(setting: CgroupRootSetting, mountPoint: String, selfCgroup: String) throws(CgroupSetupError) -> CgroupPath {
        switch setting {
        case .auto:
            guard let own = CgroupPath(selfCgroup), !own.isRoot else { throw .autoRootUnavailable(selfCgroup: selfCgroup) }
            // Restarted agents find themselves in their own leaf: the root is its parent.
            if own.name == CgroupTree.agentLeafName, let parent = own.parent { return parent }
            // systemd runs a delegated unit's ExecReload= and ExecStopPost= in its ".control" child.
            if own.name == CgroupTree.systemdControlLeafName, let parent = own.parent { return parent }
            return own
        case .path(let absolute):
            let mount = mountPoint.hasSuffix("/") ? String(mountPoint.dropLast()) : mountPoint
            guard absolute == mount || absolute.hasPrefix(mount + "/") else {
                throw .rootOutsideMount(root: absolute, mountPoint: mountPoint)
            }
            let relative = absolute == mount ? "/" : String(absolute.dropFirst(mount.count))
            guard let path = CgroupPath(relative), !path.isRoot else {
                throw .rootOutsideMount(root: absolute, mountPoint: mountPoint)
            }
            return path
        }
    }
}

/// A /proc scan that remembers what it read. A process already seen, with the same start time
/// and name, costs one read of /proc/PID/stat per pass instead of three to five files, a
/// kernel thread already seen costs nothing; every
/// `fullRefreshEvery` passes everything is read again, to catch what changes without an exec
/// (a daemon's setuid, a move by another tool). The agent invalidates what it moves itself.
public final class IncrementalProcessSource: ProcessSource {
    private struct Cache {
        var known: [Int32: ProcessInfo] = [:]
        var details: ProcessDetails = []
        var pass = 0
    }

    let base: LinuxProcessSource
    public let fullRefreshEvery: Int
    private let cache = Mutex(Cache())

    public init(base: LinuxProcessSource = LinuxProcessSource(), fullRefreshEvery: Int = 10) {
        self.base = base
        self.fullRefreshEvery = max(1, fullRefreshEvery)
    }

    public func scan(details: ProcessDetails) -> Reading<ProcessScan> {
        cache.withLock { c in
            let pids: [Int32]
            do throws(ProcReadError) { pids = try base.listPIDs() } catch { return .unavailable(error.description) }
            c.pass += 1
            let full = c.pass % fullRefreshEvery == 0 || c.details != details
            c.details = details
            var seen: [Int32: ProcessInfo] = [:]
            var scan = ProcessScan([])
            for pid in pids {
                if !full, let old = c.known[pid], old.isKernelThread {
                    // Kernel threads never turn into user processes; a recycled pid is caught
                    // at the next full refresh. On a small machine they are most of /proc.
                    seen[pid] = old
                    scan.add(pid, .found(old))
                    continue
                }
                let read: Result<ProcessInfo, ProcessFailure> = base.readStat(pid).flatMap { stat in
                    if !full, var old = c.known[pid], old.startTime == stat.startTime, old.comm == stat.comm {
                        old.parentPID = stat.parentPID
                        return .success(old)
                    }
                    return base.process(pid, stat: stat, details: details)
                }
                switch read {
                case .success(let info):
                    seen[pid] = info
                    scan.add(pid, .found(info))
                case .failure(.gone):
                    continue
                case .failure(.unreadable(let why)):
                    scan.add(pid, .unreadable(why))
                }
            }
            c.known = seen
            return .value(scan)
        }
    }

    public func lookup(_ pid: Int32, details: ProcessDetails) -> ProcessLookup { base.lookup(pid, details: details) }

    public func invalidate(_ pid: Int32) {
        _ = cache.withLock { $0.known.removeValue(forKey: pid) }
    }
}
