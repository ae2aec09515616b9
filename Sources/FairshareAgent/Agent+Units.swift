import FairshareCore
import FairshareEdge
import FairshareLinux
import Logging

extension Agent {
    // MARK: Unit-backed groups

    /// Observe: asks systemd which units of the unit-backed groups are running and where their
    /// cgroups are, and hands that to the classifier (processes in there are never moved). Runs
    /// every pass, before the enforcement plan: one ListUnitsByPatterns call (the units' cgroups
    /// are cached by the manager), so a new user's user-1001.slice is weighted, and its
    /// processes left alone, from the next pass on. When systemd can not be asked, the last
    /// listing stays in force.
    func refreshUnits() {
        systemdUnreachable = nil
        let patterns = Array(Set(policy.unitGroups.flatMap { $0.match.units.map(\.pattern) })).sorted()
        if patterns.isEmpty {
            listedUnits = []
            unitsKnown = true
        } else {
            do throws(UnitError) {
                listedUnits = try env.units.units(matching: patterns)
                unitsKnown = true
                if unitListingFailure != nil {
                    log(.notice, "warning", "systemd answers again: \(listedUnits.count) unit(s) of unit-backed groups running", [:])
                    unitListingFailure = nil
                }
            } catch {
                if error.isUnreachable { systemdUnreachable = error.description }
                if unitListingFailure != error.description {
                    log(.error, "error", "cannot list the units of unit-backed groups (\(patterns.joined(separator: ", "))) through systemd: \(error); "
                        + (unitsKnown ? "keeping the last listing" : "moving no process until systemd answers, so none is taken out of a unit"),
                        ["method": .string(error.method)])
                    unitListingFailure = error.description
                }
            }
        }
        let placements = UnitPlacement.assign(units: listedUnits.map { ($0.name, $0.controlGroup) }, policy: policy)
        // The agent's subtree is no unit's (with the mount itself as root, its groups are
        // top-level cgroups, beside systemd's slices: nothing to exclude).
        unitCgroups = UnitCgroups(placements: placements, excluded: env.cgroups.root.isRoot ? nil : env.cgroups.root.description)
        classifier.units = unitCgroups
    }

    /// Act: weights for every running unit from its group's shares, on the same scale as the
    /// agent's own groups; written only when they differ from what was applied last. Units that
    /// left (stopped, or their group left the policy) get their own weights back.
    func applyUnitWeights() {
        let cpu = policy.cpuWeights()
        let io = policy.ioWeights()
        var weights: [GroupName: UnitWeights] = [:]
        for g in policy.unitGroups { weights[g.name] = UnitWeights(cpu: cpu[g.name], io: io[g.name]) }

        for unit in unitBook.unitsWithoutOriginal(unitCgroups.placements.map(\.unit)) where systemdUnreachable == nil {
            do throws(UnitError) {
                unitBook.noteOriginal(unit, try env.units.weights(of: unit))
            } catch {
                if error.isUnreachable { systemdUnreachable = error.description }
                guard error.kind != .gone, !unitBook.failing.contains(unit) else { continue }
                unitBook.noteFailure(unit)
                log(.error, "error", "cannot read the weights of unit \(unit) through systemd, so they are not changed yet: \(error)",
                    ["unit": .string(unit), "method": .string(error.method)])
            }
        }
        perform(unitBook.plan(desired: unitCgroups.placements, weights: weights))
    }

    /// Shutdown: every unit the agent changed gets its own weights back, so stopping the agent
    /// leaves systemd's configuration as it found it.
    func restoreUnits() {
        systemdUnreachable = nil
        perform(unitBook.planRestoreAll())
        saveOrigins()
        if let why = systemdUnreachable, !unitBook.originals.isEmpty {
            log(.error, "error", "units keep the weights the agent gave them, systemd can not be reached (\(why)): "
                + unitBook.originals.keys.sorted().joined(separator: ", ")
                + "; they are gone at the next reboot, or: systemctl set-property --runtime UNIT CPUWeight= IOWeight=", [:])
        }
    }

    /// Every call waits up to the bus timeout: once systemd does not answer (or the connection
    /// is gone), the pass makes no further calls, so a hung systemd costs one timeout per pass
    /// rather than one per unit (the watchdog allows 30 s).
    func perform(_ actions: [UnitWeightBook.Action]) {
        for action in actions where systemdUnreachable == nil {
            let alreadyReported = unitBook.failing.contains(action.unit)
            let outcome: UnitWeightBook.Outcome
            do throws(UnitError) {
                switch action {
                case .set(let unit, _, let w), .restore(let unit, let w):
                    try env.units.setWeights(w, of: unit)
                }
                outcome = .done
            } catch {
                if error.isUnreachable { systemdUnreachable = error.description }
                outcome = error.kind == .gone ? .gone : .failed(error.description)
            }
            let original = unitBook.originals[action.unit]
            unitBook.record(action, outcome)
            report(action, outcome, original: original, alreadyReported: alreadyReported)
        }
    }

    private func report(_ action: UnitWeightBook.Action, _ outcome: UnitWeightBook.Outcome, original: UnitWeights?, alreadyReported: Bool) {
        switch (action, outcome) {
        case (.set(let unit, let g, let w), .done):
            let shares = policy.group(named: g).map { String($0.shares.value) } ?? ""
            log(.info, "unit_weights",
                "unit \(unit) (group \(g)): CPUWeight=\(w.cpu ?? 0), IOWeight=\(w.io ?? 0) through systemd (shares \(shares); the unit had \(original?.description ?? "?"))",
                ["group": .string(g.rawValue), "unit": .string(unit), "cpu_weight": .string(String(w.cpu ?? 0)),
                 "io_weight": .string(String(w.io ?? 0)), "shares": .string(shares)])
        case (.restore(let unit, let w), .done):
            log(.info, "unit_restored", "unit \(unit) has its own weights back: \(w)", ["unit": .string(unit)])
        case (.restore(let unit, _), .gone):
            log(.debug, "unit_restored", "unit \(unit) is gone: no weights to give back", ["unit": .string(unit)])
        case (_, .failed(let why)):
            guard !alreadyReported else { return }
            var meta: Logger.Metadata = ["unit": .string(action.unit)]
            let what: String
            switch action {
            case .set(let unit, let g, let w):
                meta["group"] = .string(g.rawValue)
                what = "setting \(w) on unit \(unit) (group \(g))"
            case .restore(let unit, let w):
                what = "giving unit \(unit) its own weights back (\(w))"
            }
            log(.error, "error", "\(what) through systemd failed, tried again next pass: \(why)", meta)
        default:
            break
        }
    }

    /// Observe: each unit-backed group's usage, from its running units' own cgroups (read only).
    /// A unit whose cgroup vanished simply drops out.
    func sampleUnits(at now: UInt64) {
        for g in policy.unitGroups {
            var parts: [(key: String, sample: UsageSampler.Sample)] = []
            for p in unitCgroups.placements(of: g.name) {
                guard let path = CgroupPath(p.cgroup), let cpu = try? env.cgroups.cpuStat(at: path) else { continue }
                let io = try? env.cgroups.ioStat(at: path)
                let pressure = try? env.cgroups.pressure(at: path)
                parts.append((p.unit, .init(cpu: cpu, io: io, pressure: pressure, at: now)))
            }
            sampler.record(g.name, parts: parts, at: now)
        }
    }

    /// Processes per unit-backed group: those in its units' cgroups.
    func unitMemberCounts(_ processes: [ProcessInfo]) -> [GroupName: Int] {
        guard !unitCgroups.placements.isEmpty else { return [:] }
        var counts: [GroupName: Int] = [:]
        for p in processes where !p.isKernelThread {
            if let u = unitCgroups.placement(containing: p.cgroup) { counts[u.group, default: 0] += 1 }
        }
        return counts
    }

    /// Observe: weights and populated flags along the paths of every group's cgroups, for the
    /// machine share in status. Costs one readdir per ancestor and two small reads per child
    /// (under qemu without KVM, 23 ms for 13 cgroups), so it runs on the first pass after start
    /// or reload and every `hierarchyEveryPasses` passes; populated flags and weights of
    /// slices change slowly, and the figure is for reading, not for deciding.
    func refreshHierarchy() {
        defer { passesSinceHierarchy += 1 }
        guard hierarchy.nodes.isEmpty || passesSinceHierarchy >= Self.hierarchyEveryPasses else { return }
        passesSinceHierarchy = 0
        var paths = policy.agentGroups.map { env.cgroups.path(of: $0.name) }
        paths += unitCgroups.placements.compactMap { CgroupPath($0.cgroup) }
        hierarchy = env.cgroups.hierarchySnapshot(around: paths)
    }

    /// The share of the machine (percent) that follows from the hierarchy, per group.
    func machineSharePercent(_ g: GroupPolicy) -> Double? {
        let fraction: Double?
        if g.isUnitBacked {
            fraction = MachineShare.fraction(ofAll: unitCgroups.placements(of: g.name).map(\.cgroup), in: hierarchy)
        } else {
            fraction = MachineShare.fraction(of: env.cgroups.path(of: g.name).description, in: hierarchy)
        }
        return fraction.map { $0 * 100 }
    }
}
