import FairshareCore
import FairshareEdge
import FairshareLinux
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An in-memory kernel for unit tests: a cgroup v2 hierarchy and a process table that agree
/// with each other, with the rules the agent must respect (no internal processes, controllers
/// top-down, weights 1...10000, ESRCH for a gone process, EBUSY for a populated rmdir) and
/// errno injection for anything else.
public final class FakeKernel: Sendable {
    struct Node {
        var subtreeControl: [String] = []
        var files: [ControlFile: String] = [:]
    }

    public struct Injected: Sendable {
        public var file: ControlFile?
        public var cgroup: String?
        public var errno: Int32
        /// Only this kind of operation fails; nil = any.
        public var operation: CgroupError.Operation?
        /// How many times it fails before the operation works; nil = always.
        public var times: Int?
    }

    struct State {
        var rootControllers: [String]
        var nodes: [CgroupPath: Node] = [:]
        var processes: [Int32: ProcessInfo] = [:]
        var injected: [Injected] = []
        var writes: [(String, String)] = []
        /// Mutations (writes, mkdir, rmdir, ledger writes) that may still succeed; nil: no limit.
        var effectsLeft: Int?
        /// Mutations that succeeded so far.
        var effects = 0
        /// Full process scans so far (what kernel events should make rare).
        var scans = 0
        var lookups = 0
        /// cpu.stat reads per cgroup (what the agent's user read schedule should make rare).
        var cpuStatReads: [CgroupPath: Int] = [:]
        /// readdir(3)s of each directory so far.
        var listings: [CgroupPath: Int] = [:]
        /// Files of the agent's table (GroupFiles) this kernel has not: io.bfq.weight until the
        /// bfq module is loaded, cpu.idle on a kernel before 5.15, ...
        var lacking: Set<ControlFile> = [.ioBFQWeight]
        /// Why /proc can not be listed, while it can not (a scan is then unavailable).
        var procUnlistable: String?
        /// Processes whose files can not be read, and why.
        var unreadable: [Int32: String] = [:]
    }

    /// cpu.max.burst (Linux 5.14+), whose kernel rule the fake keeps: within cpu.max's quota.
    static let cpuMaxBurst = ControlFile("cpu.max.burst")

    private let state: Mutex<State>
    public let mountPoint: String

    public init(mountPoint: String = "/sys/fs/cgroup", controllers: [String] = ["cpuset", "cpu", "io", "memory", "pids"]) {
        self.mountPoint = mountPoint
        var s = State(rootControllers: controllers)
        var root = FakeKernel.newNode()
        root.files[.cpusEffective] = "0-1"
        s.nodes[.root] = root
        state = Mutex(s)
    }

    public var filesystem: FakeCgroupFilesystem { FakeCgroupFilesystem(kernel: self) }
    public var processSource: FakeProcessSource { FakeProcessSource(kernel: self) }

    // MARK: Test controls

    /// Creates cgroups (and their ancestors) the way systemd would have, e.g. "/user.slice/user-1000.slice".
    public func makeCgroup(_ path: String, enable: [String] = []) {
        let p = CgroupPath(path)!
        state.withLock { s in
            var chain: [CgroupPath] = []
            var c: CgroupPath? = p
            while let x = c, s.nodes[x] == nil { chain.insert(x, at: 0); c = x.parent }
            for x in chain { s.nodes[x] = FakeKernel.newNode() }
            if !enable.isEmpty { s.nodes[p]!.subtreeControl = enable }
        }
    }

    /// A new cgroup: zero counters, and every file of the agent's table at its kernel default.
    static func newNode() -> Node {
        var n = Node()
        n.files[.cpuStat] = "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"
        n.files[.cpuPressure] = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        n.files[.ioStat] = ""
        for row in GroupFiles.all { n.files[row.file] = row.kernelDefault.fileText }
        return n
    }

    /// As in the kernel, a cgroup's controllers are its parent's subtree_control, and a
    /// controller's files exist only while it is enabled.
    static func controllers(_ s: State, _ c: CgroupPath) -> [String] {
        guard let parent = c.parent else { return s.rootControllers }
        return s.nodes[parent]?.subtreeControl ?? []
    }

    /// A table file exists in a non-root cgroup whose controller is enabled, unless this kernel
    /// lacks it.
    static func fileExists(_ s: State, _ file: ControlFile, _ c: CgroupPath) -> Bool {
        if file == .subtreeControl { return true }
        if let row = GroupFiles.row(file) { return !s.lacking.contains(file) && !c.isRoot && controllers(s, c).contains(row.controller) }
        switch file {
        case .ioStat: return !c.isRoot && controllers(s, c).contains("io")
        case .cpusEffective: return c.isRoot || controllers(s, c).contains("cpuset")
        default: return true
        }
    }

    public func spawn(_ p: ProcessInfo) {
        state.withLock { $0.processes[p.pid] = p }
    }

    /// The process exits.
    public func kill(_ pid: Int32) {
        _ = state.withLock { $0.processes.removeValue(forKey: pid) }
    }

    public func process(_ pid: Int32) -> ProcessInfo? {
        state.withLock { $0.processes[pid] }
    }

    public func cgroupOf(_ pid: Int32) -> String? {
        state.withLock { $0.processes[pid]?.cgroup }
    }

    public func exists(_ path: String) -> Bool {
        state.withLock { s in CgroupPath(path).map { s.nodes[$0] != nil } ?? false }
    }

    public func file(_ file: ControlFile, of path: String) -> String? {
        state.withLock { s in s.nodes[CgroupPath(path)!]?.files[file] }
    }

    public func subtreeControl(of path: String) -> [String] {
        state.withLock { s in s.nodes[CgroupPath(path)!]?.subtreeControl ?? [] }
    }

    /// Sets a cgroup's counters as the kernel would have accumulated them.
    public func setUsage(_ path: String, usageUsec: UInt64, nrThrottled: UInt64 = 0) {
        state.withLock { s in
            s.nodes[CgroupPath(path)!]!.files[.cpuStat] =
                "usage_usec \(usageUsec)\nuser_usec \(usageUsec)\nsystem_usec 0\nnr_periods 0\nnr_throttled \(nrThrottled)\nthrottled_usec 0\n"
        }
    }

    /// Sets the cumulative PSI "some" stall time of a cgroup.
    public func setPressure(_ path: String, someTotalUsec: UInt64) {
        state.withLock { s in
            s.nodes[CgroupPath(path)!]!.files[.cpuPressure] =
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=\(someTotalUsec)\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        }
    }

    /// Sets an interface file the way another writer (systemd) would: not recorded in `writes`,
    /// which are the agent's.
    public func setFile(_ file: ControlFile, of path: String, to value: String) {
        state.withLock { s in s.nodes[CgroupPath(path)!]!.files[file] = value }
    }

    /// Makes an operation on `file` (of `cgroup`, if given) fail with `errno`, `times` times (nil: always).
    /// A readdir of `cgroup` (its children) is operation `.open` with no file.
    public func inject(errno: Int32, file: ControlFile? = nil, cgroup: String? = nil, operation: CgroupError.Operation? = nil, times: Int? = nil) {
        state.withLock { $0.injected.append(Injected(file: file, cgroup: cgroup, errno: errno, operation: operation, times: times)) }
    }

    /// Models a kernel before Linux 5.15, whose cgroups have no cpu.idle.
    public func removeCPUIdle() { lack(.cpuIdle) }

    /// Loads the bfq module: io.bfq.weight appears in every cgroup with the io controller.
    public func loadBFQ() {
        _ = state.withLock { $0.lacking.remove(.ioBFQWeight) }
    }

    /// Models a kernel without this file of the agent's table (too old, or a module not loaded).
    public func lack(_ file: ControlFile) {
        _ = state.withLock { $0.lacking.insert(file) }
    }

    /// /proc can not be listed (EMFILE under a descriptor storm, say) until `nil` is given.
    public func failProcListing(_ why: String?) {
        state.withLock { $0.procUnlistable = why }
    }

    /// This process's files can not be read (nil: they can again); it exists all the same.
    public func makeUnreadable(_ pid: Int32, _ why: String?) {
        state.withLock { $0.unreadable[pid] = why }
    }

    public func clearInjections() {
        state.withLock { $0.injected.removeAll() }
    }

    /// Every successful write, as (absolute file path, value), in order.
    public var writes: [(String, String)] { state.withLock { $0.writes } }

    public func clearWrites() {
        state.withLock { $0.writes.removeAll() }
    }

    /// Simulates a `kill -9` of the agent after its `n`-th effect from now: every later
    /// mutation (cgroup write, mkdir, rmdir, and a ledger write that calls `takeEffect`) fails
    /// with EIO and changes nothing, so the world stays as the dead agent left it.
    public func die(afterEffects n: Int) {
        state.withLock { $0.effectsLeft = n }
    }

    /// Lifts `die(afterEffects:)`: the next agent runs normally.
    public func revive() {
        state.withLock { $0.effectsLeft = nil }
    }

    /// Successful mutations so far (for enumerating every point a kill could come).
    public var effects: Int { state.withLock { $0.effects } }

    /// Counts an effect outside the kernel (an origin ledger write) against the same budget:
    /// false when the agent is dead and the effect must not happen.
    public func takeEffect() -> Bool {
        state.withLock { Self.take(&$0) }
    }

    static func take(_ s: inout State) -> Bool {
        if let left = s.effectsLeft {
            guard left > 0 else { return false }
            s.effectsLeft = left - 1
        }
        s.effects += 1
        return true
    }

    // MARK: The kernel's side

    func injectedErrno(_ s: inout State, _ op: CgroupError.Operation, file: ControlFile?, cgroup: CgroupPath) -> Int32? {
        for i in s.injected.indices {
            let inj = s.injected[i]
            if let o = inj.operation, o != op { continue }
            if let f = inj.file, f != file { continue }
            if let c = inj.cgroup, c != cgroup.description { continue }
            if let t = inj.times {
                if t <= 0 { continue }
                s.injected[i].times = t - 1
            }
            return inj.errno
        }
        return nil
    }

    func abs(_ c: CgroupPath, _ f: ControlFile? = nil) -> String {
        (c.isRoot ? mountPoint : mountPoint + c.description) + (f.map { "/" + $0.rawValue } ?? "")
    }

    func read(_ file: ControlFile, _ c: CgroupPath) throws(CgroupError) -> String {
        let result: Result<String, CgroupError> = state.withLock { s in
            if let e = injectedErrno(&s, .read, file: file, cgroup: c) { return .failure(CgroupError(.read, path: self.abs(c, file), errno: e)) }
            guard let node = s.nodes[c] else { return .failure(CgroupError(.read, path: self.abs(c, file), errno: ENOENT)) }
            if file == .cpuStat { s.cpuStatReads[c, default: 0] += 1 }
            switch file {
            case .procs:
                let pids = s.processes.values.filter { $0.cgroup == c.description }.map(\.pid).sorted()
                return .success(pids.map { "\($0)\n" }.joined())
            case .controllers: return .success(FakeKernel.controllers(s, c).joined(separator: " ") + "\n")
            case .subtreeControl: return .success(node.subtreeControl.joined(separator: " ") + "\n")
            case .events:
                // Populated: a process in the cgroup or in any cgroup beneath it.
                let populated = s.processes.values.contains { CgroupPath($0.cgroup)?.isWithin(c) == true }
                return .success("populated \(populated ? 1 : 0)\nfrozen 0\n")
            case .stat:
                let descendants = s.nodes.keys.filter { $0 != c && $0.isWithin(c) }.count
                return .success("nr_descendants \(descendants)\nnr_dying_descendants 0\n")
            default:
                guard FakeKernel.fileExists(s, file, c), let text = node.files[file] else { return .failure(CgroupError(.read, path: self.abs(c, file), errno: ENOENT)) }
                return .success(text)
            }
        }
        return try result.get()
    }

    func write(_ value: String, _ file: ControlFile, _ c: CgroupPath) throws(CgroupError) {
        let result: Result<Void, CgroupError> = state.withLock { s in
            let fail = { (e: Int32) in Result<Void, CgroupError>.failure(CgroupError(.write, path: self.abs(c, file), value: value, errno: e)) }
            if let e = injectedErrno(&s, .write, file: file, cgroup: c) { return fail(e) }
            if s.effectsLeft == 0 { return fail(EIO) }
            guard let node = s.nodes[c] else { return fail(ENOENT) }
            guard FakeKernel.fileExists(s, file, c) else { return fail(ENOENT) }
            switch file {
            case .procs:
                guard let pid = Int32(value) else { return fail(EINVAL) }
                guard s.processes[pid] != nil else { return fail(ESRCH) }
                if !c.isRoot && !node.subtreeControl.isEmpty { return fail(EBUSY) }
                s.processes[pid]!.cgroup = c.description
            case .subtreeControl:
                var enabled = node.subtreeControl
                for token in value.split(separator: " ") {
                    let name = String(token.dropFirst())
                    guard token.first == "+" || token.first == "-", FakeKernel.controllers(s, c).contains(name) else { return fail(ENOENT) }
                    if token.first == "+" {
                        let populated = s.processes.values.contains { $0.cgroup == c.description }
                        if !c.isRoot && populated { return fail(EBUSY) }
                        if !enabled.contains(name) { enabled.append(name) }
                    } else {
                        // cgroup_subtree_control_write: not while a child enables it for its own children.
                        if s.nodes.contains(where: { $0.key.parent == c && $0.value.subtreeControl.contains(name) }) { return fail(EBUSY) }
                        enabled.removeAll { $0 == name }
                    }
                }
                s.nodes[c]!.subtreeControl = enabled
            case .cpuWeight:
                guard let w = Int(value), (1...10000).contains(w) else { return fail(ERANGE) }
                // sched_group_set_shares: EINVAL while the group is idle.
                if node.files[.cpuIdle] == "1" { return fail(EINVAL) }
                s.nodes[c]!.files[.cpuWeight] = value
            case .cpuIdle:
                // sched_group_set_idle: 0 or 1. Going idle gives the group the minimal weight
                // (cpu.weight reads 0); leaving it gives back the default, not the old weight.
                guard value == "0" || value == "1" else { return fail(EINVAL) }
                if node.files[.cpuIdle] != value {
                    s.nodes[c]!.files[.cpuWeight] = value == "1" ? "0" : "100"
                }
                s.nodes[c]!.files[.cpuIdle] = value
            case .cpuMax:
                let parts = value.split(separator: " ")
                guard parts.count == 2, parts[0] == "max" || Int(parts[0]).map({ $0 >= 1000 }) == true,
                    let period = Int(parts[1]), (1000...1_000_000).contains(period)
                else { return fail(EINVAL) }
                // tg_set_cfs_bandwidth: the burst in force must fit the new quota.
                if let quota = Int(parts[0]), let burst = node.files[FakeKernel.cpuMaxBurst].flatMap({ Int($0) }), burst > quota { return fail(EINVAL) }
                s.nodes[c]!.files[.cpuMax] = value
            case FakeKernel.cpuMaxBurst:
                // 0 up to the quota in force (any, without a quota).
                guard let burst = Int(value), burst >= 0 else { return fail(EINVAL) }
                let quota = node.files[.cpuMax]?.split(separator: " ").first.flatMap { Int($0) }
                if let quota, burst > quota { return fail(EINVAL) }
                s.nodes[c]!.files[file] = value
            case .ioWeight:
                let parts = value.split(separator: " ")
                guard parts.count == 2, parts[0] == "default", let w = Int(parts[1]), (1...10000).contains(w) else { return fail(ERANGE) }
                s.nodes[c]!.files[.ioWeight] = value
            case .ioBFQWeight:
                // bfq_io_set_weight: "default N" or "N", 1...1000 (ERANGE outside).
                let parts = value.split(separator: " ")
                let number = parts.count == 2 && parts[0] == "default" ? parts[1] : parts.count == 1 ? parts[0] : ""
                guard let w = Int(number) else { return fail(EINVAL) }
                guard (1...1000).contains(w) else { return fail(ERANGE) }
                s.nodes[c]!.files[.ioBFQWeight] = "default \(w)"
            default:
                // Any other file of the agent's table: the kernel takes what its row reads back.
                guard let row = GroupFiles.row(file) else { return fail(EACCES) }
                guard row.readBack(value) != nil else { return fail(EINVAL) }
                s.nodes[c]!.files[file] = value
            }
            s.writes.append((self.abs(c, file), value))
            _ = FakeKernel.take(&s)
            return .success(())
        }
        try result.get()
    }

    func create(_ c: CgroupPath) throws(CgroupError) {
        let result: Result<Void, CgroupError> = state.withLock { s in
            if let e = injectedErrno(&s, .mkdir, file: nil, cgroup: c) { return .failure(CgroupError(.mkdir, path: self.abs(c), errno: e)) }
            if s.nodes[c] != nil { return .success(()) }
            guard c.parent.flatMap({ s.nodes[$0] }) != nil else { return .failure(CgroupError(.mkdir, path: self.abs(c), errno: ENOENT)) }
            guard FakeKernel.take(&s) else { return .failure(CgroupError(.mkdir, path: self.abs(c), errno: EIO)) }
            s.nodes[c] = FakeKernel.newNode()
            return .success(())
        }
        try result.get()
    }

    func remove(_ c: CgroupPath) throws(CgroupError) {
        let result: Result<Void, CgroupError> = state.withLock { s in
            if let e = injectedErrno(&s, .rmdir, file: nil, cgroup: c) { return .failure(CgroupError(.rmdir, path: self.abs(c), errno: e)) }
            guard s.nodes[c] != nil else { return .failure(CgroupError(.rmdir, path: self.abs(c), errno: ENOENT)) }
            let populated = s.processes.values.contains { $0.cgroup == c.description }
            let hasChildren = s.nodes.keys.contains { $0.parent == c }
            if populated || hasChildren { return .failure(CgroupError(.rmdir, path: self.abs(c), errno: EBUSY)) }
            guard FakeKernel.take(&s) else { return .failure(CgroupError(.rmdir, path: self.abs(c), errno: EIO)) }
            s.nodes[c] = nil
            return .success(())
        }
        try result.get()
    }

    func children(_ c: CgroupPath) throws(CgroupError) -> [String] {
        let result: Result<[String], CgroupError> = state.withLock { s in
            // Listing a directory fails at opendir, as the real filesystem reports it: `.open`.
            if let e = injectedErrno(&s, .open, file: nil, cgroup: c) { return .failure(CgroupError(.open, path: self.abs(c), errno: e)) }
            guard s.nodes[c] != nil else { return .failure(CgroupError(.open, path: self.abs(c), errno: ENOENT)) }
            s.listings[c, default: 0] += 1
            return .success(s.nodes.keys.filter { $0.parent == c }.map(\.name).sorted())
        }
        return try result.get()
    }

    func nodeExists(_ c: CgroupPath) -> Bool {
        state.withLock { $0.nodes[c] != nil }
    }

    /// Full process scans the agent made so far.
    public var scanCount: Int { state.withLock { $0.scans } }
    /// Single-process reads (`lookup`) so far.
    public var lookupCount: Int { state.withLock { $0.lookups } }
    /// How often the agent read this cgroup's cpu.stat.
    public func cpuStatReads(of path: String) -> Int { state.withLock { $0.cpuStatReads[CgroupPath(path)!] ?? 0 } }
    /// How many times the directory at `path` (below the mount) was listed.
    public func listings(of path: String) -> Int { state.withLock { $0.listings[CgroupPath(path)!] ?? 0 } }

    /// Changes a live process in place (an exec, a setuid, a new name); its cgroup stays.
    public func change(_ pid: Int32, _ edit: (inout ProcessInfo) -> Void) {
        state.withLock { s in
            guard var p = s.processes[pid] else { return }
            let cgroup = p.cgroup
            edit(&p)
            p.cgroup = cgroup
            s.processes[pid] = p
        }
    }

    /// As /proc is read: the real uid and gid only when asked for (they come from
    /// /proc/PID/status, read only when a rule needs them), else 0.
    func scan(details: ProcessDetails = .all) -> Reading<ProcessScan> {
        state.withLock { s in
            if let why = s.procUnlistable { return .unavailable(why) }
            s.scans += 1
            var scan = ProcessScan([])
            for p in s.processes.values.sorted(by: { $0.pid < $1.pid }) {
                if let why = s.unreadable[p.pid] {
                    scan.unreadable.insert(p.pid)
                    if scan.firstProblem == nil { scan.firstProblem = why }
                } else {
                    var seen = p
                    if !details.contains(.ids) { (seen.uid, seen.gid) = (0, 0) }
                    scan.processes.append(seen)
                }
            }
            return .value(scan)
        }
    }

    func lookup(_ pid: Int32) -> ProcessLookup {
        state.withLock { s in
            s.lookups += 1
            guard let p = s.processes[pid] else { return .gone }
            if let why = s.unreadable[pid] { return .unreadable(why) }
            return .found(p)
        }
    }
}

public struct FakeCgroupFilesystem: CgroupFilesystem {
    let kernel: FakeKernel
    public var mountPoint: String { kernel.mountPoint }

    public func read(_ file: ControlFile, of cgroup: CgroupPath) throws(CgroupError) -> String { try kernel.read(file, cgroup) }
    public func write(_ value: String, to file: ControlFile, of cgroup: CgroupPath) throws(CgroupError) { try kernel.write(value, file, cgroup) }
    public func create(_ cgroup: CgroupPath) throws(CgroupError) { try kernel.create(cgroup) }
    public func remove(_ cgroup: CgroupPath) throws(CgroupError) { try kernel.remove(cgroup) }
    public func exists(_ cgroup: CgroupPath) -> Bool { kernel.nodeExists(cgroup) }
    public func children(of cgroup: CgroupPath) throws(CgroupError) -> [String] { try kernel.children(cgroup) }
}

public struct FakeProcessSource: ProcessSource {
    let kernel: FakeKernel
    public func scan(details: ProcessDetails) -> Reading<ProcessScan> { kernel.scan(details: details) }
    public func lookup(_ pid: Int32, details: ProcessDetails) -> ProcessLookup { kernel.lookup(pid) }
}
