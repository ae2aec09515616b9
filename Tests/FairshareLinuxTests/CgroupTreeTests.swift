import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CgroupPathTests {
    @Test(arguments: ["/", "/a", "/system.slice/fairshare.service", "/user.slice/user-1000.slice/session-3.scope"])
    func valid(_ text: String) throws {
        let p = try #require(CgroupPath(text))
        #expect(p.description == text)
    }

    @Test(arguments: ["", "a/b", "/a/../b", "/..", "/a/./b", "/a//b", "/a/", "/a\0b"])
    func invalid(_ text: String) {
        #expect(CgroupPath(text) == nil)
    }

    @Test func appendingRefusesEscapes() {
        #expect(CgroupPath.root.appending("..") == nil)
        #expect(CgroupPath.root.appending("a/b") == nil)
        #expect(CgroupPath("/x")!.appending("y")?.description == "/x/y")
        #expect(CgroupPath("/x/y")!.isWithin(CgroupPath("/x")!))
        #expect(!CgroupPath("/xy")!.isWithin(CgroupPath("/x")!))
    }
}

@Suite struct CgroupTreePrepareTests {
    @Test func createsRootEnablesControllersTopDown() throws {
        let k = FakeKernel()
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        let notes = try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/"))
        #expect(k.exists("/fairshare"))
        #expect(k.subtreeControl(of: "/").contains("cpu") && k.subtreeControl(of: "/").contains("io"))
        #expect(k.subtreeControl(of: "/fairshare") == ["cpu", "io"])
        #expect(notes.contains { $0.contains("created /sys/fs/cgroup/fairshare") })
    }

    @Test func agentInsideItsDelegatedCgroupMovesIntoALeafFirst() throws {
        let k = FakeKernel()
        k.makeCgroup("/system.slice/fairshare.service")
        k.makeCgroup("/system.slice", enable: ["cpu", "io", "memory"])
        k.spawn(ProcessInfo(pid: 50, comm: "fairshare", cgroup: "/system.slice/fairshare.service"))
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/system.slice/fairshare.service")!, pause: { _ in })
        _ = try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/system.slice/fairshare.service"))
        #expect(k.cgroupOf(50) == "/system.slice/fairshare.service/_agent")
        #expect(k.subtreeControl(of: "/system.slice/fairshare.service") == ["cpu", "io"])
        #expect(k.file(.cpuWeight, of: "/system.slice/fairshare.service/_agent") == "10000")
    }

    @Test func hybridHostFailsWithAClearMessage() {
        let k = FakeKernel(mountPoint: "/sys/fs/cgroup/unified", controllers: ["hugetlb"])
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        #expect {
            try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/"))
        } throws: { error in
            let m = "\(error)"
            return m.contains("cgroup v2 with cpu/io controllers not available at /sys/fs/cgroup/unified")
                && m.contains("cgroup v1 hybrid") && m.contains("controllers: hugetlb")
        }
        #expect(!k.exists("/fairshare"), "nothing is created on a host that can not work")
    }

    @Test func otherProcessesInTheRootGiveAHint() {
        let k = FakeKernel()
        k.makeCgroup("/busy")
        k.spawn(ProcessInfo(pid: 60, comm: "sleep", cgroup: "/busy"))
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/busy")!, pause: { _ in })
        #expect {
            try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/"))
        } throws: { error in
            "\(error)".contains("holds processes of its own") && "\(error)".contains("/sys/fs/cgroup/busy")
        }
    }

    @Test func permissionErrorNamesTheFileAndValue() {
        let k = FakeKernel()
        k.inject(errno: EACCES, file: .subtreeControl, operation: .write)
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        #expect {
            try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/"))
        } throws: { error in
            "\(error)".contains("writing '+cpu +io' to /sys/fs/cgroup/cgroup.subtree_control: Permission denied")
        }
    }
}

@Suite struct CgroupTreeMoveTests {
    func setUp() throws -> (FakeKernel, CgroupTree) {
        let k = FakeKernel()
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        _ = try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/"))
        try tree.ensureGroup(GroupName("batch")!)
        k.makeCgroup("/user.slice/user-1000.slice/session-1.scope")
        return (k, tree)
    }

    @Test func retriesEINVALBoundedThenGivesUp() throws {
        let (k, tree) = try setUp()
        k.spawn(ProcessInfo(pid: 10, comm: "x", cgroup: "/"))
        k.inject(errno: EINVAL, file: .procs, times: 4)
        try tree.move(pid: 10, to: GroupName("batch")!)
        #expect(k.cgroupOf(10) == "/fairshare/batch")

        k.spawn(ProcessInfo(pid: 11, comm: "y", cgroup: "/"))
        k.inject(errno: EINVAL, file: .procs, times: 5)
        #expect(throws: CgroupError.self) { try tree.move(pid: 11, to: GroupName("batch")!) }
        #expect(k.cgroupOf(11) == "/")
    }

    @Test func permissionIsNotRetried() throws {
        let (k, tree) = try setUp()
        k.spawn(ProcessInfo(pid: 10, comm: "x", cgroup: "/"))
        k.inject(errno: EPERM, file: .procs, times: 1)
        #expect {
            try tree.move(pid: 10, to: GroupName("batch")!)
        } throws: { error in
            (error as? CgroupError)?.kind == .permission
        }
    }

    @Test func restoreWalksUpToTheNearestExistingCgroup() throws {
        let (k, tree) = try setUp()
        k.spawn(ProcessInfo(pid: 10, comm: "x", cgroup: "/fairshare/batch"))
        let went = try tree.restore(pid: 10, to: CgroupPath("/user.slice/user-1000.slice/session-9.scope")!)
        #expect(went.description == "/user.slice/user-1000.slice")
        #expect(k.cgroupOf(10) == "/user.slice/user-1000.slice")
    }

    @Test func restoreSkipsAnOriginThatRefusesAndNeverTargetsOurOwnSubtree() throws {
        let (k, tree) = try setUp()
        k.spawn(ProcessInfo(pid: 10, comm: "x", cgroup: "/fairshare/batch"))
        // The origin gained children with controllers: it can not hold processes (EBUSY).
        k.makeCgroup("/user.slice/user-1000.slice/session-1.scope", enable: ["cpu"])
        k.makeCgroup("/user.slice", enable: ["cpu"])
        k.makeCgroup("/user.slice/user-1000.slice", enable: ["cpu"])
        let went = try tree.restore(pid: 10, to: CgroupPath("/user.slice/user-1000.slice/session-1.scope")!)
        #expect(went.isRoot, "the root's parent, the mount root, takes it")
        // An origin inside our own subtree is never a destination.
        k.spawn(ProcessInfo(pid: 11, comm: "y", cgroup: "/fairshare/batch"))
        let went2 = try tree.restore(pid: 11, to: CgroupPath("/fairshare/batch")!)
        #expect(went2.isRoot)
    }

    @Test func restoreOfAGoneProcessStopsAtOnce() throws {
        let (_, tree) = try setUp()
        #expect {
            try tree.restore(pid: 12345, to: CgroupPath("/user.slice")!)
        } throws: { error in
            (error as? CgroupError)?.errno == ESRCH
        }
    }

    @Test func weightsOutOfRangeAreRefusedByTheKernel() throws {
        let (_, tree) = try setUp()
        // The agent can not even express such a weight: CPUWeight is 1...10000 by construction.
        #expect(CPUWeight(0) == nil && CPUWeight(10001) == nil && CPUWeight(clamping: 0).value == 1)
        #expect {
            try tree.fs.write("0", to: .cpuWeight, of: tree.path(of: GroupName("batch")!))
        } throws: { error in
            (error as? CgroupError)?.kind == .outOfRange && "\(error)".contains("writing '0' to /sys/fs/cgroup/fairshare/batch/cpu.weight")
        }
    }

    @Test func capacityFromTheNearestCpuset() throws {
        let (_, tree) = try setUp()
        #expect(tree.capacityCPUs(fallback: 64) == 2)
    }
}

@Suite struct CgroupEnvironmentTests {
    @Test func rootResolution() throws {
        #expect(try CgroupEnvironment.root(setting: .auto, mountPoint: "/sys/fs/cgroup", selfCgroup: "/system.slice/fairshare.service").description
                == "/system.slice/fairshare.service")
        // A restarted agent is already in its leaf.
        #expect(try CgroupEnvironment.root(setting: .auto, mountPoint: "/sys/fs/cgroup", selfCgroup: "/system.slice/fairshare.service/_agent").description
                == "/system.slice/fairshare.service")
        #expect(try CgroupEnvironment.root(setting: .path("/sys/fs/cgroup/fairshare"), mountPoint: "/sys/fs/cgroup", selfCgroup: "/").description
                == "/fairshare")
    }

    @Test(arguments: [
        (CgroupRootSetting.auto, "/", "needs a delegated cgroup"),
        (.path("/tmp/x"), "/", "is not beneath the cgroup2 mount"),
        (.path("/sys/fs/cgroup"), "/", "is not beneath"),
        (.path("/sys/fs/cgroup/../etc"), "/", "is not beneath"),
        (.path("/sys/fs/cgroupx/a"), "/", "is not beneath"),
    ])
    func rootErrors(setting: CgroupRootSetting, selfCgroup: String, mention: String) {
        #expect {
            try CgroupEnvironment.root(setting: setting, mountPoint: "/sys/fs/cgroup", selfCgroup: selfCgroup)
        } throws: { "\($0)".contains(mention) }
    }

    @Test func mountPointPrefersSysFsCgroup() throws {
        #expect(try CgroupEnvironment.mountPoint(mountinfo: "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n") == "/sys/fs/cgroup/unified")
        #expect(throws: CgroupSetupError.self) { try CgroupEnvironment.mountPoint(mountinfo: "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n") }
    }
}

@Suite struct DelegatedRootTests {
    @Test func delegatedRootNeverWritesAboveItself() throws {
        let k = FakeKernel()
        k.makeCgroup("/system.slice/fairshare.service")
        k.makeCgroup("/", enable: ["cpu", "io"])
        k.makeCgroup("/system.slice", enable: ["cpu", "io"])
        k.spawn(ProcessInfo(pid: 50, comm: "fairshare", cgroup: "/system.slice/fairshare.service"))
        k.clearWrites()
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/system.slice/fairshare.service")!, pause: { _ in })
        _ = try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/system.slice/fairshare.service"), configureAncestors: false)
        let outside = k.writes.map(\.0).filter { !$0.hasPrefix("/sys/fs/cgroup/system.slice/fairshare.service/") }
        #expect(outside.isEmpty, "wrote outside the delegated subtree: \(outside)")
        #expect(k.cgroupOf(50) == "/system.slice/fairshare.service/_agent")
    }

    @Test func missingDelegationIsExplained() {
        let k = FakeKernel()
        k.makeCgroup("/", enable: ["memory"])
        k.makeCgroup("/system.slice/fairshare.service")
        k.makeCgroup("/system.slice", enable: ["memory"])
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/system.slice/fairshare.service")!, pause: { _ in })
        #expect {
            try tree.prepare(agentPID: 50, agentCgroup: CgroupPath("/system.slice/fairshare.service"), configureAncestors: false)
        } throws: { error in
            "\(error)".contains("the cpu and io controllers are not delegated to /sys/fs/cgroup/system.slice/fairshare.service (controllers: memory): the service needs Delegate=yes")
        }
        #expect(k.subtreeControl(of: "/system.slice") == ["memory"])
    }
}
