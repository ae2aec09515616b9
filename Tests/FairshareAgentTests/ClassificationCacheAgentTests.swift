import FairshareCore
import Foundation
import FairshareTestSupport
import Testing

@testable import FairshareAgent

/// The agent matches a process against the rules when it appears or changes, not every pass.
@Suite struct ClassificationCacheAgentTests {
    @Test func passesOverUnchangedProcessesMatchNoRule() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(100, "burn_a")
        h.spawn(101, "burn_b")
        h.spawn(102, "idle")
        await h.agent.tick()
        let first = await h.agent.ruleEvaluations
        #expect(first >= 3)
        await h.agent.tick()
        await h.agent.tick()
        #expect(await h.agent.ruleEvaluations == first, "unchanged processes were matched again")
        #expect(h.kernel.cgroupOf(100) == "/fairshare/low")

        // A new process is matched once; a reloaded policy matches everyone again.
        h.spawn(103, "burn_b")
        await h.agent.tick()
        #expect(await h.agent.ruleEvaluations == first + 1)
        h.rewrite(threeGroups.replacingOccurrences(of: "shares = 2", with: "shares = 3"))
        _ = await h.agent.reload()
        await h.agent.tick()
        #expect(await h.agent.ruleEvaluations == 2 * first + 2)
    }

    /// Issue 8: the crash.toml shape sent as a reload killed the running agent (Swift's regex
    /// parser overflowed its stack). Now it is refused and the old policy keeps working.
    @Test func aReloadWithTheCrashPolicyIsRefusedAndTheOldPolicyKept() async throws {
        let h = try Harness(policy: threeGroups)
        h.spawn(100, "burn_a")
        await h.agent.tick()
        h.rewrite(threeGroups + "\n[[group]]\nname = \"crash\"\nshares = 1\nmatch.cmdline = \"" + String(repeating: "[", count: 2117) + "\"\n")
        let outcome = await h.agent.reload()
        #expect(!outcome.applied)
        h.spawn(101, "burn_b")
        await h.agent.tick()
        #expect(h.kernel.cgroupOf(101) == "/fairshare/mid")
        #expect(h.kernel.cgroupOf(100) == "/fairshare/low")
    }
}
