import FairshareCore

/// What a group wants over simulated time: the CPUs it could use at each moment (its runnable
/// threads), or nil while it has no members. Piecewise traces keep scenarios readable.
public struct DemandTrace: Sendable {
    let wanted: @Sendable (Double) -> Double?

    public init(_ wanted: @escaping @Sendable (_ seconds: Double) -> Double?) {
        self.wanted = wanted
    }

    /// CPUs wanted at `t` seconds of simulated time; nil = no members.
    public func at(_ t: Double) -> Double? { wanted(t) }

    /// Always wants `cpus`.
    public static func constant(_ cpus: Double) -> DemandTrace { DemandTrace { _ in cpus } }

    /// A group that exists but never runs anything.
    public static let idle = DemandTrace.constant(0)

    /// No members at any time.
    public static let absent = DemandTrace { _ in nil }

    /// `initial` until the first phase starts, then each phase's value from its start on
    /// (phases sorted by start).
    public static func phases(_ initial: Double?, _ phases: [(from: Double, cpus: Double?)]) -> DemandTrace {
        let sorted = phases.sorted { $0.from < $1.from }
        return DemandTrace { t in
            var value = initial
            for p in sorted where t >= p.from { value = p.cpus }
            return value
        }
    }
}

/// N CPUs shared among the cgroups of a tree the way the kernel's fair scheduler shares them over
/// an interval, as a fluid. A group lies in its path's parent (`research/lab-a` in `research`);
/// the top-level groups are the children of the agent's root. Each level divides what its parent
/// got by weighted max-min water-filling on cpu.weight among siblings only, each sibling taking
/// at most what it can use: a leaf its demand, an interior group its children's (each within its
/// own quota), within its cpu.max quota (which so bounds everything beneath it) and N. Capacity
/// one leaves is used by the others (work-conserving). Within one cgroup the kernel divides among
/// the processes alike (equal nice): a group's part is split among its processes by the same
/// water-filling at weight 1 each. A group whose cgroup.subtree_control lacks cpu does not
/// schedule its children as groups: the processes beneath it share its part as if they were its
/// own. It keeps the counters the agent reads from the kernel (usage, nr_throttled, cpu.pressure
/// "some" time), so the controller can be driven as it is on a real machine. Deterministic; the
/// water-filling is redone only when a demand or setting changed, O(groups^2) at worst.
public struct FluidSimulator: Sendable {
    /// The cumulative counters of one group, as cpu.stat and cpu.pressure report them (in
    /// seconds rather than whole microseconds, so short runs lose nothing to rounding).
    public struct Counters: Sendable, Equatable {
        /// CPU time used (cpu.stat usage_usec / 1e6), the group's and everything beneath it.
        public var usage: Double = 0
        /// Steps in which its own cpu.max, not demand or weight, was the binding limit.
        public var nrThrottled: Int = 0
        /// Time during which cpu.max was the binding limit (cpu.stat throttled_usec / 1e6).
        public var throttledTime: Double = 0
        /// Time during which some demand beneath it waited: demand above allocation (cpu.pressure some total).
        public var pressureTime: Double = 0
        /// CPU time wanted (demand integrated over time), for reports.
        public var demanded: Double = 0

        public var usageUsec: UInt64 { UInt64((usage * 1e6).rounded()) }
    }

    public struct Group: Sendable {
        public var name: GroupName
        /// What the group itself wants, for a group simulated without processes (one task that
        /// wants what the trace says).
        public var trace: DemandTrace
        /// cpu.weight, 1...10000.
        public var weight: Int
        /// cpu.max quota in CPUs; nil = "max".
        public var quota: Double?
        /// cgroup.subtree_control enables cpu: the children are scheduled as groups (their
        /// weights and quotas count); without it their processes run as the group's own.
        public internal(set) var childrenHaveCPU: Bool
        public internal(set) var counters = Counters()
        /// The allocation (CPUs) in the last step, the group's and everything beneath it.
        public internal(set) var allocation: Double = 0

        /// The group whose cgroup this one's lies in; nil for a child of the root.
        public var parent: GroupName? { name.parent }
    }

    /// A process: a task that competes with the others of its cgroup at weight 1 and uses at
    /// most what its trace says (1 = one busy thread). It exists while its trace is not nil.
    public struct Process: Sendable {
        public let pid: Int32
        public var trace: DemandTrace
        /// Its group; nil outside the agent's root, where it is not simulated (it runs elsewhere
        /// on the machine, not on these N CPUs).
        public internal(set) var group: GroupName?
        /// CPU time used in the simulated groups (seconds).
        public internal(set) var usage: Double = 0
        /// The allocation (CPUs) in the last step.
        public internal(set) var allocation: Double = 0
    }

    public let cpus: Double
    /// Simulated seconds per step.
    public let step: Double
    /// Steps taken; time is counted in steps so that long runs do not drift.
    public private(set) var steps = 0
    /// Simulated seconds since the start.
    public var now: Double { Double(steps) * step }
    public private(set) var groups: [Group]
    public private(set) var processes: [Process] = []

    static let epsilon = 1e-9
    /// The tree by index, rebuilt when a group or a membership changes.
    var topLevel: [Int] = []
    var childIndices: [[Int]] = []
    var memberIndices: [[Int]] = []
    /// Every group after its children (the deepest first).
    var childrenFirst: [Int] = []
    var structureChanged = true
    /// The last step's demands and outcomes, reused while nothing changes: each group's own
    /// demand (its trace's and its processes'), its trace's, each process's, and the sum over
    /// the group and everything beneath it.
    var demand: [Double] = []
    var traceDemand: [Double] = []
    var processDemand: [Double] = []
    var subtreeDemand: [Double] = []
    var throttling: [Bool] = []
    var waiting: [Bool] = []
    var settingsChanged = true

    /// Groups nest by their paths (a parent must be among `groups`); groups given here have the
    /// cpu controller on for their children, as a tree set up by hand.
    public init(cpus: Double, step: Double = 0.01, groups: [(GroupName, DemandTrace)], weight: Int = WeightMapping.kernelDefaultWeight) {
        precondition(cpus > 0 && step > 0)
        self.cpus = cpus
        self.step = step
        self.groups = groups.map { Group(name: $0.0, trace: $0.1, weight: weight, quota: nil, childrenHaveCPU: true) }
        let names = Set(groups.map(\.0))
        precondition(names.count == groups.count, "a simulated group given twice")
        for (g, _) in groups {
            if let p = g.parent { precondition(names.contains(p), "simulated group \(g) without its parent") }
        }
        rebuildStructure()
    }

    func index(of g: GroupName) -> Int {
        guard let i = groups.firstIndex(where: { $0.name == g }) else { preconditionFailure("no simulated group \(g)") }
        return i
    }

    public func hasGroup(_ g: GroupName) -> Bool { groups.contains { $0.name == g } }
    public func group(_ g: GroupName) -> Group { groups[index(of: g)] }
    public func counters(of g: GroupName) -> Counters { group(g).counters }
    public func children(of g: GroupName) -> [GroupName] { groups.filter { $0.parent == g }.map(\.name) }

    /// Writes cpu.weight (a CPUWeight is always one the kernel accepts).
    public mutating func setWeight(_ w: CPUWeight, for g: GroupName) {
        let i = index(of: g)
        if groups[i].weight != w.value { settingsChanged = true }
        groups[i].weight = w.value
    }

    /// Writes cpu.max; the quota is rounded to whole microseconds per 100 ms period, no less
    /// than the kernel's minimum, as `CPUMax` writes it.
    public mutating func setQuota(_ q: Double?, for g: GroupName) {
        let i = index(of: g)
        let rounded = CPUMax(cpus: q).cpus
        if groups[i].quota != rounded { settingsChanged = true }
        groups[i].quota = rounded
    }

    /// Turns cpu on or off in the group's cgroup.subtree_control.
    public mutating func setCPUController(_ on: Bool, for g: GroupName) {
        let i = index(of: g)
        if groups[i].childrenHaveCPU != on { settingsChanged = true }
        groups[i].childrenHaveCPU = on
    }

    /// mkdir: a new cgroup in its parent (which must exist), with the kernel's defaults: weight
    /// 100, no quota, no controller enabled for its children.
    public mutating func addGroup(_ g: GroupName, trace: DemandTrace = .absent) {
        precondition(!hasGroup(g), "simulated group \(g) exists")
        if let p = g.parent { precondition(hasGroup(p), "no simulated group \(p) to make \(g) in") }
        groups.append(Group(name: g, trace: trace, weight: WeightMapping.kernelDefaultWeight, quota: nil, childrenHaveCPU: false))
        structureChanged = true
    }

    /// rmdir: the group must have no child and no live process; the processes that ended in it
    /// leave with it.
    public mutating func removeGroup(_ g: GroupName) {
        let i = index(of: g)
        precondition(children(of: g).isEmpty, "simulated group \(g) has children")
        precondition(!hasLiveProcesses(g), "simulated group \(g) has live processes")
        for k in processes.indices where processes[k].group == g { processes[k].group = nil }
        groups.remove(at: i)
        structureChanged = true
    }

    /// A process, outside the root (`group` nil) or in a group.
    public mutating func addProcess(pid: Int32, trace: DemandTrace, in g: GroupName? = nil) {
        precondition(!processes.contains { $0.pid == pid }, "simulated process \(pid) exists")
        if let g { precondition(hasGroup(g)) }
        processes.append(Process(pid: pid, trace: trace, group: g))
        structureChanged = true
    }

    /// Writes the process's pid into a group's cgroup.procs (nil: to a cgroup outside the root).
    public mutating func moveProcess(_ pid: Int32, to g: GroupName?) {
        guard let k = processes.firstIndex(where: { $0.pid == pid }) else { preconditionFailure("no simulated process \(pid)") }
        if let g { precondition(hasGroup(g), "no simulated group \(g)") }
        if processes[k].group != g { structureChanged = true }
        processes[k].group = g
    }

    public func process(_ pid: Int32) -> Process {
        guard let p = processes.first(where: { $0.pid == pid }) else { preconditionFailure("no simulated process \(pid)") }
        return p
    }

    /// Whether the process exists in the coming step (its trace is not nil then).
    public func isAlive(_ pid: Int32) -> Bool { process(pid).trace.at(now + step / 2) != nil }

    /// Whether a live process is in the group itself (not beneath it) in the coming step.
    public func hasLiveProcesses(_ g: GroupName) -> Bool {
        processes.contains { $0.group == g && $0.trace.at(now + step / 2) != nil }
    }

    /// The time at which traces are read for the step just taken: its midpoint, so a change
    /// of demand at a step boundary is not moved by rounding.
    var lastStepMidpoint: Double { (Double(steps) - 0.5) * step }

    /// Whether the group itself had members in the last step (at the start: in the first): its
    /// trace, or a process in it.
    public func hasMembers(_ g: GroupName) -> Bool {
        let t = max(lastStepMidpoint, step / 2)
        return group(g).trace.at(t) != nil || processes.contains { $0.group == g && $0.trace.at(t) != nil }
    }

    /// Advances by whole steps until `seconds` more simulated time has passed.
    public mutating func run(for seconds: Double) {
        let n = Int((seconds / step).rounded())
        for _ in 0..<n { advance() }
    }

    /// One step: demands at the step's midpoint, water-filling, counters. The water-filling is
    /// redone only when a demand, weight, quota, controller or membership changed since the
    /// last step.
    public mutating func advance() {
        let t = (Double(steps) + 0.5) * step
        var changed = settingsChanged
        if structureChanged {
            rebuildStructure()
            changed = true
        }
        for k in processes.indices {
            let d = processes[k].group == nil ? 0 : max(0, processes[k].trace.at(t) ?? 0)
            if d != processDemand[k] {
                processDemand[k] = d
                changed = true
            }
        }
        for i in groups.indices {
            let own = max(0, groups[i].trace.at(t) ?? 0)
            var d = own
            for k in memberIndices[i] { d += processDemand[k] }
            if d != demand[i] || own != traceDemand[i] {
                demand[i] = d
                traceDemand[i] = own
                changed = true
            }
        }
        if changed {
            allocate()
            settingsChanged = false
        }
        for i in groups.indices {
            groups[i].counters.usage += groups[i].allocation * step
            groups[i].counters.demanded += subtreeDemand[i] * step
            if throttling[i] {
                groups[i].counters.nrThrottled += 1
                groups[i].counters.throttledTime += step
            }
            if waiting[i] { groups[i].counters.pressureTime += step }
        }
        for k in processes.indices { processes[k].usage += processes[k].allocation * step }
        steps += 1
    }

    /// Indices of the tree after a group or a membership changed; the demands are read afresh.
    mutating func rebuildStructure() {
        var at: [GroupName: Int] = [:]
        for (i, g) in groups.enumerated() { at[g.name] = i }
        topLevel = []
        childIndices = Array(repeating: [], count: groups.count)
        memberIndices = Array(repeating: [], count: groups.count)
        for (i, g) in groups.enumerated() {
            if let p = g.parent { childIndices[at[p]!].append(i) } else { topLevel.append(i) }
        }
        for (k, p) in processes.enumerated() {
            if let g = p.group { memberIndices[at[g]!].append(k) }
        }
        childrenFirst = groups.indices.sorted { a, b in
            let da = groups[a].name.depth, db = groups[b].name.depth
            return da != db ? da > db : a < b
        }
        demand = Array(repeating: -1, count: groups.count)
        traceDemand = Array(repeating: -1, count: groups.count)
        subtreeDemand = Array(repeating: 0, count: groups.count)
        processDemand = Array(repeating: -1, count: processes.count)
        throttling = Array(repeating: false, count: groups.count)
        waiting = Array(repeating: false, count: groups.count)
        structureChanged = false
    }

    /// The water-filling of one step, level by level from the root.
    mutating func allocate() {
        let n = groups.count
        // Bottom-up: what each subtree can use before its own quota (`free`), and within it (`reach`).
        var free = [Double](repeating: 0, count: n)
        var reach = [Double](repeating: 0, count: n)
        for i in childrenFirst {
            subtreeDemand[i] = demand[i]
            for c in childIndices[i] { subtreeDemand[i] += subtreeDemand[c] }
            if childIndices[i].isEmpty {
                free[i] = min(demand[i], cpus)
            } else if groups[i].childrenHaveCPU {
                free[i] = min(cpus, childIndices[i].reduce(demand[i]) { $0 + reach[$1] })
            } else {
                // The children's quotas do not apply: their processes run as this group's.
                free[i] = min(cpus, subtreeDemand[i])
            }
            reach[i] = min(free[i], groups[i].quota ?? .infinity)
        }
        // Top-down: each level divides what its parent got.
        var alloc = [Double](repeating: 0, count: n)
        var ownPart = [Double](repeating: 0, count: n)
        var processAlloc = [Double](repeating: 0, count: processes.count)
        var flattened = Set<Int>()
        var scheduled = Set(topLevel)
        let top = Self.waterFill(capacity: cpus, weights: topLevel.map { Double(groups[$0].weight) }, caps: topLevel.map { reach[$0] })
        for (k, i) in topLevel.enumerated() { alloc[i] = top[k] }
        var queue = topLevel
        var next = 0
        while next < queue.count {
            let i = queue[next]
            next += 1
            let kids = childIndices[i]
            if kids.isEmpty {
                ownPart[i] = alloc[i]
            } else if groups[i].childrenHaveCPU {
                var weights = kids.map { Double(groups[$0].weight) }
                var caps = kids.map { reach[$0] }
                // Processes of its own (only the root may hold them beside children with
                // controllers on): one more entity at the default weight.
                if demand[i] > 0 {
                    weights.append(Double(WeightMapping.kernelDefaultWeight))
                    caps.append(min(demand[i], cpus))
                }
                let a = Self.waterFill(capacity: alloc[i], weights: weights, caps: caps)
                for (k, c) in kids.enumerated() { alloc[c] = a[k] }
                if demand[i] > 0 { ownPart[i] = a[kids.count] }
                queue += kids
                scheduled.formUnion(kids)
            } else {
                flatten(i, alloc: &alloc, processAlloc: &processAlloc, flattened: &flattened)
            }
        }
        // Within a group: its own part among its processes (and its trace's task), alike.
        for i in groups.indices where !flattened.contains(i) && !memberIndices[i].isEmpty {
            var caps = memberIndices[i].map { processDemand[$0] }
            if traceDemand[i] > 0 { caps.append(traceDemand[i]) }
            let a = Self.waterFill(capacity: ownPart[i], weights: Array(repeating: 1, count: caps.count), caps: caps)
            for (x, k) in memberIndices[i].enumerated() { processAlloc[k] = a[x] }
        }
        for i in groups.indices {
            groups[i].allocation = alloc[i]
            // cpu.max exists only where the parent enables cpu (the root always does).
            throttling[i] = scheduled.contains(i) && groups[i].quota.map { q in q < free[i] - Self.epsilon && alloc[i] >= q - Self.epsilon } ?? false
            waiting[i] = subtreeDemand[i] > alloc[i] + Self.epsilon
        }
        for k in processes.indices { processes[k].allocation = processAlloc[k] }
    }

    /// A group without cpu in its subtree_control: every process beneath it (and every trace's
    /// task) shares its allocation alike, and each group beneath it gets what its processes got.
    func flatten(_ i: Int, alloc: inout [Double], processAlloc: inout [Double], flattened: inout Set<Int>) {
        var subtree = [i]
        var next = 0
        while next < subtree.count {
            subtree += childIndices[subtree[next]]
            next += 1
        }
        var tasks: [(group: Int, process: Int?, cap: Double)] = []
        for j in subtree {
            if traceDemand[j] > 0 { tasks.append((j, nil, traceDemand[j])) }
            for k in memberIndices[j] where processDemand[k] > 0 { tasks.append((j, k, processDemand[k])) }
        }
        let a = Self.waterFill(capacity: alloc[i], weights: Array(repeating: 1, count: tasks.count), caps: tasks.map(\.cap))
        var own: [Int: Double] = [:]
        for (x, task) in tasks.enumerated() {
            if let k = task.process { processAlloc[k] = a[x] }
            own[task.group, default: 0] += a[x]
        }
        // Beneath it, a group's allocation is its own processes' and its children's.
        for j in subtree.reversed() where j != i {
            alloc[j] = childIndices[j].reduce(own[j] ?? 0) { $0 + alloc[$1] }
        }
        flattened.formUnion(subtree)
    }

    /// Weighted max-min fair shares of `capacity`: each gets min(cap, weight x level), the
    /// level as high as the capacity allows. Kept apart from the Allocator on purpose: the
    /// simulator stands in for the kernel, and checks the controller rather than sharing code.
    public static func waterFill(capacity: Double, weights: [Double], caps: [Double]) -> [Double] {
        var alloc = [Double](repeating: 0, count: weights.count)
        var active = weights.indices.filter { caps[$0] > 0 && weights[$0] > 0 }
        var left = capacity
        while !active.isEmpty && left > epsilon {
            let total = active.reduce(0) { $0 + weights[$1] }
            let level = left / total
            let saturated = active.filter { caps[$0] <= weights[$0] * level }
            if saturated.isEmpty {
                for i in active { alloc[i] = weights[i] * level }
                break
            }
            for i in saturated {
                alloc[i] = caps[i]
                left -= caps[i]
            }
            active.removeAll { caps[$0] <= weights[$0] * level }
        }
        return alloc
    }

    /// What the agent would observe of each group between `before` and now: usage over the
    /// interval, throttling, pressure share and membership, in the controller's terms.
    public func observations(since before: [GroupName: Counters], interval: Double) -> [Controller.Observation] {
        groups.map { g in
            let b = before[g.name] ?? Counters()
            return Controller.Observation(
                group: g.name,
                usage: (g.counters.usage - b.usage) / interval,
                throttled: g.counters.nrThrottled > b.nrThrottled,
                pressure: min(1, (g.counters.pressureTime - b.pressureTime) / interval),
                hasMembers: hasMembers(g.name))
        }
    }

    public var snapshot: [GroupName: Counters] {
        Dictionary(uniqueKeysWithValues: groups.map { ($0.name, $0.counters) })
    }

    /// CPU time each process used so far (seconds).
    public var processUsage: [Int32: Double] {
        Dictionary(processes.map { ($0.pid, $0.usage) }, uniquingKeysWith: { a, _ in a })
    }
}
