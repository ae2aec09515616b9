import FairshareCore
import FairshareTestSupport
import Testing

/// Issue 20 in simulation: processes of several users placed by the real reconciler into
/// per_user and nested groups, the plan carried out on the simulated tree, with the bounds the
/// benchmark reports as goals. Failures print the measured numbers.
@Suite struct TreeScenarioTests {
    @Test func perUserDividesAmongPeopleNotProcesses() {
        let r = SimScenarios.userShares(processCounts: [1, 2, 8], seconds: 20)
        #expect(r.maxErrorPoints <= 0.5, "per_user: users with 1/2/8 processes got \(r.perUser)%, goal \(r.target)% each")
        #expect(r.perUser.reduce(0, +) >= 99.5, "the machine used: \(r.perUser.reduce(0, +))%")
        // The contrast: one group, divided per process by the kernel.
        let perProcess = [1.0, 2, 8].map { $0 / 11 * 100 }
        #expect(zip(r.perProcess, perProcess).allSatisfy { abs($0 - $1) <= 0.5 }, "one group: \(r.perProcess)%, per process \(perProcess)%")
        #expect(r.perProcessMaxErrorPoints > 30, "one group is far from a third each: \(r.perProcess)%")
    }

    @Test func nestedGroupsDivideTheirParentsPart() {
        let r = SimScenarios.nestedShares(processCounts: [3, 2, 4], seconds: 20)
        #expect(r.maxErrorPoints <= 0.5, "lab-a/lab-b/teaching got \(r.achieved)%, goal \(r.targets)%")
    }

    @Test(arguments: [false, true])
    func userCapComesBackWhenOthersReturn(othersAsleep: Bool) {
        let r = SimScenarios.userCapReturn(othersAsleep: othersAsleep, returnAt: 10, seconds: 30)
        #expect(r.returnDelay.map { $0 <= 2 } == true, "cap back after \(r.returnDelay.map(String.init) ?? "never") intervals")
        #expect(r.maxAfterReturn <= r.ceiling + 0.02, "the first user used \(r.maxAfterReturn) CPUs once capped again")
        // Alone: held to user_max from its first moment, then borrowing up to user_burst.
        #expect((r.alone.first ?? .infinity) <= r.ceiling + 0.02, "first interval alone: \(r.alone)")
        #expect(r.alone.dropFirst().allSatisfy { abs($0 - r.burst) <= 0.02 }, "alone, user_burst \(r.burst) CPUs: \(r.alone)")
    }
}
