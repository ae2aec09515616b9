import FairshareCore
import Testing

/// Parsers against text copied from real kernels (6.1 guest under qemu, and this Debian 12 host).
@Suite struct KernelFormatTests {
    @Test(arguments: [
        // cgroup with the cpu controller enabled (6.1)
        ("usage_usec 7573360\nuser_usec 7569412\nsystem_usec 3948\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n",
         CPUStat(usageUsec: 7573360, userUsec: 7569412, systemUsec: 3948)),
        // without the controller only the three base fields exist
        ("usage_usec 120\nuser_usec 100\nsystem_usec 20\n", CPUStat(usageUsec: 120, userUsec: 100, systemUsec: 20)),
        // throttled by cpu.max
        ("usage_usec 1000000\nuser_usec 990000\nsystem_usec 10000\nnr_periods 50\nnr_throttled 49\nthrottled_usec 4021000\n",
         CPUStat(usageUsec: 1000000, userUsec: 990000, systemUsec: 10000, nrPeriods: 50, nrThrottled: 49, throttledUsec: 4021000)),
        // the parser walks bytes: runs of spaces, no final newline, the largest counter, a key repeated (the last wins)
        ("usage_usec  18446744073709551615\nuser_usec 1\n\nsystem_usec 2\nnr_throttled 3\nnr_throttled 4",
         CPUStat(usageUsec: 18446744073709551615, userUsec: 1, systemUsec: 2, nrThrottled: 4)),
    ])
    func cpuStat(text: String, expected: CPUStat) throws {
        #expect(try CPUStat.parse(text) == expected)
    }

    @Test(arguments: [
        ("user_usec 1\nsystem_usec 1\n", "usage_usec"),
        ("usage_usec abc\nuser_usec 1\nsystem_usec 1\n", "usage_usec abc"),
        ("usage_usec 1 2\n", "usage_usec 1 2"),
        ("usage_usec 18446744073709551616\nuser_usec 1\nsystem_usec 1\n", "usage_usec 18446744073709551616"),
        ("usage_usec -1\nuser_usec 1\nsystem_usec 1\n", "usage_usec -1"),
        ("   \nusage_usec 1\nuser_usec 1\nsystem_usec 1\n", "not 'key value'"),
        ("usage_usec 1\nuser_usec 1\n", "system_usec"),
    ])
    func cpuStatErrorsSayWhat(text: String, mention: String) {
        #expect {
            try CPUStat.parse(text)
        } throws: { error in
            "\(error)".contains(mention)
        }
    }

    @Test func ioStatSumsDevicesAndIgnoresCostFields() throws {
        let text = """
            8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
            8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021 cost.vrate=135.33 cost.usage=8467 cost.wait=0 cost.indebt=0 cost.indelay=0

            """
        let s = try IOStat.parse(text)
        #expect(s == IOStat(readBytes: 91889664, writeBytes: 613781504, readIOs: 9142, writeIOs: 1605))
        #expect(try IOStat.parse("") == IOStat())
        #expect(throws: (any Error).self) { try IOStat.parse("8:0 rbytes=x\n") }
    }

    @Test func cpuPressure() throws {
        // 6.1 guest under load
        let text = "some avg10=61.25 avg60=40.11 avg300=11.02 total=9472512\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        #expect(try PressureStat.parse(text).someTotalUsec == 9472512)
        #expect(try PressureStat.parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").someTotalUsec == 0)
        #expect(throws: (any Error).self) { try PressureStat.parse("full avg10=0.00 total=1\n") }
        #expect(throws: (any Error).self) { try PressureStat.parse("some avg10=0.00 total=x\n") }
    }

    @Test func cgroupStat() throws {
        // 6.1 guest, a per_user group with 200 users' subgroups
        #expect(try CgroupCounts.parse("nr_descendants 200\nnr_dying_descendants 3\n").descendants == 200)
        // 6.12 adds per-controller counts after the two lines
        #expect(try CgroupCounts.parse("nr_descendants 0\nnr_dying_descendants 0\nnr_subsys_cpu 1\nnr_subsys_io 1\n").descendants == 0)
        #expect(throws: (any Error).self) { try CgroupCounts.parse("nr_dying_descendants 0\n") }
        #expect(throws: (any Error).self) { try CgroupCounts.parse("nr_descendants -1\n") }
        #expect(throws: (any Error).self) { try CgroupCounts.parse("nr_descendants x\n") }
    }

    @Test func procStatFromThisHost() throws {
        let text = "17309 (cat) R 17307 17307 1343 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 118846 3133440 382 18446744073709551615 94022028128256 94022028148137 140728685080624 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94022028164144 94022028165760 94022856540160 140728685087438 140728685087458 140728685087458 140728685088747 0\n"
        let s = try #require(ProcFormat.parseStat(text))
        #expect(s.comm == "cat")
        #expect(s.parentPID == 17307)
        #expect(s.startTime == 118846)
        #expect(!s.isKernelThread)
        let kthreadd = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 14 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        #expect(ProcFormat.parseStat(kthreadd)?.isKernelThread == true)
    }

    @Test func procStatCommWithSpacesAndParentheses() throws {
        let text = "4711 (tmux: server) (x)) S 1 4711 4711 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5555 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        let s = try #require(ProcFormat.parseStat(text))
        #expect(s.comm == "tmux: server) (x)")
        #expect(s.startTime == 5555)
        #expect(ProcFormat.parseStat("garbage") == nil)
        #expect(ProcFormat.parseStat("1 (x) S 1 2") == nil)
    }

    @Test func statusRealIDs() {
        let text = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t100\nUid:\t1001\t0\t0\t0\nGid:\t50\t50\t50\t50\nFDSize:\t256\n"
        let ids = ProcFormat.parseStatusIDs(text)
        #expect(ids?.uid == 1001 && ids?.gid == 50)
        #expect(ProcFormat.parseStatusIDs("Name:\tx\n") == nil)
    }

    @Test(arguments: [
        // hybrid host: v1 lines, then the unified one
        ("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/0db2\n1:cpu:/\n0::/\n", "/"),
        ("0::/system.slice/fairshare.service\n", "/system.slice/fairshare.service"),
        ("0::/user.slice/user-1000.slice/session-3.scope (deleted)\n", "/user.slice/user-1000.slice/session-3.scope"),
    ])
    func cgroupFile(text: String, expected: String) {
        #expect(ProcFormat.parseCgroupV2Path(text) == expected)
    }

    /// No cgroup v2 line (a v1-only process), or a path outside the reader's cgroup namespace:
    /// nothing, never "/" (which would be recorded as the process's origin).
    @Test(arguments: ["1:cpu:/legacy\n", "0::/../../elsewhere\n", "0::relative\n", ""])
    func cgroupFileWithoutAReachablePath(text: String) {
        #expect(ProcFormat.parseCgroupV2Path(text) == nil)
    }

    @Test func cmdlineIsNULSeparated() {
        #expect(ProcFormat.parseCmdline(Array("python3\0-m\0http.server\0".utf8)) == ["python3", "-m", "http.server"])
        #expect(ProcFormat.parseCmdline([]) == [])
        #expect(ProcFormat.parseCmdline(Array("a\0\0b\0".utf8)) == ["a", "", "b"])
    }

    @Test(arguments: [("0-1", 2), ("0", 1), ("0-3,8,10-11", 7), ("", 0), ("\n", 0)])
    func cpusetLists(text: String, count: Int) {
        #expect(ProcFormat.countCPUs(inList: text) == count)
    }

    @Test func cpusetListErrors() {
        #expect(ProcFormat.countCPUs(inList: "3-1") == nil)
        #expect(ProcFormat.countCPUs(inList: "a") == nil)
    }

    @Test func mountinfoFindsCgroup2() {
        let hybrid = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
            """
        #expect(MountInfo.cgroup2MountPoints(hybrid) == ["/sys/fs/cgroup/unified"])
        let unified = "36 25 0:31 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
        #expect(MountInfo.cgroup2MountPoints(unified) == ["/sys/fs/cgroup"])
        let escaped = "50 25 0:40 / /mnt/my\\040cgroups rw - cgroup2 none rw\n"
        #expect(MountInfo.cgroup2MountPoints(escaped) == ["/mnt/my cgroups"])
    }
}
