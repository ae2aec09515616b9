import FairshareCore
import FairshareLinux
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The disks port on a sysfs-shaped temp tree: hardware disks only (a `device` link), each
/// disk's files as the kernel writes them (trailing newline), io.cost's root files, the cap.
@Suite struct LinuxIODisksTests {
    static func tempDir() -> String {
        var template = Array("/tmp/fairshare-disks-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!)
    }

    static func write(_ path: String, _ text: String) {
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
    }

    /// /sys/block/NAME with dev, queue/scheduler, queue/rotational and, for hardware, a device link.
    static func disk(_ root: String, _ name: String, dev: String, scheduler: String, rotational: String = "1", hardware: Bool = true) {
        mkdir("\(root)/block/\(name)", 0o755)
        mkdir("\(root)/block/\(name)/queue", 0o755)
        write("\(root)/block/\(name)/dev", dev + "\n")
        write("\(root)/block/\(name)/queue/scheduler", scheduler + "\n")
        write("\(root)/block/\(name)/queue/rotational", rotational + "\n")
        if hardware {
            mkdir("\(root)/devices-\(name)", 0o755)
            symlink("\(root)/devices-\(name)", "\(root)/block/\(name)/device")
        }
    }

    @Test func hardwareDisksWithTheirSchedulersAndIOCostsFiles() {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        mkdir("\(root)/cgroup", 0o755)
        Self.disk(root, "vda", dev: "254:0", scheduler: "mq-deadline kyber [bfq] none")
        Self.disk(root, "sda", dev: "8:0", scheduler: "[mq-deadline] none", rotational: "0")
        Self.disk(root, "loop0", dev: "7:0", scheduler: "none", hardware: false)
        Self.write("\(root)/cgroup/io.cost.qos", "254:0 enable=1 ctrl=user rpct=0.00 rlat=250000 wpct=0.00 wlat=250000 min=100.00 max=100.00\n")
        Self.write("\(root)/cgroup/io.cost.model", "254:0 ctrl=user model=linear rbps=1 rseqiops=1 rrandiops=1 wbps=1 wseqiops=1 wrandiops=1\n")

        let disks = LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: "\(root)/cgroup").read()
        #expect(disks.devices == [
            IODevice(name: "sda", device: "8:0", schedulers: "[mq-deadline] none", rotational: false),
            IODevice(name: "vda", device: "254:0", schedulers: "mq-deadline kyber [bfq] none", rotational: true),
        ], "loop0 has no device link: left out")
        #expect(disks.omitted == 0)
        #expect(disks.bfqActive)
        let statuses = IOShares.statuses(disks)
        #expect(statuses.map(\.through) == [.none, .both])
    }

    @Test func withoutIOCostFilesAndBeyondTheCap() {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        for i in 0..<(IODisks.maxDevices + 3) {
            Self.disk(root, "sd\(1000 + i)", dev: "8:\(i)", scheduler: "[none]")
        }
        let disks = LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: "\(root)/no-cgroup").read()
        #expect(disks.devices.count == IODisks.maxDevices)
        #expect(disks.omitted == 3)
        #expect(disks.costQoS == nil && disks.costModel == nil)
        #expect(IOShares.statuses(disks).first?.why.contains("io.cost is not available") == true)
    }

    @Test func noBlockDirectoryMeansNoDisks() {
        let disks = LinuxIODisks(sysBlock: "/nonexistent-\(getpid())", cgroupMount: "/nonexistent").read()
        #expect(disks.devices.isEmpty && disks.omitted == 0)
    }
}
