import FairshareCore
import FairshareEdge
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What `run`, `recover` and `check` read about this process before anything else: where
/// cgroup2 is mounted and which cgroup the process is in. A file that can not be read is an
/// error naming it and the errno, never an empty text that would read as "no cgroup2 mount"
/// or as the root cgroup "/".
extension CgroupEnvironment {
    /// The cgroup2 mount as this process sees it (/proc/self/mountinfo).
    public static func mountPointOfThisProcess(mountinfo path: String = "/proc/self/mountinfo") throws(CgroupSetupError) -> String {
        try mountPoint(mountinfo: readSetupFile(path, needed: "the cgroup2 mount"))
    }

    /// This process's cgroup v2 path, e.g. "/fairshare.slice/fairshare.service/.control"
    /// (/proc/self/cgroup's "0::" line).
    public static func cgroupOfThisProcess(procSelfCgroup path: String = "/proc/self/cgroup") throws(CgroupSetupError) -> String {
        let text = try readSetupFile(path, needed: "this process's own cgroup")
        guard let own = ProcFormat.parseCgroupV2Path(text), own.hasPrefix("/") else { throw .noCgroup2Line(path: path, text: text) }
        return own
    }

    static func readSetupFile(_ path: String, needed: String) throws(CgroupSetupError) -> String {
        do {
            return try readWholeFile(path)
        } catch let e as Errno {
            throw .unreadable(SystemFileError(.read, path: path, errno: e.rawValue), needed: needed)
        } catch {
            throw .unreadable(SystemFileError(.read, path: path, errno: EIO), needed: needed)
        }
    }
}

extension LinuxIODisks {
    /// This machine's disks as `fairshare check` reads them, without an agent: io.cost's files at
    /// the cgroup2 mount, or at /sys/fs/cgroup when none is mounted (none are found there, and
    /// each disk says so). Unavailable when /proc/self/mountinfo or the disks can not be read.
    public static func readThisMachine(mountinfo: String = "/proc/self/mountinfo", sysBlock: String = "/sys/block") -> Reading<IODisks> {
        let mount: String
        do throws(CgroupSetupError) {
            mount = try CgroupEnvironment.mountPointOfThisProcess(mountinfo: mountinfo)
        } catch {
            guard case .noCgroup2Mount = error else { return .unavailable(error.description) }
            mount = "/sys/fs/cgroup"
        }
        return LinuxIODisks(sysBlock: sysBlock, cgroupMount: mount).read()
    }
}
