import FairshareCore
import FairshareEdge
import Logging

extension Agent {
    // MARK: Redistribution

    /// Turns the interval's observations into allocations, effective weights and cpu.max
    /// values (Controller, pure), writes what changed, and reports borrowing and floors.
    func control() {
        // Unit-backed groups take no part: systemd owns their cgroups (Controller.decide).
        let present = policy.agentGroups.filter { sampler.rates[$0.name] != nil }
        guard !present.isEmpty else { return }
        let seconds = present.compactMap { sampler.rates[$0.name]?.seconds }.max() ?? interval.seconds
        let observations = policy.agentGroups.map { g -> Controller.Observation in
            let r = sampler.rates[g.name] ?? .zero
            return Controller.Observation(group: g.name, usage: r.cpus, throttled: r.throttledIncrease > 0, pressure: r.pressure,
                                          hasMembers: (groupsWithMembers[g.name] ?? 0) > 0)
        }
        let decision = controller.decide(policy: policy, observations: observations, capacity: Double(max(env.capacityCPUs, 1)), interval: seconds)
        var actions: [Enforcer.Action] = []
        let existing = existingGroups()
        for d in decision.groups where existing.contains(d.group) {
            let cpuMax = Controller.cpuMaxText(d.cpuMax)
            if enforcer.appliedCPUMax[d.group] != cpuMax { actions.append(.setCPUMax(d.group, cpuMax)) }
            let io = ioWeight(for: d)
            if let applied = enforcer.appliedWeights[d.group], applied != (d.cpuWeight, io) {
                actions.append(.adjustWeights(d.group, cpu: d.cpuWeight, io: io))
            }
        }
        perform(actions)
        reportTransitions(from: lastDecision, to: decision)
        lastDecision = decision
    }

    /// io.weight follows the fairness factor too (floors are CPU only).
    private func ioWeight(for d: Controller.GroupDecision) -> Int {
        guard let g = policy.group(named: d.group) else { return 100 }
        let base = policy.ioWeights()[d.group] ?? g.ioShares.value
        return min(max(Int((Double(base) * d.factor).rounded()), 1), WeightMapping.weightRange.upperBound)
    }

    func effectiveWeights() -> [GroupName: (cpu: Int, io: Int)] {
        guard let last = lastDecision else { return [:] }
        var out: [GroupName: (cpu: Int, io: Int)] = [:]
        for d in last.groups where policy.group(named: d.group) != nil { out[d.group] = (d.cpuWeight, ioWeight(for: d)) }
        return out
    }

    private func reportTransitions(from old: Controller.Decision?, to new: Controller.Decision) {
        for d in new.groups {
            let before = old?.decision(for: d.group)
            let g = ["group": Logger.MetadataValue.string(d.group.rawValue)]
            let wasBorrowing = (before?.share.borrowed ?? 0) > 0.005
            let borrowing = d.share.borrowed > 0.005
            if borrowing && !wasBorrowing {
                log(.notice, "borrow_started", "group \(d.group) borrows idle capacity: allowed \(fmt2(d.cpuMax ?? 0)) CPUs, \(fmt2(d.share.borrowed)) above its max",
                    g.merging(["borrowed_cpus": .string(fmt2(d.share.borrowed))]) { a, _ in a })
            } else if !borrowing && wasBorrowing {
                log(.notice, "borrow_stopped", "group \(d.group) stops borrowing: back to its max of \(fmt2(d.cpuMax ?? 0)) CPUs (\(d.demandReason) elsewhere)", g)
            }
            let atFloor = d.share.limit == .floor
            if atFloor && before?.share.limit != .floor {
                log(.notice, "floor_hit", "group \(d.group) is held at its floor of \(fmt2(d.share.allocation)) CPUs: cpu.weight raised to \(d.cpuWeight)", g)
            } else if !atFloor && before?.share.limit == .floor {
                log(.info, "floor_released", "group \(d.group) no longer needs its floor (\(d.share.limit.rawValue))", g)
            }
        }
    }

    private func fmt2(_ x: Double) -> String {
        FixedPoint.format(x, places: 2)
    }
}
