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

    @Test func hardwareDisksWithTheirSchedulersAndIOCostsFiles() throws {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        mkdir("\(root)/cgroup", 0o755)
        Self.disk(root, "vda", dev: "254:0", scheduler: "mq-deadline kyber [bfq] none")
        Self.disk(root, "sda", dev: "8:0", scheduler: "[mq-deadline] none", rotational: "0")
        Self.disk(root, "loop0", dev: "7:0", scheduler: "none", hardware: false)
        Self.write("\(root)/cgroup/io.cost.qos", "254:0 enable=1 ctrl=user rpct=0.00 rlat=250000 wpct=0.00 wlat=250000 min=100.00 max=100.00\n")
        Self.write("\(root)/cgroup/io.cost.model", "254:0 ctrl=user model=linear rbps=1 rseqiops=1 rrandiops=1 wbps=1 wseqiops=1 wrandiops=1\n")

        let disks = try #require(LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: "\(root)/cgroup").read().value)
        #expect(disks.devices == [
            IODevice(name: "sda", device: "8:0", schedulers: "[mq-deadline] none", rotational: false),
            IODevice(name: "vda", device: "254:0", schedulers: "mq-deadline kyber [bfq] none", rotational: true),
        ], "loop0 has no device link: left out")
        #expect(disks.omitted == 0)
        #expect(disks.bfqActive)
        let statuses = IOShares.statuses(disks)
        #expect(statuses.map(\.through) == [.none, .both])
    }

    @Test func withoutIOCostFilesAndBeyondTheCap() throws {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        for i in 0..<(IODisks.maxDevices + 3) {
            Self.disk(root, "sd\(1000 + i)", dev: "8:\(i)", scheduler: "[none]")
        }
        let disks = try #require(LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: "\(root)/no-cgroup").read().value)
        #expect(disks.devices.count == IODisks.maxDevices)
        #expect(disks.omitted == 3)
        #expect(disks.costQoS == nil && disks.costModel == nil)
        #expect(IOShares.statuses(disks).first?.why.contains("io.cost is not available") == true)
    }

    // MARK: What can not be read

    /// Before, every one of these read as "no disks" or as an unknown scheduler: the agent then
    /// forgot the BFQ weights and told "no disk found under /sys/block".
    @Test func anUnlistableBlockDirectoryIsUnavailableNotNoDisks() {
        let missing = "/nonexistent-\(getpid())"
        let reading = LinuxIODisks(sysBlock: missing, cgroupMount: "/nonexistent").read()
        #expect(reading.unavailableReason == "cannot list \(missing): ENOENT (No such file or directory)")

        let root = Self.tempDir()
        Self.write("\(root)/block", "not a directory\n")
        #expect(LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: root).read().unavailableReason
            == "cannot list \(root)/block: ENOTDIR (Not a directory)")
    }

    @Test func aDisksFileThatFailsMakesTheReadingUnavailableNamingTheFile() {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        Self.disk(root, "vda", dev: "254:0", scheduler: "[bfq] none")
        Self.disk(root, "vdb", dev: "254:16", scheduler: "[none]")
        // read(2) of a directory fails with EISDIR: an injected errno on one disk's scheduler.
        unlink("\(root)/block/vdb/queue/scheduler")
        mkdir("\(root)/block/vdb/queue/scheduler", 0o755)
        #expect(LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: root).read().unavailableReason
            == "cannot read \(root)/block/vdb/queue/scheduler: EISDIR (Is a directory)")
    }

    @Test func aDeviceLinkThatCanNotBeFollowedIsNotTakenForVirtual() {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        Self.disk(root, "vda", dev: "254:0", scheduler: "[bfq] none", hardware: false)
        symlink("\(root)/block/vda/device", "\(root)/block/vda/device")
        #expect(LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: root).read().unavailableReason
            == "cannot stat \(root)/block/vda/device: ELOOP (Too many levels of symbolic links)")
    }

    @Test func anIOCostFileThatFailsIsNotTakenForAKernelWithoutIOCost() {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        mkdir("\(root)/cgroup", 0o755)
        Self.disk(root, "vda", dev: "254:0", scheduler: "[none]")
        mkdir("\(root)/cgroup/io.cost.qos", 0o755)
        #expect(LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: "\(root)/cgroup").read().unavailableReason
            == "cannot read \(root)/cgroup/io.cost.qos: EISDIR (Is a directory)")
    }

    /// ENOENT is what the kernel has: a disk removed since the listing is left out, a missing
    /// queue file is unknown, missing io.cost files are a kernel without io.cost.
    @Test func filesThatDoNotExistAreWhatTheKernelHas() throws {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        Self.disk(root, "vda", dev: "254:0", scheduler: "[bfq] none")
        Self.disk(root, "vdb", dev: "254:16", scheduler: "[none]")
        unlink("\(root)/block/vdb/dev")
        unlink("\(root)/block/vda/queue/rotational")
        let disks = try #require(LinuxIODisks(sysBlock: "\(root)/block", cgroupMount: "\(root)/no-cgroup").read().value)
        #expect(disks.devices == [IODevice(name: "vda", device: "254:0", schedulers: "[bfq] none", rotational: nil)])
        #expect(disks.costQoS == nil && disks.costModel == nil)
    }

    /// `fairshare check`'s reading: an unreadable mountinfo is said, not taken for /sys/fs/cgroup.
    @Test func checksReadingSaysWhenMountinfoCanNotBeRead() throws {
        let root = Self.tempDir()
        mkdir("\(root)/block", 0o755)
        Self.disk(root, "vda", dev: "254:0", scheduler: "[bfq] none")
        let unreadable = LinuxIODisks.readThisMachine(mountinfo: root, sysBlock: "\(root)/block")
        #expect(unreadable.unavailableReason == "cannot read \(root): EISDIR (Is a directory); without it the cgroup2 mount is not known")
        Self.write("\(root)/mountinfo", "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n")
        let noCgroup2 = try #require(LinuxIODisks.readThisMachine(mountinfo: "\(root)/mountinfo", sysBlock: "\(root)/block").value)
        #expect(noCgroup2.devices.map(\.name) == ["vda"], "no cgroup2 mount: the disks are still shown")
        #expect(IOShares.lines(LinuxIODisks.readThisMachine(mountinfo: "\(root)/mountinfo", sysBlock: "\(root)/nothing").map(IOShares.statuses))
            == "io shares: not known on this machine, the disks could not be read: cannot list \(root)/nothing: ENOENT (No such file or directory)\n")
    }
}
