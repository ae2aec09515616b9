import FairshareCore
import FairshareLinux
import FairshareTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What `run`, `recover` and `check` read about this process first (/proc/self/mountinfo,
/// /proc/self/cgroup), with real failing reads on a temp dir (a missing file: ENOENT; a
/// directory: EISDIR). Before, a failed read became an empty text: "no cgroup2 mount", or the
/// root cgroup "/" (a `recover` would have handed processes to the wrong place).
@Suite struct SetupFileTests {
    static func tempDir() -> String {
        var template = Array("/tmp/fairshare-setup-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!)
    }

    static func write(_ path: String, _ text: String) {
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
    }

    @Test func anUnreadableMountinfoIsNotNoCgroup2Mount() {
        let dir = Self.tempDir()
        #expect {
            try CgroupEnvironment.mountPointOfThisProcess(mountinfo: dir)
        } throws: { error in
            guard case .unreadable(let e, _)? = error as? CgroupSetupError else { return false }
            return e == SystemFileError(.read, path: dir, errno: EISDIR)
                && "\(error)" == "cannot read \(dir): EISDIR (Is a directory); without it the cgroup2 mount is not known"
        }
        #expect {
            try CgroupEnvironment.mountPointOfThisProcess(mountinfo: dir + "/mountinfo")
        } throws: { "\($0)".hasPrefix("cannot read \(dir)/mountinfo: ENOENT (No such file or directory)") }
    }

    @Test func aReadableMountinfoWithoutCgroup2IsStillNoCgroup2Mount() throws {
        let dir = Self.tempDir()
        Self.write(dir + "/mountinfo", "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n")
        #expect {
            try CgroupEnvironment.mountPointOfThisProcess(mountinfo: dir + "/mountinfo")
        } throws: { error in
            guard case .noCgroup2Mount? = error as? CgroupSetupError else { return false }
            return true
        }
        Self.write(dir + "/mountinfo", "36 25 0:31 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n")
        #expect(try CgroupEnvironment.mountPointOfThisProcess(mountinfo: dir + "/mountinfo") == "/sys/fs/cgroup")
    }

    @Test func anUnreadableOwnCgroupIsAnErrorNotTheRoot() {
        let dir = Self.tempDir()
        #expect {
            try CgroupEnvironment.cgroupOfThisProcess(procSelfCgroup: dir + "/cgroup")
        } throws: { error in
            guard case .unreadable(let e, _)? = error as? CgroupSetupError else { return false }
            return e.errno == ENOENT && e.path == dir + "/cgroup"
                && "\(error)" == "cannot read \(dir)/cgroup: ENOENT (No such file or directory); without it this process's own cgroup is not known"
        }
    }

    @Test(arguments: ["", "1:name=systemd:/user.slice\n", "0::\n", "garbage"])
    func anOwnCgroupWithoutAV2LineIsAnError(_ text: String) {
        let dir = Self.tempDir()
        Self.write(dir + "/cgroup", text)
        #expect {
            try CgroupEnvironment.cgroupOfThisProcess(procSelfCgroup: dir + "/cgroup")
        } throws: { error in
            guard case .noCgroup2Line(let path, _)? = error as? CgroupSetupError else { return false }
            return path == dir + "/cgroup" && "\(error)".contains("has no cgroup v2 line")
        }
    }

    @Test func theOwnCgroupIsTheV2Line() throws {
        let dir = Self.tempDir()
        Self.write(dir + "/cgroup", "1:name=systemd:/x\n0::/fairshare.slice/fairshare.service/.control\n")
        #expect(try CgroupEnvironment.cgroupOfThisProcess(procSelfCgroup: dir + "/cgroup") == "/fairshare.slice/fairshare.service/.control")
        #expect(try CgroupEnvironment.cgroupOfThisProcess().hasPrefix("/"), "this process's own, from /proc")
    }

    @Test func aDirectoryListingThatFailsSaysWhereAndWhy() throws {
        let dir = Self.tempDir()
        Self.write(dir + "/file", "x")
        #expect(throws: SystemFileError(.list, path: dir + "/file", errno: ENOTDIR)) { try DirectoryEntries.list(dir + "/file") }
        #expect(throws: SystemFileError(.list, path: dir + "/none", errno: ENOENT)) { try DirectoryEntries.list(dir + "/none") }
        mkdir(dir + "/sub", 0o755)
        #expect(try DirectoryEntries.list(dir).map(\.name).sorted() == ["file", "sub"])
    }

    /// The agent's own leaf gets cpu.weight 10000 so it never loses to its groups; before, a
    /// failed write was dropped (`try?`) and the agent ran at the default weight unsaid.
    @Test func aFailedWeightOnTheAgentsLeafIsSaid() throws {
        let k = FakeKernel()
        k.makeCgroup("/", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare")
        k.spawn(ProcessInfo(pid: 50, parentPID: 1, startTime: 1, comm: "fairshare", cgroup: "/fairshare"))
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        k.inject(errno: EACCES, file: .cpuWeight, cgroup: tree.agentLeaf.description, operation: .write)
        let notes = try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/fairshare"))
        let warning = notes.first { $0.hasPrefix("warning: ") }
        #expect(warning == "warning: writing '10000' to \(tree.fs.absolutePath(.cpuWeight, of: tree.agentLeaf)): Permission denied (errno 13): the agent competes with its groups at the leaf's weight",
                "\(notes)")
    }
}
