import Foundation
import Testing

@testable import FairshareCore

// Unit-backed groups: the single-writer rule in the classifier and the enforcer, the weight
// book, the machine share, and the sampling of several cgroups as one group.

private func unitGroup(_ name: String, _ shares: Int, line: Int, _ units: String...) -> GroupPolicy {
    GroupPolicy(name: GroupName(name)!, shares: Shares(shares)!, match: MatchRule(units: units.map { UnitPattern($0)! }), line: line)
}

private func commGroup(_ name: String, _ shares: Int, line: Int = 0, _ comm: String...) -> GroupPolicy {
    GroupPolicy(name: GroupName(name)!, shares: Shares(shares)!, match: MatchRule(comm: comm), line: line)
}

// MARK: - Patterns and weights

@Test(arguments: [
    ("postgresql.service", "postgresql.service", true),
    ("postgresql.service", "postgresql@15-main.service", false),
    ("postgresql@*.service", "postgresql@15-main.service", true),
    ("docker-*.scope", "docker-0123abcd.scope", true),
    ("docker-*.scope", "docker.service", false),
    ("user-*.slice", "user-1001.slice", true),
    ("user-*.slice", "user.slice", false),
    ("user-100[0-9].slice", "user-1005.slice", true),
    ("user-100[!0-4].slice", "user-1003.slice", false),
    // FNM_NOESCAPE, as systemd matches: a backslash is an ordinary character of unit names.
    (#"dev-disk-by\x2duuid-*.service"#, #"dev-disk-by\x2duuid-1.service"#, true),
    (#"a\*.service"#, "a*.service", false),
])
func unitPatternMatches(_ pattern: String, _ unit: String, _ expected: Bool) throws {
    let p = try #require(UnitPattern(pattern))
    #expect(p.matches(unit) == expected)
}

@Test func unitWeightsShareOneScaleWithTheAgentsGroups() {
    // Shares 2 beside 1 : 2 : 5: factor 100, so CPUWeight=200, twice a default unit.
    let policy = Policy(groups: [commGroup("low", 1, "a"), commGroup("mid", 2, "b"), commGroup("high", 5, "c"), unitGroup("db", 2, line: 0, "db.service")])
    #expect(policy.cpuWeights().mapValues(\.value) == [GroupName("low")!: 100, GroupName("mid")!: 200, GroupName("high")!: 500, GroupName("db")!: 200])
    // A unit group with the smallest share sets the factor for everyone.
    let small = Policy(groups: [commGroup("a", 4, "a"), unitGroup("u", 1, line: 0, "u.service")])
    #expect(small.cpuWeights().mapValues(\.value) == [GroupName("a")!: 400, GroupName("u")!: 100])
}

@Test func unitsGoToTheFirstMatchingGroupAndNeedACgroup() {
    let policy = Policy(groups: [commGroup("x", 1, "x"), unitGroup("containers", 1, line: 0, "docker-*.scope"), unitGroup("all", 1, line: 0, "*.scope", "db.service")])
    let placed = UnitPlacement.assign(
        units: [("docker-1.scope", "/system.slice/docker-1.scope"), ("session-3.scope", "/user.slice/user-1000.slice/session-3.scope"),
                ("db.service", ""), ("other.service", "/system.slice/other.service")],
        policy: policy)
    #expect(placed == [
        UnitPlacement(unit: "docker-1.scope", group: GroupName("containers")!, cgroup: "/system.slice/docker-1.scope"),
        UnitPlacement(unit: "session-3.scope", group: GroupName("all")!, cgroup: "/user.slice/user-1000.slice/session-3.scope"),
    ])
}

// MARK: - Single writer: the classifier and the enforcer

@Suite struct UnitSingleWriterTests {
    static let policy = Policy(groups: [
        GroupPolicy(name: GroupName("batch")!, shares: Shares(1)!, match: MatchRule(comm: ["make", "postgres"])),
        GroupPolicy(name: GroupName("users")!, shares: Shares(4)!, match: MatchRule(cgroup: [Glob("/user.slice/*")!])),
        unitGroup("db", 2, line: 0, "postgresql.service"),
        unitGroup("sessions", 2, line: 0, "user-*.slice"),
    ])
    static let placements = [
        UnitPlacement(unit: "postgresql.service", group: GroupName("db")!, cgroup: "/system.slice/postgresql.service"),
        UnitPlacement(unit: "user-1000.slice", group: GroupName("sessions")!, cgroup: "/user.slice/user-1000.slice"),
        UnitPlacement(unit: "system.slice", group: GroupName("db")!, cgroup: "/system.slice"),
    ]

    func classifier(excluding root: String = "/fairshare") -> Classifier {
        var c = Classifier(policy: Self.policy, agentPID: 999, resolveUser: { _ in nil }, resolveGroup: { _ in nil })
        c.units = UnitCgroups(placements: Self.placements, excluded: root)
        return c
    }

    @Test(arguments: [
        // A unit's process, even one another group's rule matches (comm postgres; cgroup /user.slice/*).
        ("postgres", "/system.slice/postgresql.service", Classifier.Verdict.inUnit(unit: "postgresql.service", group: GroupName("db")!)),
        ("bash", "/user.slice/user-1000.slice/session-2.scope", .inUnit(unit: "user-1000.slice", group: GroupName("sessions")!)),
        // The innermost unit wins (system.slice holds postgresql.service).
        ("make", "/system.slice/cron.service", .inUnit(unit: "system.slice", group: GroupName("db")!)),
        // Not in a unit: the rules apply.
        ("make", "/init.scope", .matched(group: GroupName("batch")!, keys: [Classifier.MatchedKey(key: "comm", pattern: "make", value: "make")])),
        ("bash", "/user.slice/user-1001.slice/session-4.scope",
         .matched(group: GroupName("users")!, keys: [Classifier.MatchedKey(key: "cgroup", pattern: "/user.slice/*", value: "/user.slice/user-1001.slice/session-4.scope")])),
        // A prefix of a name is not a parent: /system.slice/postgresql.service2 lies in system.slice only.
        ("x", "/system.slice/postgresql.service2", .inUnit(unit: "system.slice", group: GroupName("db")!)),
    ])
    func verdicts(comm: String, cgroup: String, expected: Classifier.Verdict) {
        #expect(classifier().classify(ProcessInfo(pid: 10, comm: comm, cgroup: cgroup)) == expected)
    }

    @Test func theAgentsOwnSubtreeIsNoUnitsEvenInsideOne() {
        // The agent runs in system.slice/fairshare.service, which lies in the unit system.slice.
        let c = classifier(excluding: "/system.slice/fairshare.service")
        let p = ProcessInfo(pid: 10, comm: "make", cgroup: "/system.slice/fairshare.service/batch")
        guard case .matched(let g, _) = c.classify(p) else { Issue.record("\(c.classify(p))"); return }
        #expect(g.rawValue == "batch")
    }

    @Test func unitProcessesAreNeverMovedAndUnitGroupsGetNoCgroup() {
        let enforcer = Enforcer(root: "/fairshare")
        let processes = [
            ProcessInfo(pid: 10, comm: "postgres", cgroup: "/system.slice/postgresql.service"),
            ProcessInfo(pid: 11, comm: "make", cgroup: "/user.slice/user-1000.slice/session-2.scope"),
            ProcessInfo(pid: 12, comm: "make", cgroup: "/init.scope"),
        ]
        let actions = enforcer.plan(policy: Self.policy, classifier: classifier(), processes: processes, existingGroups: [])
        let moved = actions.compactMap { if case .move(let id, _, _, _, _) = $0 { id.pid } else { nil } }
        #expect(moved == [12], "only the process outside every unit is moved: \(actions)")
        let created = actions.compactMap { if case .createGroup(let g) = $0 { g.rawValue } else { nil } }
        #expect(created == ["batch", "users"])
        var reconciler = Reconciler(policy: Self.policy, classifier: classifier(), rootPath: CgroupPath("/fairshare")!)
        let plan = reconciler.decide(Observation(at: 0, processes: processes, groupCgroups: .value([])), capacity: 2, interval: 2)
        let weights = plan.steps.compactMap(\.setting).filter { $0.file == .cpuWeight }.map { "\($0.group)=\($0.value)" }
        #expect(weights == ["batch=100", "users=400"])
    }

    @Test func aCgroupLeftUnderTheRootWithAUnitGroupsNameIsRemoved() {
        // "db" was agent-owned before a reload made it unit-backed.
        let enforcer = Enforcer(root: "/fairshare")
        let actions = enforcer.plan(policy: Self.policy, classifier: classifier(), processes: [], existingGroups: [GroupName("batch")!, GroupName("users")!, GroupName("db")!])
        #expect(actions.contains(.removeGroup(GroupName("db")!)))
    }
}

// MARK: - The weight book

@Suite struct UnitWeightBookTests {
    static let db = GroupName("db")!
    static let w200 = UnitWeights(cpu: 200, io: 300)
    static func placed(_ units: String...) -> [UnitPlacement] {
        units.map { UnitPlacement(unit: $0, group: db, cgroup: "/system.slice/\($0)") }
    }

    @Test func setsOnlyOnceTheOriginalIsKnownAndOnlyOnChange() {
        var book = UnitWeightBook()
        let weights = [Self.db: Self.w200]
        #expect(book.plan(desired: Self.placed("a.service"), weights: weights).isEmpty, "no write before the original is read")
        #expect(book.unitsWithoutOriginal(["a.service"]) == ["a.service"])
        book.noteOriginal("a.service", UnitWeights(cpu: nil, io: 50))
        let first = book.plan(desired: Self.placed("a.service"), weights: weights)
        #expect(first == [.setUnitWeights(unit: "a.service", group: Self.db, Self.w200)])
        book.record(first[0], .done)
        #expect(book.plan(desired: Self.placed("a.service"), weights: weights).isEmpty)
        let changed = book.plan(desired: Self.placed("a.service"), weights: [Self.db: UnitWeights(cpu: 500, io: 500)])
        #expect(changed == [.setUnitWeights(unit: "a.service", group: Self.db, UnitWeights(cpu: 500, io: 500))])
        book.noteOriginal("a.service", UnitWeights(cpu: 200, io: 300))
        #expect(book.originals["a.service"] == UnitWeights(cpu: nil, io: 50), "the first original is kept")
    }

    @Test func aUnitThatLeavesGetsItsOwnWeightsBackAndIsForgotten() {
        var book = UnitWeightBook()
        book.noteOriginal("a.service", UnitWeights(cpu: nil, io: nil))
        book.noteOriginal("b.service", UnitWeights(cpu: 50, io: nil))
        for a in book.plan(desired: Self.placed("a.service", "b.service"), weights: [Self.db: Self.w200]) { book.record(a, .done) }
        let plan = book.plan(desired: Self.placed("b.service"), weights: [Self.db: Self.w200])
        #expect(plan == [.restoreUnitWeights(unit: "a.service", to: UnitWeights(cpu: nil, io: nil))])
        book.record(plan[0], .failed(cause: "EBUSY", message: "busy"))
        #expect(book.originals["a.service"] != nil, "a failed restore keeps the original")
        #expect(book.plan(desired: Self.placed("b.service"), weights: [Self.db: Self.w200]) == plan, "a failed restore is tried again")
        book.record(plan[0], .gone)
        #expect(book.originals["a.service"] == nil && book.applied["a.service"] == nil)
        #expect(book.planRestoreAll() == [.restoreUnitWeights(unit: "b.service", to: UnitWeights(cpu: 50, io: nil))])
    }
}

// MARK: - Machine share

struct MachineShareCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// path: (weight, populated); weight nil = no cpu.weight file.
    var tree: [String: (Int?, Bool)]
    var path: String
    var percent: Double?
    var testDescription: String { name }
}

let machineShareCases: [MachineShareCase] = [
    MachineShareCase(
        name: "top level, all populated: 1/3",
        tree: ["/system.slice": (100, true), "/user.slice": (100, true), "/init.scope": (100, true)],
        path: "/system.slice", percent: 100.0 / 3),
    MachineShareCase(
        name: "unpopulated siblings do not count",
        tree: ["/system.slice": (100, true), "/user.slice": (100, false), "/machine.slice": (300, false), "/init.scope": (100, true)],
        path: "/system.slice", percent: 50),
    MachineShareCase(
        name: "the node itself counts even when idle",
        tree: ["/system.slice": (100, true), "/user.slice": (300, false)],
        path: "/user.slice", percent: 75),
    MachineShareCase(
        name: "nested slices multiply: 1/2 of system.slice, 200 of 400 below it",
        tree: [
            "/system.slice": (100, true), "/user.slice": (100, true),
            "/system.slice/postgresql.service": (200, true), "/system.slice/cron.service": (100, true), "/system.slice/ssh.service": (100, true),
            "/system.slice/idle.service": (5000, false),
        ],
        path: "/system.slice/postgresql.service", percent: 25),
    MachineShareCase(
        name: "the agent's groups: its _agent leaf and systemd's .control are left out",
        tree: [
            "/system.slice": (100, true), "/fairshare.slice": (100, true),
            "/fairshare.slice/fairshare.service": (100, true),
            "/fairshare.slice/fairshare.service/_agent": (10000, true), "/fairshare.slice/fairshare.service/.control": (100, true),
            "/fairshare.slice/fairshare.service/low": (100, true), "/fairshare.slice/fairshare.service/mid": (200, true),
            "/fairshare.slice/fairshare.service/high": (500, false),
        ],
        path: "/fairshare.slice/fairshare.service/mid", percent: 50.0 * 2 / 3),
    MachineShareCase(
        name: "a level without cpu.weight divides nothing",
        tree: ["/a": (100, true), "/b": (100, true), "/a/x": (nil, true), "/a/y": (nil, true)],
        path: "/a/x", percent: 50),
    MachineShareCase(
        name: "cpu.idle (weight 0) weighs next to nothing",
        tree: ["/a": (100, true), "/b": (0, true)],
        path: "/a", percent: 100 * 100 / 100.3),
    MachineShareCase(name: "the mount root is the whole machine", tree: [:], path: "/", percent: 100),
    MachineShareCase(name: "a path the snapshot lacks is unknown", tree: ["/a": (100, true)], path: "/a/b", percent: nil),
]

@Test("machine share from the hierarchy", arguments: machineShareCases)
func machineShare(_ c: MachineShareCase) {
    let snapshot = HierarchySnapshot(nodes: c.tree.mapValues { .init(weight: $0.0, populated: $0.1) })
    let got = MachineShare.fraction(of: c.path, in: snapshot).map { $0 * 100 }
    if let want = c.percent {
        #expect(got.map { abs($0 - want) < 1e-9 } == true, "got \(String(describing: got)), want \(want)")
    } else {
        #expect(got == nil)
    }
}

@Test func machineShareOfSeveralUnitsAddsTheOutermost() {
    let snapshot = HierarchySnapshot(nodes: [
        "/system.slice": (100, true), "/user.slice": (100, true),
        "/user.slice/user-1000.slice": (100, true), "/user.slice/user-1001.slice": (100, true),
        "/user.slice/user-1000.slice/session-2.scope": (100, true),
    ].mapValues { .init(weight: $0.0, populated: $0.1) })
    let both = MachineShare.fraction(ofAll: ["/user.slice/user-1000.slice", "/user.slice/user-1001.slice", "/user.slice/user-1000.slice/session-2.scope"], in: snapshot)
    #expect(both == 0.5, "two of two users of half the machine; the session inside user-1000 is not counted twice")
    #expect(MachineShare.fraction(ofAll: [], in: snapshot) == nil)
}

@Test(arguments: [("populated 1\nfrozen 0\n", true), ("populated 0\nfrozen 0\n", false), ("frozen 0\n", nil)] as [(String, Bool?)])
func cgroupEvents(_ text: String, _ expected: Bool?) {
    #expect(CgroupEvents.populated(text) == expected)
}

// MARK: - Sampling several cgroups as one group

@Test func aGroupOfUnitsIsTheSumOfItsUnitsRatesAndAUnitComingOrGoingIsNoJump() {
    var sampler = UsageSampler()
    let g = GroupName("containers")!
    func sample(_ usec: UInt64, _ at: UInt64) -> UsageSampler.Sample { .init(cpu: CPUStat(usageUsec: usec), io: nil, at: at) }
    let s = UInt64(1_000_000_000)
    sampler.record(g, parts: [("a.scope", sample(1_000_000, 1 * s))], at: 1 * s)
    #expect(sampler.rates[g] == nil, "no earlier sample")
    // b appears with a large counter of its own: it counts from its next sample, no spike.
    sampler.record(g, parts: [("a.scope", sample(2_000_000, 2 * s)), ("b.scope", sample(50_000_000, 2 * s))], at: 2 * s)
    #expect(sampler.rates[g]?.cpus == 1)
    sampler.record(g, parts: [("a.scope", sample(2_500_000, 3 * s)), ("b.scope", sample(51_000_000, 3 * s))], at: 3 * s)
    #expect(sampler.rates[g]?.cpus == 1.5)
    #expect(sampler.last[g]?.cpu.usageUsec == 53_500_000)
    // a vanishes: b alone, no negative jump.
    sampler.record(g, parts: [("b.scope", sample(52_000_000, 4 * s))], at: 4 * s)
    #expect(sampler.rates[g]?.cpus == 1)
    #expect(sampler.partLast["a.scope"] == nil, "a gone unit is forgotten")
    sampler.record(g, parts: [], at: 5 * s)
    #expect(sampler.rates[g] == nil)
}

@Test func unitGroupsTakeNoPartInRedistribution() {
    var controller = Controller()
    let policy = Policy(groups: [commGroup("a", 1, "a"), unitGroup("u", 1, line: 0, "u.service"), commGroup("b", 3, "b")])
    let d = controller.decide(
        policy: policy,
        observations: [Controller.Observation(group: GroupName("a")!, usage: 1, pressure: 0.5), Controller.Observation(group: GroupName("b")!, usage: 1, pressure: 0.5)],
        capacity: 2, interval: 2)
    #expect(d.groups.map(\.group.rawValue) == ["a", "b"])
    // The unit group's share is not taken from the agent's groups: 1 : 3 of the whole root.
    #expect(abs((d.decision(for: GroupName("a")!)?.share.allocation ?? 0) - 0.5) < 1e-9)
    #expect(abs((d.decision(for: GroupName("b")!)?.share.allocation ?? 0) - 1.5) < 1e-9)
    #expect(d.decision(for: GroupName("b")!)?.cpuWeight!.value == 300)
    #expect(UsageSampler.targetPercents(policy: policy, memberCounts: [GroupName("a")!: 1, GroupName("b")!: 1, GroupName("u")!: 4])
            == [GroupName("a")!: 25, GroupName("b")!: 75, GroupName("u")!: 0])
}
