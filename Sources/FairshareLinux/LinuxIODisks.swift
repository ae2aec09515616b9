import FairshareCore
import FairshareEdge

#if canImport(Glibc)
import Glibc
#endif

/// The disks under /sys/block that are hardware (they have a `device` link: loop, ram, zram,
/// dm and md devices have none and take their io control from the disks beneath), and the
/// cgroup root's io.cost.qos and io.cost.model. At most `IODisks.maxDevices` disks are read,
/// in name order; each file at most 4 KiB (io.cost's at most 64 KiB).
public struct LinuxIODisks: IODiskSource {
    public let sysBlock: String
    public let cgroupMount: String

    public init(sysBlock: String = "/sys/block", cgroupMount: String = "/sys/fs/cgroup") {
        self.sysBlock = sysBlock
        self.cgroupMount = cgroupMount
    }

    public func read() -> IODisks {
        let names = (DirectoryEntries.read(sysBlock) ?? []).map(\.name).filter { name in
            var st = stat()
            return !name.hasPrefix(".") && stat("\(sysBlock)/\(name)/device", &st) == 0
        }.sorted()
        let kept = names.prefix(IODisks.maxDevices)
        let devices = kept.compactMap { name -> IODevice? in
            guard let dev = Self.text("\(sysBlock)/\(name)/dev", limit: 64) else { return nil }
            let rotational = Self.text("\(sysBlock)/\(name)/queue/rotational", limit: 16).flatMap { $0 == "1" ? true : $0 == "0" ? false : nil }
            return IODevice(name: name, device: dev, schedulers: Self.text("\(sysBlock)/\(name)/queue/scheduler", limit: 4096), rotational: rotational)
        }
        return IODisks(devices: devices, omitted: names.count - kept.count,
                       costQoS: Self.text("\(cgroupMount)/io.cost.qos", limit: 65536),
                       costModel: Self.text("\(cgroupMount)/io.cost.model", limit: 65536))
    }

    /// The file's text without the trailing newline; nil when it can not be read.
    static func text(_ path: String, limit: Int) -> String? {
        guard let bytes = try? readWholeFileBytes(path, limit: limit) else { return nil }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }
}
