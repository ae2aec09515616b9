import FairshareCore
import FairshareEdge
import FairshareLinux
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fake cgroupfs tree in a temp dir, built from a small description: the real file code reads
/// and writes it.
final class TempTree {
    let path: String

    init(_ files: [String: String]) throws {
        var template = Array("/tmp/fairshare-test-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw CgroupError(.mkdir, path: "/tmp", errno: errno) }
        path = String(cString: p)
        for (rel, content) in files {
            let full = path + "/" + rel
            var dir = ""
            for comp in full.split(separator: "/").dropLast() {
                dir += "/" + comp
                mkdir(dir, 0o755)
            }
            let f = fopen(full, "w")!
            let bytes = Array(content.utf8)
            fwrite(bytes, 1, bytes.count, f)
            fclose(f)
        }
    }

    func read(_ rel: String) -> String? {
        guard let f = fopen(path + "/" + rel, "r") else { return nil }
        defer { fclose(f) }
        var out = ""
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, 4096, f) != nil { out += String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return out
    }

    deinit {
        _ = system("rm -rf '\(path)'")
    }
}

@Suite struct LinuxCgroupFilesystemTests {
    @Test func readsAndWritesBeneathTheMount() throws {
        let t = try TempTree(["fairshare/low/cpu.weight": "100\n", "fairshare/low/cpu.stat": "usage_usec 5\nuser_usec 4\nsystem_usec 1\n"])
        let fs = LinuxCgroupFilesystem(mountPoint: t.path)
        let low = CgroupPath("/fairshare/low")!
        try fs.write("2000", to: .cpuWeight, of: low)
        #expect(t.read("fairshare/low/cpu.weight")?.hasPrefix("2000") == true)
        #expect(try CPUStat.parse(fs.read(.cpuStat, of: low)).usageUsec == 5)
        #expect(try fs.children(of: CgroupPath("/fairshare")!) == ["low"])
        #expect(fs.exists(low) && !fs.exists(CgroupPath("/fairshare/high")!))
    }

    @Test func writeNeverCreatesAFileAndTheErrorSaysWhere() throws {
        let t = try TempTree(["fairshare/low/cpu.weight": "100\n"])
        let fs = LinuxCgroupFilesystem(mountPoint: t.path)
        #expect {
            try fs.write("1", to: .ioWeight, of: CgroupPath("/fairshare/low")!)
        } throws: { error in
            let e = error as! CgroupError
            return e.kind == .gone && e.path == t.path + "/fairshare/low/io.weight" && e.value == "1"
                && "\(e)".contains("writing '1' to \(t.path)/fairshare/low/io.weight: No such file or directory")
        }
        #expect(t.read("fairshare/low/io.weight") == nil)
    }

    @Test func createIsIdempotentAndRemoveReportsErrors() throws {
        let t = try TempTree(["fairshare/.keep": ""])
        let fs = LinuxCgroupFilesystem(mountPoint: t.path)
        let g = CgroupPath("/fairshare/batch")!
        try fs.create(g)
        try fs.create(g)
        #expect(fs.exists(g))
        try fs.remove(g)
        #expect(!fs.exists(g))
        #expect { try fs.remove(g) } throws: { ($0 as? CgroupError)?.kind == .gone }
        #expect { try fs.read(.cpuStat, of: g) } throws: { ($0 as? CgroupError)?.operation == .read }
    }
}

@Suite struct LinuxProcessSourceTests {
    @Test func readsAFakeProcTree() throws {
        let t = try TempTree([
            "100/stat": "100 (burn_a) R 1 100 100 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 4242 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
            "100/status": "Name:\tburn_a\nUid:\t1001\t1001\t1001\t1001\nGid:\t50\t50\t50\t50\n",
            "100/cgroup": "0::/origin\n",
            "100/cmdline": "burn_a\u{0}30\u{0}",
            // A process that vanished half-way: stat is there, status is not.
            "101/stat": "101 (gone) R 1 101 101 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 1 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
            "self/stat": "not a pid",
        ])
        let src = LinuxProcessSource(procRoot: t.path)
        let all = src.scan(details: .all).processes
        #expect(all.map(\.pid) == [100])
        let p = try #require(all.first)
        #expect(p.comm == "burn_a" && p.uid == 1001 && p.gid == 50 && p.startTime == 4242)
        #expect(p.argv == ["burn_a", "30"])
        #expect(p.cgroup == "/origin")
        #expect(p.exe == nil)
        #expect(src.process(101) == nil)
    }

    /// A 128 KB argument (the kernel's limit for one) costs a bounded read: the source keeps the
    /// bytes classification matches and one more.
    @Test func readsOnlyTheStartOfALongCommandLine() throws {
        let hostile = String(repeating: "train", count: 128 * 1024 / 5)
        let t = try TempTree([
            "100/stat": "100 (python3) R 1 100 100 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 4242 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
            "100/status": "Name:\tpython3\nUid:\t1001\t1001\t1001\t1001\nGid:\t50\t50\t50\t50\n",
            "100/cgroup": "0::/origin\n",
            "100/cmdline": "python3\u{0}" + hostile + "\u{0}--late\u{0}",
        ])
        let p = try #require(LinuxProcessSource(procRoot: t.path).scan(details: .argv).processes.first)
        #expect(p.argv.count == 2 && p.argv[0] == "python3")
        #expect(p.argv.joined(separator: " ").utf8.count == ProcessInfo.cmdlineMatchBytes + 1)
        #expect(p.matchedCommandLine.utf8.count == ProcessInfo.cmdlineMatchBytes)
    }

    @Test func readsTheRealProcOfThisHost() throws {
        let me = try #require(LinuxProcessSource().process(getpid()))
        #expect(me.pid == getpid())
        #expect(me.uid == getuid())
        #expect(me.exe?.hasPrefix("/") == true)
        #expect(!me.isKernelThread)
        let all = LinuxProcessSource().scan(details: []).processes
        #expect(all.allSatisfy { $0.exe == nil && $0.argv.isEmpty }, "details not asked for are not read")
        #expect(all.contains { $0.pid == getpid() })
        #expect(all.contains { $0.pid == 1 })
    }
}

@Suite struct IncrementalProcessSourceTests {
    static func stat(_ pid: Int, _ comm: String, start: Int) -> String {
        "\(pid) (\(comm)) R 1 \(pid) \(pid) 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 \(start) 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    }

    func write(_ t: TempTree, _ rel: String, _ content: String) {
        let f = fopen(t.path + "/" + rel, "w")!
        fputs(content, f)
        fclose(f)
    }

    /// /proc/PID/status (the largest file a process costs) is read only for policies with
    /// users or groups rules: without `.ids` the ids are not read, and a missing status does not
    /// hide the process.
    @Test func statusIsReadOnlyWhenTheIDsAreAskedFor() throws {
        let t = try TempTree([
            "100/stat": Self.stat(100, "cc1", start: 10),
            "100/cgroup": "0::/user.slice\n",
        ])
        let src = LinuxProcessSource(procRoot: t.path)
        #expect(src.scan(details: []).processes.map(\.comm) == ["cc1"])
        #expect(src.scan(details: .ids).processes.isEmpty, "with ids asked for, an unreadable status means gone or hidden")
        write(t, "100/status", "Uid:\t1001\t1001\t1001\t1001\nGid:\t50\t50\t50\t50\n")
        #expect(src.scan(details: .ids).processes.first?.uid == 1001)
        #expect(src.process(100, details: .ids)?.gid == 50)
    }

    @Test func aPolicyAsksForTheIDsOnlyWhenARuleLooksAtThem() throws {
        let byName = try PolicyParser.parse("[[group]]\nname = \"a\"\nshares = 1\nmatch.comm = [\"cc1\"]\n", file: "p.toml")
        let byUser = try PolicyParser.parse("[[group]]\nname = \"a\"\nshares = 1\nmatch.users = [1001]\n", file: "p.toml")
        let byGroup = try PolicyParser.parse("[[group]]\nname = \"a\"\nshares = 1\nmatch.groups = [50]\n", file: "p.toml")
        #expect(!ProcessDetails(for: byName).contains(.ids))
        #expect(ProcessDetails(for: byUser).contains(.ids))
        #expect(ProcessDetails(for: byGroup).contains(.ids))
    }

    @Test func rereadsOnlyWhatChangedAndEverythingEveryNthPass() throws {
        let t = try TempTree([
            "2/.keep": "",
            "100/stat": Self.stat(100, "sshd", start: 10),
            "100/status": "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
            "100/cgroup": "0::/system.slice/ssh.service\n",
            "100/cmdline": "sshd\u{0}",
        ])
        let src = IncrementalProcessSource(base: LinuxProcessSource(procRoot: t.path), fullRefreshEvery: 3)
        #expect(src.scan(details: .ids).processes.first?.uid == 0)          // pass 1: read in full
        // setuid without exec: only /proc/PID/status changes. Remembered until the full refresh.
        write(t, "100/status", "Uid:\t1001\t1001\t1001\t1001\nGid:\t50\t50\t50\t50\n")
        #expect(src.scan(details: .ids).processes.first?.uid == 0)          // pass 2: stat unchanged, cached
        #expect(src.scan(details: .ids).processes.first?.uid == 1001)       // pass 3: full refresh
        // exec: the name changes, so it is read again at once.
        write(t, "100/stat", Self.stat(100, "bash", start: 10))
        write(t, "100/cgroup", "0::/user.slice\n")
        let p = try #require(src.scan(details: .ids).processes.first)
        #expect(p.comm == "bash" && p.cgroup == "/user.slice")
        // Moved by the agent: invalidated, read again next pass.
        write(t, "100/cgroup", "0::/fairshare/batch\n")
        src.invalidate(100)
        #expect(src.scan(details: .ids).processes.first?.cgroup == "/fairshare/batch")
        // A new process with a recycled pid (another start time) is never taken for the old one.
        write(t, "100/stat", Self.stat(100, "bash", start: 99))
        write(t, "100/cgroup", "0::/origin\n")
        #expect(src.scan(details: .ids).processes.first?.cgroup == "/origin")
        // A kernel thread seen once is not read again until the full refresh.
        write(t, "2/stat", "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 14 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
        #expect(src.scan(details: .ids).processes.first?.isKernelThread == true)
        write(t, "2/stat", "garbage")
        #expect(src.scan(details: .ids).processes.first?.comm == "kthreadd", "not read again")
        // Asking for more details reads everything again.
        let all = src.scan(details: .argv)
        #expect(all.processes.map(\.pid) == [100])
        #expect(all.value?.unreadable == [2], "the full read sees the garbage stat: pid 2 is unreadable, not taken for gone")
    }
}

/// Issue 19: a /proc read that fails for another reason than the process having exited is an
/// error the scan carries (real syscalls on a /proc-shaped tree), never a vanished process.
@Suite struct ProcessSourceErrorTests {
    static func stat(_ pid: Int, _ comm: String) -> String { IncrementalProcessSourceTests.stat(pid, comm, start: 10) }

    @Test func aProcThatCanNotBeListedIsUnavailableNotEmpty() {
        let scan = LinuxProcessSource(procRoot: "/nonexistent-proc-\(getpid())").scan(details: [])
        let why = scan.unavailableReason ?? ""
        #expect(why.contains("/nonexistent-proc-") && why.contains("ENOENT"), "\(scan)")
        let incremental = IncrementalProcessSource(base: LinuxProcessSource(procRoot: "/nonexistent-proc-\(getpid())"))
        #expect(incremental.scan(details: []).unavailableReason != nil)
    }

    @Test func aFileThatFailsToReadMakesTheProcessUnreadableNotGone() throws {
        let t = try TempTree([
            "100/stat": Self.stat(100, "ok"), "100/status": "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", "100/cgroup": "0::/origin\n",
            "100/cmdline": "ok\u{0}",
            // status is a directory: read(2) fails with EISDIR, as a read under EMFILE or ENOMEM would fail.
            "101/stat": Self.stat(101, "eisdir"), "101/status/x": "", "101/cgroup": "0::/origin\n", "101/cmdline": "x\u{0}",
            // No cgroup v2 line (or a path outside this cgroup namespace): its origin would be a guess.
            "102/stat": Self.stat(102, "v1only"), "102/status": "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
            "102/cgroup": "1:cpu:/legacy\n", "102/cmdline": "x\u{0}",
            "103/stat": Self.stat(103, "outside"), "103/status": "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
            "103/cgroup": "0::/../../elsewhere\n", "103/cmdline": "x\u{0}",
            // Exited half-way: stat is there, the rest is not (ENOENT): gone, as before.
            "104/stat": Self.stat(104, "gone"),
        ])
        let src = LinuxProcessSource(procRoot: t.path)
        let scan = try #require(src.scan(details: .all).value)
        #expect(scan.processes.map(\.pid) == [100])
        #expect(scan.unreadable == [101, 102, 103])
        #expect(scan.firstProblem?.contains("101/status") == true, "\(scan.firstProblem ?? "")")
        #expect(scan.firstProblem?.contains("EISDIR") == true, "\(scan.firstProblem ?? "")")
        guard case .unreadable(let why) = src.lookup(102, details: []) else { Issue.record("102 is unreadable"); return }
        #expect(why.contains("cannot parse") && why.contains("102/cgroup"))
        #expect(src.lookup(104, details: .all) == .gone)
        #expect(src.lookup(999, details: []) == .gone)
        let incremental = try #require(IncrementalProcessSource(base: src).scan(details: .all).value)
        #expect(incremental == scan, "the incremental scan tells the same")
    }
}
