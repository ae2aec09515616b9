import FairshareCore
import Testing

@testable import FairshareAgent

/// Issue 19: an unset value is said to be unset, never printed as 0 (a unit without
/// CPUWeight=, a borrower without a limit to go back to).
@Suite struct AgentEventTextTests {
    let g = GroupName("batch")!

    @Test func aUnitsUnsetWeightIsNotZero() {
        let e = AgentEvent.unitWeights(unit: "cron.service", group: g, UnitWeights(cpu: 200, io: nil), shares: 2, original: UnitWeights(cpu: nil, io: nil))
        #expect(e.message.contains("CPUWeight=200 IOWeight=[not set]"), "\(e.message)")
        #expect(e.message.contains("the unit had CPUWeight=[not set] IOWeight=[not set]"), "\(e.message)")
        #expect(!e.message.contains("=0"), "\(e.message)")
        #expect(e.fields["io_weight"] == nil, "no field for a value that is not set")
        #expect(e.fields["cpu_weight"] == .string("200"))
    }

    @Test func borrowingWithoutALimitSaysSo() {
        let stopped = AgentEvent.borrowStopped(g, max: nil, elsewhere: "hungry")
        #expect(stopped.message.contains("no limit (cpu.max max)") && !stopped.message.contains("0.00"), "\(stopped.message)")
        #expect(AgentEvent.borrowStopped(g, max: 1, elsewhere: "hungry").message.contains("back to its max of 1.00 CPUs"))
        let started = AgentEvent.borrowStarted(g, allowed: nil, borrowed: 0.5)
        #expect(started.message.contains("allowed without limit") && !started.message.contains("allowed 0.00"), "\(started.message)")
    }

    /// The writes of one group and one journal event in a pass are one entry, whatever the files.
    @Test func aGroupsWeightsAreOneEntryWithEveryFile() {
        let settings = [GroupSetting(g, .cpuWeight, SettingValue(CPUWeight(400)!)), GroupSetting(g, .ioWeight, SettingValue(IOWeight(200)!)),
                        GroupSetting(g, .ioBFQWeight, SettingValue(BFQWeight(200)!))]
        let e = AgentEvent.settings(g, settings, shares: 4, ioShares: 2)
        #expect(e.name == "weights")
        #expect(e.message == "group batch: cpu.weight 400, io.weight 200, io.bfq.weight 200 (shares 4, io_shares 2)")
        #expect(e.fields["io_bfq_weight"] == .string("200") && e.fields["cpu_weight"] == .string("400"))
        #expect(e.level == .info)
        let idle = AgentEvent.settings(g, [GroupSetting(g, .cpuIdle, SettingValue(CPUIdle(true)))], shares: nil, ioShares: nil)
        #expect(idle.name == "cpu_idle" && idle.message == "group batch: cpu.idle 1 (idle: runs only on CPU time no other group wants)")
        let effective = AgentEvent.settings(g, [GroupSetting(g, .cpuWeight, SettingValue(CPUWeight(412)!), source: .controller)], shares: 4, ioShares: 4)
        #expect(effective.message == "group batch: effective cpu.weight 412" && effective.level == .debug)
    }
}
