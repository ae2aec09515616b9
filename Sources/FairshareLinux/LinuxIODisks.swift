import FairshareCore
import FairshareEdge
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The disks under /sys/block that are hardware (they have a `device` link: loop, ram, zram,
/// dm and md devices have none and take their io control from the disks beneath), and the
/// cgroup root's io.cost.qos and io.cost.model. At most `IODisks.maxDevices` disks are read,
/// in name order; each file at most 4 KiB (io.cost's at most 64 KiB).
///
/// A file that does not exist (ENOENT) is what the kernel has: a disk without a `device` link
/// is no hardware, a disk whose `dev` vanished was removed since the listing (left out), a
/// missing queue file or io.cost file reads as unknown (a kernel without io.cost has none).
/// Any other failure (the directory not listable, EACCES, EIO, EMFILE) makes the whole reading
/// unavailable, naming the file and the errno: the agent then keeps its last good reading
/// rather than taking one disk's unreadable scheduler for "not BFQ".
public struct LinuxIODisks: IODiskSource {
    public let sysBlock: String
    public let cgroupMount: String

    public init(sysBlock: String = "/sys/block", cgroupMount: String = "/sys/fs/cgroup") {
        self.sysBlock = sysBlock
        self.cgroupMount = cgroupMount
    }

    public func read() -> Reading<IODisks> {
        do throws(SystemFileError) { return .value(try readDisks()) } catch { return .unavailable(error.description) }
    }

    /// The reading, or the first file that could not be read.
    public func readDisks() throws(SystemFileError) -> IODisks {
        var names: [String] = []
        for entry in try DirectoryEntries.list(sysBlock) where !entry.name.hasPrefix(".") {
            if try Self.exists("\(sysBlock)/\(entry.name)/device") { names.append(entry.name) }
        }
        names.sort()
        let kept = names.prefix(IODisks.maxDevices)
        var devices: [IODevice] = []
        for name in kept {
            guard let dev = try Self.text("\(sysBlock)/\(name)/dev", limit: 64) else { continue }
            let rotational = try Self.text("\(sysBlock)/\(name)/queue/rotational", limit: 16).flatMap { $0 == "1" ? true : $0 == "0" ? false : nil }
            let schedulers = try Self.text("\(sysBlock)/\(name)/queue/scheduler", limit: 4096)
            devices.append(IODevice(name: name, device: dev, schedulers: schedulers, rotational: rotational))
        }
        return IODisks(devices: devices, omitted: names.count - kept.count,
                       costQoS: try Self.text("\(cgroupMount)/io.cost.qos", limit: 65536),
                       costModel: try Self.text("\(cgroupMount)/io.cost.model", limit: 65536))
    }

    /// Whether the path exists (stat(2) follows the link); ENOENT is "no", any other error throws.
    static func exists(_ path: String) throws(SystemFileError) -> Bool {
        var st = stat()
        if stat(path, &st) == 0 { return true }
        let e = errno
        if e == ENOENT { return false }
        throw SystemFileError(.stat, path: path, errno: e)
    }

    /// The file's text without the trailing newline; nil when it does not exist (ENOENT); any
    /// other failure throws.
    static func text(_ path: String, limit: Int) throws(SystemFileError) -> String? {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFileBytes(path, limit: limit)
        } catch let e as Errno {
            if e == .noSuchFileOrDirectory { return nil }
            throw SystemFileError(.read, path: path, errno: e.rawValue)
        } catch {
            throw SystemFileError(.read, path: path, errno: EIO)
        }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }
}
