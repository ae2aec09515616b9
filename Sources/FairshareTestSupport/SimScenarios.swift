import FairshareCore

/// The fairness scenarios of issue 3, run on the fluid simulator with the real controller,
/// each reduced to the figures the tests assert and `make bench-fairness` prints. Changes of
/// demand fall on interval boundaries, so "within k intervals" counts whole intervals of the
/// agent: 1 = the first interval after the change.
public enum SimScenarios {
    public static let cpus = 2.0
    public static let interval = 2.0

    static func name(_ s: String) -> GroupName { GroupName(s)! }

    static func group(_ n: String, shares: Int, min: String? = nil, max: String? = nil, borrow: Bool = false, burst: String? = nil) -> GroupPolicy {
        GroupPolicy(name: name(n), shares: Shares(shares)!, match: MatchRule(), floor: min.flatMap(CPUAmount.parse),
                    ceiling: max.flatMap(CPUAmount.parse), borrow: borrow, burst: burst.flatMap(CPUAmount.parse))
    }

    static func policy(_ groups: [GroupPolicy], fairness: FairnessMode = .instant) -> Policy {
        Policy(agent: AgentSettings(interval: .milliseconds(Int64(interval * 1000)), fairness: fairness), groups: groups)
    }

    /// The first interval index (1-based, counted from the first interval that starts at or after
    /// `from`) from which `holds` is true for every interval up to `to` (exclusive); nil if never.
    static func settled(_ timeline: [SimAgent.Interval], from: Double, to: Double = .infinity, _ holds: (SimAgent.Interval) -> Bool) -> Int? {
        let phase = timeline.filter { $0.start >= from - 1e-9 && $0.end <= to + 1e-9 }
        guard !phase.isEmpty else { return nil }
        var first: Int?
        for (k, iv) in phase.enumerated() {
            if holds(iv) {
                if first == nil { first = k + 1 }
            } else {
                first = nil
            }
        }
        return first
    }

    // MARK: Share accuracy

    public struct ShareAccuracy: Sendable {
        public var shares: [Int]
        /// Percent of the capacity, per group.
        public var targets: [Double]
        public var achieved: [Double]
        public var maxErrorPoints: Double
        public var jain: Double
    }

    /// Weighted Jain's index: (sum x)^2 / (n sum x^2) with x_i = achieved_i / share_i.
    public static func weightedJain(achieved: [Double], shares: [Double]) -> Double {
        let x = zip(achieved, shares).map { $0 / $1 }
        let sum = x.reduce(0, +)
        let squares = x.reduce(0) { $0 + $1 * $1 }
        return squares > 0 ? sum * sum / (Double(x.count) * squares) : 0
    }

    /// Groups with the given shares, all hungry (each could use every CPU) for `seconds`.
    public static func shareAccuracy(shares: [Int] = [1, 2, 5], seconds: Double = 20) -> ShareAccuracy {
        let groups = shares.enumerated().map { group("g\($0.offset)", shares: $0.element) }
        var agent = SimAgent(policy: policy(groups), cpus: cpus, traces: Dictionary(uniqueKeysWithValues: groups.map { ($0.name, .constant(cpus)) }))
        agent.run(for: seconds)
        let total = Double(shares.reduce(0, +))
        let targets = shares.map { Double($0) / total * 100 }
        let achieved = groups.map { agent.simulator.counters(of: $0.name).usage / (agent.simulator.now * cpus) * 100 }
        let maxError = zip(achieved, targets).map { abs($0 - $1) }.max() ?? 0
        return ShareAccuracy(shares: shares, targets: targets, achieved: achieved, maxErrorPoints: maxError,
                             jain: weightedJain(achieved: achieved, shares: targets))
    }

    // MARK: Redistribution

    public struct Redistribution: Sendable {
        /// Intervals until the others use the capacity split by their shares (and keep doing so).
        public var delay: Int?
        /// In the first interval after the change: CPUs the others used, and the split's
        /// distance from their shares' ratio (points of the part of the larger one).
        public var firstIntervalUsed: Double
        public var firstIntervalSplitError: Double
        public var timeline: [SimAgent.Interval]
    }

    /// Shares 1:2:5, all hungry; at `idleAt` the 5-share group goes idle (keeps its members).
    public static func redistribution(idleAt: Double = 10, seconds: Double = 20) -> Redistribution {
        let groups = [group("a", shares: 1), group("b", shares: 2), group("c", shares: 5)]
        let traces: [GroupName: DemandTrace] = [
            name("a"): .constant(cpus), name("b"): .constant(cpus), name("c"): .phases(cpus, [(idleAt, 0)]),
        ]
        var agent = SimAgent(policy: policy(groups), cpus: cpus, traces: traces)
        agent.run(for: seconds)
        let a = name("a"), b = name("b")
        func splitError(_ iv: SimAgent.Interval) -> Double { abs(iv.part(of: b, among: [a, b]) - 2.0 / 3.0) * 100 }
        func used(_ iv: SimAgent.Interval) -> Double { iv.usage(a) + iv.usage(b) }
        let delay = settled(agent.timeline, from: idleAt) { used($0) >= cpus * 0.98 && splitError($0) <= 2 }
        let first = agent.timeline.first { $0.start >= idleAt - 1e-9 }!
        return Redistribution(delay: delay, firstIntervalUsed: used(first), firstIntervalSplitError: splitError(first), timeline: agent.timeline)
    }

    // MARK: Borrowing

    public struct Borrowing: Sendable {
        public var ceiling: Double
        /// Intervals until the capped group uses the idle capacity (>= 95% of what the owner
        /// leaves), and keeps using it while the owner is idle.
        public var takeDelay: Int?
        /// Intervals until, with the owner hungry again, the capped group is back at its ceiling
        /// (+0.02 CPU) and the owner has the rest (-0.02 CPU), and stays so.
        public var giveBackDelay: Int?
        /// Largest usage of the capped group while both were hungry, after the give-back.
        public var maxCappedAfterGiveBack: Double
        public var timeline: [SimAgent.Interval]
    }

    /// An owner and a borrower (max = 0.5 CPU, borrow = true, default burst), equal shares, both
    /// hungry; the owner is idle from `idleAt` to `backAt` (keeping its members).
    public static func borrowing(idleAt: Double = 10, backAt: Double = 30, seconds: Double = 50) -> Borrowing {
        let ceiling = 0.5
        let groups = [group("owner", shares: 100), group("capped", shares: 100, max: "0.5", borrow: true)]
        let owner = name("owner"), capped = name("capped")
        let traces: [GroupName: DemandTrace] = [owner: .phases(cpus, [(idleAt, 0), (backAt, cpus)]), capped: .constant(cpus)]
        var agent = SimAgent(policy: policy(groups), cpus: cpus, traces: traces)
        agent.run(for: seconds)
        let take = settled(agent.timeline, from: idleAt, to: backAt) { $0.usage(capped) >= 0.95 * (cpus - $0.usage(owner)) }
        let back: (SimAgent.Interval) -> Bool = { $0.usage(capped) <= ceiling + 0.02 && $0.usage(owner) >= cpus - ceiling - 0.02 }
        let give = settled(agent.timeline, from: backAt, back)
        let after = agent.timeline.filter { $0.start >= backAt - 1e-9 }.dropFirst(give.map { $0 - 1 } ?? 0)
        return Borrowing(ceiling: ceiling, takeDelay: take, giveBackDelay: give,
                         maxCappedAfterGiveBack: after.map { $0.usage(capped) }.max() ?? 0, timeline: agent.timeline)
    }

    // MARK: Floors

    public struct Floor: Sendable {
        public var floor: Double
        /// CPUs the floor group used: the smallest interval from the second interval on (the
        /// first runs on the initial weights, before any decision), and the mean over those.
        public var minimum: Double
        public var mean: Double
        /// What it would get by its shares alone.
        public var byShares: Double
        public var timeline: [SimAgent.Interval]
    }

    /// A group with min = "1" and 1 share against four groups of 10 shares, all hungry.
    public static func floor(seconds: Double = 20) -> Floor {
        var groups = [group("small", shares: 1, min: "1")]
        for i in 0..<4 { groups.append(group("heavy\(i)", shares: 10)) }
        var agent = SimAgent(policy: policy(groups), cpus: cpus, traces: Dictionary(uniqueKeysWithValues: groups.map { ($0.name, .constant(cpus)) }))
        agent.run(for: seconds)
        let small = name("small")
        let settledUsage = agent.timeline.dropFirst().map { $0.usage(small) }
        return Floor(floor: 1, minimum: settledUsage.min() ?? 0, mean: settledUsage.reduce(0, +) / Double(max(settledUsage.count, 1)),
                     byShares: cpus / 41, timeline: agent.timeline)
    }

    // MARK: Starvation

    public struct Starvation: Sendable {
        public var halfLife: Double
        public var maxBoost: Double
        public var credit: SimAgent.CreditRule
        /// B's part of the contested capacity (percent) in the first interval after it returns.
        public var bFirstPercent: Double
        /// A's smallest part of the contested capacity (percent) over the intervals after B returns.
        public var aMinPercent: Double
        /// Intervals after B's return until the split is within 2 points of 50/50 and stays so.
        public var settleIntervals: Int?
        /// Intervals after B's return in which A got less than 1/(1+max_boost) of the contested
        /// capacity (less one point for the interval's discreteness).
        public var aBelowBoundIntervals: Int
        /// B's weight over A's in force in the first interval after B's return: cpu.weight and
        /// io.weight (both follow the fairness factor; nil if a weight was never set).
        public var bOverACPUWeight: Double?
        public var bOverAIOWeight: Double?
        public var timeline: [SimAgent.Interval]

        public var settleHalfLives: Double? { settleIntervals.map { Double($0) * SimScenarios.interval / halfLife } }
    }

    /// A and B, equal shares, fairness = decayed: A busy throughout, B idle (with members) for
    /// `idleHalfLives` half-lives, then busy for `afterHalfLives`.
    public static func starvation(credit: SimAgent.CreditRule = .capped, halfLife: Double = 60, maxBoost: Double = 4,
                                  idleHalfLives: Double = 20, afterHalfLives: Double = 10) -> Starvation {
        let fairness = FairnessMode.decayed(halfLife: .milliseconds(Int64(halfLife * 1000)), maxBoost: maxBoost)
        let a = name("a"), b = name("b")
        let returnAt = idleHalfLives * halfLife
        let traces: [GroupName: DemandTrace] = [a: .constant(cpus), b: .phases(0, [(returnAt, cpus)])]
        var agent = SimAgent(policy: policy([group("a", shares: 100), group("b", shares: 100)], fairness: fairness), cpus: cpus,
                             traces: traces, credit: credit)
        agent.run(for: returnAt + afterHalfLives * halfLife)
        let after = agent.timeline.filter { $0.start >= returnAt - 1e-9 }
        let aParts = after.map { $0.part(of: a, among: [a, b]) * 100 }
        let settle = settled(agent.timeline, from: returnAt) { abs($0.part(of: a, among: [a, b]) * 100 - 50) <= 2 }
        let bound = 100 / (1 + maxBoost) - 1
        let first = after.first?.groups
        func ratio(_ weight: (SimAgent.GroupInterval) -> Int?) -> Double? {
            guard let wa = first?[a].flatMap(weight), let wb = first?[b].flatMap(weight) else { return nil }
            return Double(wb) / Double(wa)
        }
        return Starvation(halfLife: halfLife, maxBoost: maxBoost, credit: credit, bFirstPercent: 100 - (aParts.first ?? 0),
                          aMinPercent: aParts.min() ?? 0, settleIntervals: settle, aBelowBoundIntervals: aParts.filter { $0 < bound }.count,
                          bOverACPUWeight: ratio(\.weight), bOverAIOWeight: ratio(\.ioWeight), timeline: agent.timeline)
    }

    // MARK: Return after an absence (one rule for every absence)

    public struct Return: Sendable {
        /// True: B's processes existed and slept while A was busy; false: B had no processes.
        public var sleeping: Bool
        public var halfLife: Double
        public var maxBoost: Double
        /// B's part (percent) of the CPU used by A and B, per interval after B's return.
        public var bPercents: [Double]
        /// B's cpu.weight over A's in force in the first interval after the return.
        public var bOverACPUWeight: Double?
        /// The largest ratio of B's and A's effective weights over the whole run.
        public var maxWeightRatio: Double
        public var timeline: [SimAgent.Interval]

        public var bFirstPercent: Double { bPercents.first ?? 0 }
    }

    /// A and B, equal shares, fairness = decayed: A busy alone for `awayHalfLives` half-lives
    /// while B sleeps (`sleeping`) or has no processes at all; then B is busy too.
    public static func returnAfterAbsence(sleeping: Bool, halfLife: Double = 20, maxBoost: Double = 4, awayHalfLives: Double = 2,
                                          afterSeconds: Double = 20) -> Return {
        let fairness = FairnessMode.decayed(halfLife: .milliseconds(Int64(halfLife * 1000)), maxBoost: maxBoost)
        let a = name("a"), b = name("b")
        let returnAt = awayHalfLives * halfLife
        let traces: [GroupName: DemandTrace] = [a: .constant(cpus), b: .phases(sleeping ? 0 : nil, [(returnAt, cpus)])]
        var agent = SimAgent(policy: policy([group("a", shares: 100), group("b", shares: 100)], fairness: fairness), cpus: cpus, traces: traces)
        agent.run(for: returnAt + afterSeconds)
        let after = agent.timeline.filter { $0.start >= returnAt - 1e-9 }
        let first = after.first?.groups
        let ratio = first.flatMap { g in g[a].flatMap { wa in g[b].map { Double($0.weight) / Double(wa.weight) } } }
        let ratios = agent.timeline.compactMap { iv in iv.groups[a].flatMap { wa in iv.groups[b].map { Double($0.weight) / Double(wa.weight) } } }
        return Return(sleeping: sleeping, halfLife: halfLife, maxBoost: maxBoost, bPercents: after.map { $0.part(of: b, among: [a, b]) * 100 },
                      bOverACPUWeight: ratio, maxWeightRatio: ratios.max() ?? 1, timeline: agent.timeline)
    }
}

// MARK: Trees of groups (issue 20)

extension SimScenarios {
    /// The Unix group of the logins' users (README's per_user example matches `groups = ["users"]`).
    static let usersGID: UInt32 = 100

    /// `count` processes of one user, each wanting one CPU while `trace` says so; pids from `firstPID`.
    static func busy(_ count: Int, uid: UInt32, gid: UInt32, firstPID: Int32, trace: DemandTrace = .constant(1)) -> [SimProcess] {
        (0..<count).map { SimProcess(pid: firstPID + Int32($0), uid: uid, gid: gid, trace: trace) }
    }

    /// `logins`, matching the users' Unix group; per_user when `perUser` is given.
    static func logins(_ perUser: PerUserPolicy?) -> GroupPolicy {
        GroupPolicy(name: name("logins"), shares: Shares(1)!, match: MatchRule(groups: [.id(usersGID)]), perUser: perUser)
    }

    public struct UserShares: Sendable {
        public var uids: [UInt32]
        public var processCounts: [Int]
        /// Each user's part (percent) of the machine over the run, with per_user...
        public var perUser: [Double]
        /// ...and with the same processes in one group: the kernel divides a cgroup among its
        /// processes, so a user gets what their number of processes buys.
        public var perProcess: [Double]
        public var target: Double
        /// Largest |part - target|, percentage points.
        public var maxErrorPoints: Double
        public var perProcessMaxErrorPoints: Double
        /// The per_user run.
        public var timeline: [SimAgent.Interval]
    }

    /// Users of one per_user group (the only group) with `processCounts` busy processes each,
    /// for `seconds`; and the same processes in one group without per_user.
    public static func userShares(processCounts: [Int] = [1, 2, 8], seconds: Double = 20) -> UserShares {
        let uids = processCounts.indices.map { UInt32(1001 + $0) }
        var processes: [SimProcess] = []
        for (uid, n) in zip(uids, processCounts) { processes += busy(n, uid: uid, gid: usersGID, firstPID: Int32(uid) * 100) }
        func run(_ perUser: PerUserPolicy?) -> (parts: [Double], timeline: [SimAgent.Interval]) {
            var agent = SimAgent(policy: policy([logins(perUser)]), cpus: cpus, processes: processes)
            agent.run(for: seconds)
            return (uids.map { agent.usage(uid: $0) / (agent.simulator.now * cpus) * 100 }, agent.timeline)
        }
        let perUser = run(PerUserPolicy())
        let perProcess = run(nil)
        let target = 100 / Double(uids.count)
        func maxError(_ parts: [Double]) -> Double { parts.map { abs($0 - target) }.max() ?? 0 }
        return UserShares(uids: uids, processCounts: processCounts, perUser: perUser.parts, perProcess: perProcess.parts, target: target,
                          maxErrorPoints: maxError(perUser.parts), perProcessMaxErrorPoints: maxError(perProcess.parts),
                          timeline: perUser.timeline)
    }

    public struct NestedShares: Sendable {
        /// The leaves: research/lab-a, research/lab-b, teaching.
        public var groups: [GroupName]
        public var processCounts: [Int]
        /// Percent of the machine, per leaf.
        public var targets: [Double]
        public var achieved: [Double]
        public var maxErrorPoints: Double
        public var timeline: [SimAgent.Interval]
    }

    /// research (3 shares) = lab-a (1) + lab-b (2), beside teaching (1), every leaf busy with
    /// `processCounts` processes (a different number each: the division is by shares, not
    /// processes) for `seconds`.
    public static func nestedShares(processCounts: [Int] = [3, 2, 4], seconds: Double = 20) -> NestedShares {
        let labA = GroupName(path: "research/lab-a")!, labB = GroupName(path: "research/lab-b")!, teaching = name("teaching")
        let leaves = [labA, labB, teaching]
        let gids: [UInt32] = [2001, 2002, 2003]
        let groups = [
            GroupPolicy(name: name("research"), shares: Shares(3)!, match: MatchRule()),
            GroupPolicy(name: labA, shares: Shares(1)!, match: MatchRule(groups: [.id(gids[0])])),
            GroupPolicy(name: labB, shares: Shares(2)!, match: MatchRule(groups: [.id(gids[1])])),
            GroupPolicy(name: teaching, shares: Shares(1)!, match: MatchRule(groups: [.id(gids[2])])),
        ]
        var processes: [SimProcess] = []
        for (k, n) in processCounts.enumerated() { processes += busy(n, uid: 3001 + UInt32(k), gid: gids[k], firstPID: 1000 * Int32(k + 1)) }
        var agent = SimAgent(policy: policy(groups), cpus: cpus, processes: processes)
        agent.run(for: seconds)
        let targets = [25.0, 50, 25]
        let achieved = leaves.map { agent.simulator.counters(of: $0).usage / (agent.simulator.now * cpus) * 100 }
        return NestedShares(groups: leaves, processCounts: processCounts, targets: targets, achieved: achieved,
                            maxErrorPoints: zip(achieved, targets).map { abs($0 - $1) }.max() ?? 0, timeline: agent.timeline)
    }

    public struct UserCapReturn: Sendable {
        /// True: the others' processes existed and slept (their subgroups there, idle) while the
        /// first user was alone; false: they had no processes (their subgroups are made on return).
        public var othersAsleep: Bool
        /// user_max and user_burst in CPUs.
        public var ceiling: Double
        public var burst: Double
        /// The first user's CPUs per interval while alone (the first interval included).
        public var alone: [Double]
        /// Intervals after the others' return until the first user is back at user_max (usage
        /// within 0.02 CPU, the cpu.max in force no more) and the others have the rest (within
        /// 0.02 CPU), and stays so.
        public var returnDelay: Int?
        /// The first user's largest usage once the cap is back.
        public var maxAfterReturn: Double
        public var timeline: [SimAgent.Interval]
    }

    /// A per_user group (the only group) with user_max = "0.5", user_borrow, user_burst = "75%":
    /// one user busy alone (two processes) until `returnAt`, then three more users (two busy
    /// processes each), so that the users' caps add up to the machine. Before `returnAt` the
    /// others have no processes, or (`othersAsleep`) sleeping ones.
    public static func userCapReturn(othersAsleep: Bool = false, returnAt: Double = 10, seconds: Double = 30) -> UserCapReturn {
        let ceiling = 0.5, burst = 0.75 * cpus
        let perUser = PerUserPolicy(ceiling: .cpus(ceiling), borrow: true, burst: .percent(75))
        let first: UInt32 = 1001, others: [UInt32] = [1002, 1003, 1004]
        var processes = busy(2, uid: first, gid: usersGID, firstPID: 100_100)
        for uid in others { processes += busy(2, uid: uid, gid: usersGID, firstPID: Int32(uid) * 100, trace: .phases(othersAsleep ? 0 : nil, [(returnAt, 1)])) }
        var agent = SimAgent(policy: policy([logins(perUser)]), cpus: cpus, processes: processes)
        agent.run(for: seconds)
        let firstGroup = name("logins").user(.user(first))
        let capped: (SimAgent.Interval) -> Bool = { iv in
            agent.usage(uid: first, in: iv) <= ceiling + 0.02 && (iv.groups[firstGroup]?.quota ?? .infinity) <= ceiling + 1e-6
                && others.reduce(0) { $0 + agent.usage(uid: $1, in: iv) } >= cpus - ceiling - 0.02
        }
        let delay = settled(agent.timeline, from: returnAt, capped)
        let after = agent.timeline.filter { $0.start >= returnAt - 1e-9 }.dropFirst(delay.map { $0 - 1 } ?? 0)
        return UserCapReturn(othersAsleep: othersAsleep, ceiling: ceiling, burst: burst,
                             alone: agent.timeline.filter { $0.end <= returnAt + 1e-9 }.map { agent.usage(uid: first, in: $0) },
                             returnDelay: delay, maxAfterReturn: after.map { agent.usage(uid: first, in: $0) }.max() ?? 0,
                             timeline: agent.timeline)
    }
}
