import FairshareCore
import FairshareEdge

#if canImport(Glibc)
import Glibc
#endif

/// The agent's subtree: its root, the leaf the agent moves itself into, one child per group.
/// Every write the agent makes to the hierarchy goes through here.
public struct CgroupTree: Sendable {
    /// The leaf the agent moves itself into when it lives in the root (no internal processes).
    /// A leading underscore can never be a group name.
    public static let agentLeafName = CgroupTreeNames.agentLeaf
    /// The controllers every group needs.
    public static let requiredControllers = ["cpu", "io"]

    public let fs: any CgroupFilesystem
    public let root: CgroupPath
    /// How long to wait between attempts of a bounded retry (injected so tests do not sleep).
    let pause: @Sendable (Duration) -> Void
    /// Attempts for a cgroup.procs write that fails with EINVAL or EBUSY (runc uses 5 x 30 ms).
    public var moveAttempts = 5

    public init(fs: any CgroupFilesystem, root: CgroupPath, pause: @escaping @Sendable (Duration) -> Void) {
        self.fs = fs
        self.root = root
        self.pause = pause
    }

    public var rootAbsolutePath: String { fs.absolutePath(root) }

    public func path(of group: GroupName) -> CgroupPath {
        // GroupName's pattern admits only [a-z0-9_-] in each component: always valid components.
        root.appending(group: group)
    }

    // MARK: Setup

    /// Makes the root usable and moves the agent out of the root into its leaf if it lives there.
    ///
    /// - Parameter configureAncestors: true for a root the admin named: it is created if missing
    ///   and cpu and io are enabled from the mount down to it. False for a delegated root
    ///   (systemd's Delegate=yes): the cgroups above belong to systemd and are never written;
    ///   the controllers must already be delegated.
    public func prepare(agentPID: Int32, agentCgroup: CgroupPath?, configureAncestors: Bool = true) throws(CgroupSetupError) -> [String] {
        var notes: [String] = []
        try CgroupTree.checkControllersAvailable(fs)
        if configureAncestors {
            // Enable the controllers on every ancestor, top-down, so the root may have them.
            var chain: [CgroupPath] = []
            var p: CgroupPath? = root.parent
            while let c = p { chain.insert(c, at: 0); p = c.parent }
            for ancestor in chain {
                if !fs.exists(ancestor) { try wrap("creating \(fs.absolutePath(ancestor))") { () throws(CgroupError) in try fs.create(ancestor) } }
                try enableControllers(in: ancestor, notes: &notes)
            }
            if !fs.exists(root) {
                try wrap("creating the cgroup root") { () throws(CgroupError) in try fs.create(root) }
                notes.append("created \(rootAbsolutePath)")
            }
        } else {
            guard fs.exists(root) else { throw .failed("the delegated cgroup root", CgroupError(.open, path: rootAbsolutePath, errno: ENOENT)) }
            let delegated = try controllers(of: root)
            let absent = CgroupTree.requiredControllers.filter { !delegated.contains($0) }
            if !absent.isEmpty {
                throw .notDelegated(root: rootAbsolutePath, missing: absent, available: delegated)
            }
        }
        if agentCgroup == root {
            let leaf = root.appending(CgroupTree.agentLeafName)!
            try wrap("creating the agent's leaf cgroup") { () throws(CgroupError) in try fs.create(leaf) }
            try wrap("moving the agent into \(fs.absolutePath(leaf))") { () throws(CgroupError) in
                try move(pid: agentPID, to: leaf)
            }
            notes.append("moved the agent (pid \(agentPID)) into \(fs.absolutePath(leaf))")
        }
        try enableControllers(in: root, notes: &notes)
        if fs.exists(agentLeaf) {
            // The agent uses little CPU but must keep up under load: it never loses to the groups.
            do throws(CgroupError) { try fs.write("10000", to: .cpuWeight, of: agentLeaf) } catch {
                notes.append("warning: \(error): the agent competes with its groups at the leaf's weight")
            }
        }
        return notes
    }

    /// Fails unless the hierarchy's root offers cpu and io (on a v1 hybrid host they are bound
    /// to v1 hierarchies and the unified mount offers almost nothing).
    public static func checkControllersAvailable(_ fs: any CgroupFilesystem) throws(CgroupSetupError) {
        let text: String
        do { text = try fs.read(.controllers, of: .root) } catch { throw .failed("reading controllers", error) }
        let top = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let missing = requiredControllers.filter { !top.contains($0) }
        if !missing.isEmpty {
            throw .controllersUnavailable(mountPoint: fs.mountPoint, missing: missing, available: top)
        }
    }

    public var agentLeaf: CgroupPath { root.appending(CgroupTree.agentLeafName)! }

    /// Where systemd puts a delegated unit's control processes (ExecReload=, ExecStopPost=).
    public static let systemdControlLeafName = ".control"

    /// Turns off every controller in the root's subtree_control, leaving the groups and their
    /// processes in place. After a crash this makes the root a valid cgroup for processes again
    /// (cgroup v2: no processes in a cgroup that enables controllers), so systemd can start the
    /// next agent in it; that agent enables them again and re-applies the weights.
    /// - Returns: the controllers turned off.
    /// - Parameter groups: the groups under the root: a group holding subgroups (nested, per
    ///   user) enables controllers too, and the kernel turns a controller off in a cgroup only
    ///   once none of its children enables it, so they are turned off first, deepest first.
    public func releaseControllers(groups: Set<GroupName> = []) throws(CgroupError) -> [String] {
        for g in groups.sorted(by: >) where g.depth < GroupName.maxComponents {
            _ = try release(path(of: g))
        }
        return try release(root)
    }

    private func release(_ cgroup: CgroupPath) throws(CgroupError) -> [String] {
        let enabled = try fs.read(.subtreeControl, of: cgroup).split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard !enabled.isEmpty else { return [] }
        try fs.write(enabled.map { "-" + $0 }.joined(separator: " "), to: .subtreeControl, of: cgroup)
        return enabled
    }

    private func controllers(of cgroup: CgroupPath) throws(CgroupSetupError) -> [String] {
        let text = try wrap("reading controllers") { () throws(CgroupError) in try fs.read(.controllers, of: cgroup) }
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }

    private func enableControllers(in cgroup: CgroupPath, notes: inout [String]) throws(CgroupSetupError) {
        let enabled = try wrap("reading subtree_control") { () throws(CgroupError) in try fs.read(.subtreeControl, of: cgroup) }
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let missing = CgroupTree.requiredControllers.filter { !enabled.contains($0) }
        guard !missing.isEmpty else { return }
        let value = missing.map { "+" + $0 }.joined(separator: " ")
        do {
            try fs.write(value, to: .subtreeControl, of: cgroup)
            notes.append("enabled \(value) in \(fs.absolutePath(.subtreeControl, of: cgroup))")
        } catch {
            throw .cannotEnableControllers(error, hint: error.kind == .busy
                ? "\(fs.absolutePath(cgroup)) holds processes of its own (cgroup v2 allows controllers only on cgroups without them); run the agent under systemd with Delegate=yes or point --cgroup-root at a cgroup whose parent holds no processes"
                : nil)
        }
    }

    private func wrap<T>(_ what: String, _ body: () throws(CgroupError) -> T) throws(CgroupSetupError) -> T {
        do { return try body() } catch { throw .failed(what, error) }
    }

    // MARK: Groups

    public func ensureGroup(_ group: GroupName) throws(CgroupError) {
        try fs.create(path(of: group))
    }

    public func removeGroup(_ group: GroupName) throws(CgroupError) {
        try fs.remove(path(of: group))
    }

    public func groupExists(_ group: GroupName) -> Bool {
        fs.exists(path(of: group))
    }

    /// Writes one file of a group's cgroup (a row of `GroupFiles`: its name and its text).
    public func write(_ setting: GroupSetting) throws(CgroupError) {
        try fs.write(setting.value.fileText, to: setting.file, of: path(of: setting.group))
    }

    // MARK: Reading a cgroup's counters (a group's, or a unit's: never written)

    public func pressure(at cgroup: CgroupPath) throws(CgroupStatError) -> PressureStat {
        let text: String
        do { text = try fs.read(.cpuPressure, of: cgroup) } catch { throw .io(error) }
        do { return try PressureStat.parse(text) } catch { throw .parse(file: fs.absolutePath(.cpuPressure, of: cgroup), error) }
    }

    public func cpuStat(at cgroup: CgroupPath) throws(CgroupStatError) -> CPUStat {
        let text: String
        do { text = try fs.read(.cpuStat, of: cgroup) } catch { throw .io(error) }
        do { return try CPUStat.parse(text) } catch { throw .parse(file: fs.absolutePath(.cpuStat, of: cgroup), error) }
    }

    public func counts(at cgroup: CgroupPath) throws(CgroupStatError) -> CgroupCounts {
        let text: String
        do { text = try fs.read(.stat, of: cgroup) } catch { throw .io(error) }
        do { return try CgroupCounts.parse(text) } catch { throw .parse(file: fs.absolutePath(.stat, of: cgroup), error) }
    }

    public func ioStat(at cgroup: CgroupPath) throws(CgroupStatError) -> IOStat {
        let text: String
        do { text = try fs.read(.ioStat, of: cgroup) } catch { throw .io(error) }
        do { return try IOStat.parse(text) } catch { throw .parse(file: fs.absolutePath(.ioStat, of: cgroup), error) }
    }

    /// The weights and populated flags of every ancestor of `cgroups` up to the mount root and of
    /// every child of those ancestors (the cgroups themselves among them): what MachineShare
    /// needs. Reads only. A cgroup that vanishes while being read is simply absent.
    public func hierarchySnapshot(around cgroups: [CgroupPath]) -> HierarchySnapshot {
        var snapshot = HierarchySnapshot()
        var listed: Set<CgroupPath> = []
        for cgroup in cgroups {
            var parent = cgroup.parent
            while let p = parent {
                if listed.insert(p).inserted, let names = try? fs.children(of: p) {
                    for name in names {
                        guard let child = p.appending(name) else { continue }
                        let weight = (try? fs.read(.cpuWeight, of: child)).flatMap { Int($0.split(separator: "\n").first ?? "") }
                        guard let events = try? fs.read(.events, of: child) else { continue }
                        snapshot.nodes[child.description] = .init(weight: weight, populated: CgroupEvents.populated(events) ?? false)
                    }
                }
                parent = p.parent
            }
        }
        return snapshot
    }

    /// PIDs in a group's cgroup.procs.
    public func members(of group: GroupName) throws(CgroupError) -> [Int32] {
        try fs.read(.procs, of: path(of: group)).split(separator: "\n").compactMap { Int32($0) }
    }

    /// CPUs available to the root: its cpuset.cpus.effective, or the nearest ancestor's.
    public func capacityCPUs(fallback: Int) -> Int {
        var p: CgroupPath? = root
        while let c = p {
            if let text = try? fs.read(.cpusEffective, of: c), let n = ProcFormat.countCPUs(inList: text), n > 0 {
                return n
            }
            p = c.parent
        }
        return fallback
    }

    // MARK: Moving

    /// Writes a PID to a cgroup's cgroup.procs (which moves all its threads). EINVAL (a task
    /// too young) and EBUSY are retried a bounded number of times; ESRCH means it is gone.
    public func move(pid: Int32, to cgroup: CgroupPath) throws(CgroupError) {
        var attempt = 1
        while true {
            do {
                try fs.write(String(pid), to: .procs, of: cgroup)
                return
            } catch {
                guard attempt < moveAttempts, error.kind == .invalid || error.kind == .busy else { throw error }
                attempt += 1
                pause(.milliseconds(30))
            }
        }
    }

    public func move(pid: Int32, to group: GroupName) throws(CgroupError) {
        try move(pid: pid, to: path(of: group))
    }

    /// Gives a process back to where it came from. If that cgroup is gone (or refuses it), the
    /// nearest existing ancestor outside our subtree takes it, and as a last resort the root's
    /// parent. Returns where it went. Never kills, never drops: if every place refuses, the
    /// process stays where it is and the last error is thrown.
    @discardableResult
    public func restore(pid: Int32, to origin: CgroupPath) throws(CgroupError) -> CgroupPath {
        var candidates: [CgroupPath] = []
        var p: CgroupPath? = origin
        while let c = p {
            if !c.isWithin(root) { candidates.append(c) }
            p = c.parent
        }
        if let up = root.parent, !candidates.contains(up) { candidates.append(up) }
        var lastError: CgroupError?
        for target in candidates where fs.exists(target) {
            do {
                try move(pid: pid, to: target)
                return target
            } catch {
                if error.errno == ESRCH { throw error }  // the process is gone: nothing to give back
                lastError = error
            }
        }
        throw lastError ?? CgroupError(.write, path: fs.absolutePath(.procs, of: origin), value: String(pid), errno: ENOENT)
    }
}

public enum CgroupStatError: Error, Sendable, CustomStringConvertible {
    case io(CgroupError)
    case parse(file: String, CPUStat.ParseError)

    public var description: String {
        switch self {
        case .io(let e): e.description
        case .parse(let file, let e): "\(file): \(e)"
        }
    }
}

/// Why the agent can not set up its subtree. Each says what to do about it.
public enum CgroupSetupError: Error, Sendable, CustomStringConvertible {
    case noCgroup2Mount
    case controllersUnavailable(mountPoint: String, missing: [String], available: [String])
    case rootOutsideMount(root: String, mountPoint: String)
    case autoRootUnavailable(selfCgroup: String)
    case notDelegated(root: String, missing: [String], available: [String])
    case cannotEnableControllers(CgroupError, hint: String?)
    case failed(String, CgroupError)
    /// A file the setup reads (/proc/self/mountinfo, /proc/self/cgroup) could not be read: said
    /// as such, never as what its text would have told. `needed` says what it was read for.
    case unreadable(SystemFileError, needed: String)
    /// /proc/self/cgroup has no cgroup v2 line ("0::/path").
    case noCgroup2Line(path: String, text: String)

    public var description: String {
        switch self {
        case .noCgroup2Mount:
            return "no cgroup2 filesystem is mounted (see /proc/self/mountinfo); Fairshare needs the unified hierarchy (systemd.unified_cgroup_hierarchy=1)"
        case .unreadable(let error, let needed):
            return "\(error); without it \(needed) is not known"
        case .noCgroup2Line(let path, let text):
            let shown = text.count > 200 ? String(text.prefix(200)) + "..." : text
            return "\(path) has no cgroup v2 line (\"0::/path\"), so this process's own cgroup is not known; it reads: \(shown.debugDescription)"
        case .controllersUnavailable(let mount, let missing, let available):
            let have = available.isEmpty ? "none" : available.joined(separator: " ")
            let hybrid = mount.hasSuffix("/unified") ? "; this host mounts cgroup v1 hybrid (the controllers are bound to v1 hierarchies)" : ""
            return "cgroup v2 with cpu/io controllers not available at \(mount): missing \(missing.joined(separator: ", ")) (controllers: \(have))\(hybrid)"
        case .rootOutsideMount(let root, let mount):
            return "cgroup root \(root) is not beneath the cgroup2 mount \(mount)"
        case .autoRootUnavailable(let own):
            return "cgroup_root = \"auto\" needs a delegated cgroup (run under systemd with Delegate=yes); this process is in \(own). Set cgroup_root in the policy or pass --cgroup-root"
        case .notDelegated(let root, let missing, let available):
            return "the \(missing.joined(separator: " and ")) controller\(missing.count == 1 ? " is" : "s are") not delegated to \(root) (controllers: \(available.isEmpty ? "none" : available.joined(separator: " "))): the service needs Delegate=yes, or set cgroup_root to a cgroup the agent may manage"
        case .cannotEnableControllers(let e, let hint):
            return "cannot enable controllers: \(e)" + (hint.map { ": \($0)" } ?? "")
        case .failed(let what, let e):
            return "\(what): \(e)"
        }
    }
}
