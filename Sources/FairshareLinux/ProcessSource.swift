import FairshareCore
import FairshareEdge
import SystemPackage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Reads /proc (or a copy of its layout under another root, for tests).
public struct LinuxProcessSource: ProcessSource {
    public let procRoot: String

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    public func scan(details: ProcessDetails) -> [ProcessInfo] {
        listPIDs().compactMap { process($0, details: details) }
    }

    /// The numeric entries of /proc, in order.
    func listPIDs() -> [Int32] {
        (DirectoryEntries.read(procRoot) ?? []).compactMap { Int32($0.name) }.filter { $0 > 0 }.sorted()
    }

    func readStat(_ pid: Int32) -> ProcFormat.Stat? {
        (try? readWholeFile("\(procRoot)/\(pid)/stat", shortReadIsEOF: true)).flatMap(ProcFormat.parseStat)
    }

    public func process(_ pid: Int32) -> ProcessInfo? {
        process(pid, details: .all)
    }

    public func process(_ pid: Int32, details: ProcessDetails) -> ProcessInfo? {
        readStat(pid).flatMap { process(pid, stat: $0, details: details) }
    }

    func process(_ pid: Int32, stat: ProcFormat.Stat, details: ProcessDetails) -> ProcessInfo? {
        let base = "\(procRoot)/\(pid)"
        // stat, cgroup (and status, for the ids) are required; a failure means the process is gone (or hidden).
        if stat.isKernelThread {
            // Never moved: the rest would be read for nothing (most of a small machine's pids).
            return ProcessInfo(pid: pid, parentPID: stat.parentPID, startTime: stat.startTime, comm: stat.comm, cgroup: "/", isKernelThread: true)
        }
        var ids = (uid: UInt32(0), gid: UInt32(0))
        if details.contains(.ids) {
            guard let statusText = try? readWholeFile(base + "/status", shortReadIsEOF: true), let read = ProcFormat.parseStatusIDs(statusText)
            else { return nil }
            ids = (read.uid, read.gid)
        }
        guard let cgroupText = try? readWholeFile(base + "/cgroup", shortReadIsEOF: true) else { return nil }
        let cmdline = details.contains(.argv) ? (try? readCmdlinePrefix(base + "/cmdline")).map(ProcFormat.parseCmdline) ?? [] : []
        return ProcessInfo(
            pid: pid, parentPID: stat.parentPID, startTime: stat.startTime, uid: ids.uid, gid: ids.gid,
            comm: stat.comm, exe: details.contains(.exe) ? readLink(base + "/exe") : nil, argv: cmdline,
            cgroup: ProcFormat.parseCgroupV2Path(cgroupText) ?? "/",
            isKernelThread: false
        )
    }

    public func cgroup(of pid: Int32) -> String? {
        (try? readWholeFile("\(procRoot)/\(pid)/cgroup")).flatMap(ProcFormat.parseCgroupV2Path)
    }

    /// The start of /proc/PID/cmdline: the bytes classification matches
    /// (`ProcessInfo.cmdlineMatchBytes`) and one more, which tells a cut line from a whole one.
    /// Whatever the process's arguments, a read costs the same.
    func readCmdlinePrefix(_ path: String) throws -> [UInt8] {
        try readWholeFileBytes(path, limit: ProcessInfo.cmdlineMatchBytes + 1)
    }

    private func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buf, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Users and groups by name, from the system's databases (NSS).
public enum AccountDatabase {
    public static func uid(ofUser name: String) -> UInt32? {
        guard let pw = getpwnam(name) else { return nil }
        return pw.pointee.pw_uid
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

    public func scan(details: ProcessDetails) -> [ProcessInfo] {
        cache.withLock { c in
            c.pass += 1
            let full = c.pass % fullRefreshEvery == 0 || c.details != details
            c.details = details
            var seen: [Int32: ProcessInfo] = [:]
            var out: [ProcessInfo] = []
            for pid in base.listPIDs() {
                if !full, let old = c.known[pid], old.isKernelThread {
                    // Kernel threads never turn into user processes; a recycled pid is caught
                    // at the next full refresh. On a small machine they are most of /proc.
                    seen[pid] = old
                    out.append(old)
                    continue
                }
                guard let stat = base.readStat(pid) else { continue }
                var info: ProcessInfo
                if !full, let old = c.known[pid], old.startTime == stat.startTime, old.comm == stat.comm {
                    info = old
                    info.parentPID = stat.parentPID
                } else {
                    guard let fresh = base.process(pid, stat: stat, details: details) else { continue }
                    info = fresh
                }
                seen[pid] = info
                out.append(info)
            }
            c.known = seen
            return out
        }
    }

    public func process(_ pid: Int32) -> ProcessInfo? { base.process(pid) }
    public func process(_ pid: Int32, details: ProcessDetails) -> ProcessInfo? { base.process(pid, details: details) }
    public func cgroup(of pid: Int32) -> String? { base.cgroup(of: pid) }

    public func invalidate(_ pid: Int32) {
        _ = cache.withLock { $0.known.removeValue(forKey: pid) }
    }
}
