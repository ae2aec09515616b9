import Testing

@testable import FairshareCore

// What a shutdown (or `fairshare recover`) says it did: only what the outcomes and the listing
// taken afterwards show.

@Suite struct ReleaseReportTests {
    typealias F = Fixture

    static let burn = ProcessIdentity(pid: 10, startTime: 70)
    static let idle = ProcessIdentity(pid: 11, startTime: 77)

    /// Two processes back, two groups removed, one unit's weights back.
    static let release = Plan([
        .restore(burn, comm: "burn", from: F.a, to: "/user.slice/u"),
        .restore(idle, comm: "idle", from: F.b, to: "/system.slice/s.service"),
        .removeGroup(F.a),
        .removeGroup(F.b),
        .restoreUnitWeights(unit: "db.service", to: UnitWeights(cpu: nil, io: nil)),
    ])

    static let allDone = [StepOutcome](repeating: .done, count: 5)

    @Test func completeWhenEverythingIsBackAndNoGroupIsLeft() {
        let report = ReleaseReport(plan: Self.release, outcomes: Self.allDone, after: .value([]))
        #expect(report.complete)
        #expect(report.givenBack == 2)
        #expect(report.groupsRemoved == [F.a, F.b])
        #expect(report.unitsRestored == ["db.service"])
        #expect(report.summary == "every process given back (2), groups removed, 1 unit(s) have their own weights back")
    }

    @Test func aProcessThatExitedNeedsNoGivingBack() {
        var outcomes = Self.allDone
        outcomes[0] = .gone
        let report = ReleaseReport(plan: Self.release, outcomes: outcomes, after: .value([]))
        #expect(report.complete && report.notGivenBack.isEmpty)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var outcomes: [StepOutcome]
        var after: Reading<Set<GroupName>>
        /// Pieces the summary must name.
        var says: [String]
        var testDescription: String { name }
    }

    static let eperm = StepOutcome.failed(cause: "EPERM", message: "writing /sys/fs/cgroup/user.slice/u/cgroup.procs: Operation not permitted (errno 1)")
    static let ebusy = StepOutcome.failed(cause: "EBUSY", message: "removing /sys/fs/cgroup/fairshare/a: Device or resource busy (errno 16)")

    static let incomplete: [Case] = [
        Case(name: "a restore failed", outcomes: [eperm, .done, ebusy, .done, .done], after: .value([F.a]),
             says: ["1 process(es) given back", "burn[10]", "to /user.slice/u", "Operation not permitted",
                    "groups a could not be removed", "Device or resource busy", "groups removed: b"]),
        Case(name: "a restore skipped", outcomes: [.skipped("the agent was stopped"), .done, ebusy, .done, .done], after: .value([F.a]),
             says: ["burn[10] (to /user.slice/u: the agent was stopped)"]),
        Case(name: "a removal skipped", outcomes: [.done, .done, .skipped("the agent was stopped"), .done, .done], after: .value([F.a]),
             says: ["groups a could not be removed (a: the agent was stopped)"]),
        Case(name: "a group appeared again", outcomes: allDone, after: .value([F.b]),
             says: ["groups b could not be removed", "b: it appeared after the removal", "groups removed: a"]),
        Case(name: "a unit keeps its weights", outcomes: [.done, .done, .done, .done, .failed(cause: "org.freedesktop.DBus.Error.AccessDenied", message: "SetUnitProperties: access denied")],
             after: .value([]), says: ["units keep the weights the agent gave them: db.service (SetUnitProperties: access denied)", "systemctl set-property --runtime"]),
        Case(name: "systemd unreachable", outcomes: [.done, .done, .done, .done, .skipped("systemd is unreachable")],
             after: .value([]), says: ["db.service (systemd is unreachable)"]),
        Case(name: "no listing afterwards", outcomes: allDone, after: .unavailable(F.denied),
             says: ["2 process(es) given back", "cannot confirm that no group is left: \(F.denied)"]),
        Case(name: "no listing and a failed removal", outcomes: [.done, .done, ebusy, .done, .done], after: .unavailable(F.denied),
             says: ["groups a could not be removed", "groups removed: b", "cannot confirm"]),
    ]

    @Test(arguments: incomplete)
    func incompleteAndTheSummaryNamesWhatWasNotDone(_ c: Case) {
        let report = ReleaseReport(plan: Self.release, outcomes: c.outcomes, after: c.after)
        #expect(!report.complete)
        #expect(!report.summary.contains("every process given back"), "\(report.summary)")
        for piece in c.says {
            #expect(report.summary.contains(piece), "\(piece) missing from: \(report.summary)")
        }
    }

    @Test func aFailedRemovalIsNotClaimedEvenWhenTheListingIsUnavailable() {
        let report = ReleaseReport(plan: Self.release, outcomes: [.done, .done, Self.ebusy, .done, .done], after: .unavailable(F.denied))
        #expect(report.groupsRemoved == [F.b])
        #expect(report.groupsLeft.map(\.group) == [F.a])
        #expect(report.listingUnavailable == F.denied)
    }

    @Test func aRemovalTheListingContradictsIsNotClaimed() {
        let report = ReleaseReport(plan: Self.release, outcomes: Self.allDone, after: .value([F.a]))
        #expect(report.groupsRemoved == [F.b])
        #expect(report.groupsLeft.map(\.group) == [F.a])
    }

    /// A group the release did not know of (the root could not be listed when it was planned)
    /// and found afterwards was not removed: the report must not say it "appeared after the
    /// removal".
    @Test func aGroupNoRemovalWasPlannedForIsToldAsSuch() throws {
        let stray = GroupName("stray")!
        let report = ReleaseReport(plan: Self.release, outcomes: Self.allDone, after: .value([stray]))
        let left = try #require(report.groupsLeft.first)
        #expect(left.group == stray)
        #expect(!left.why.contains("after the removal"), "\(left.why)")
        #expect(left.why.contains("no removal"), "\(left.why)")
        #expect(!report.complete)
    }

    @Test func emptyReleaseOfAnEmptyRootIsComplete() {
        let report = ReleaseReport(plan: Plan(), outcomes: [], after: .value([]))
        #expect(report.complete && report.givenBack == 0)
        #expect(report.summary == "every process given back (0), groups removed")
    }

    @Test func emptyReleaseWithoutListingCannotConfirm() {
        let report = ReleaseReport(plan: Plan(), outcomes: [], after: .unavailable(F.denied))
        #expect(!report.complete)
        #expect(report.summary.contains("cannot confirm"))
    }

    /// The release as the reconciler plans it, answered and then reported.
    @Test func theReconcilersReleaseReportsWhatItsOutcomesSay() {
        var p = Passes(F.twoGroups)
        let start = [F.process(10, "burn", in: "/user.slice/u")]
        p.run(Observation(at: 0, processes: start, groupCgroups: .value([F.a, F.b])))
        let inside = Observation(at: 2 * F.second, processes: [F.process(10, "burn", in: "/fairshare/a")], groupCgroups: .value([F.a, F.b]))
        let plan = p.r.planRelease(inside)
        let outcomes = plan.steps.map { step -> StepOutcome in
            if case .removeGroup(F.b) = step { return Self.ebusy }
            return .done
        }
        p.r.absorb(plan, outcomes)
        let report = ReleaseReport(plan: plan, outcomes: outcomes, after: .value([F.b]))
        #expect(report.givenBack == 1)
        #expect(report.groupsRemoved == [F.a])
        #expect(report.groupsLeft.map(\.group) == [F.b])
        #expect(!report.complete)
    }
}
