import FairshareCore
import FairshareEdge
import FairshareLinux

#if canImport(Glibc)
import Glibc
#endif

/// The act stage: carries out a plan's steps in order, every cgroup write, ledger write and
/// D-Bus call of a pass, and answers each with what the edge did. It decides nothing beyond two
/// rules that protect what is already true:
/// - write-ahead: when the origin ledger could not be written, the moves and unit writes after
///   it are skipped (the rest of the plan runs);
/// - once systemd is found unreachable, no further call is made in this plan.
struct Actuator: Sendable {
    let env: AgentEnvironment

    func perform(_ plan: Plan) -> [StepOutcome] {
        var ledgerFailure: String?
        var unreachable: String?
        var outcomes: [StepOutcome] = []
        outcomes.reserveCapacity(plan.steps.count)
        for step in plan.steps {
            if step.needsRecordedOrigins, let why = ledgerFailure {
                outcomes.append(.skipped("the origin ledger could not be written (\(why))"))
                continue
            }
            if step.isUnitCall, let why = unreachable {
                outcomes.append(.skipped("systemd is unreachable (\(why))"))
                continue
            }
            let outcome: StepOutcome
            switch step {
            case .recordOrigins(let contents):
                outcome = record(contents)
                if case .failed(_, let message) = outcome { ledgerFailure = message }
            case .setUnitWeights(let unit, _, let w), .restoreUnitWeights(let unit, let w):
                do throws(UnitError) {
                    try env.units.setWeights(w, of: unit)
                    outcome = .done
                } catch {
                    if error.isUnreachable { unreachable = error.description }
                    outcome = error.kind == .gone ? .gone : .failed(cause: error.name ?? error.errno.map(ErrnoText.name) ?? "error", message: error.description)
                }
            default:
                outcome = write(step)
            }
            outcomes.append(outcome)
        }
        return outcomes
    }

    private func record(_ contents: OriginLedger.Contents) -> StepOutcome {
        // Without a store (tests, `fairshare recover`) the ledger lives in memory only.
        guard let store = env.origins else { return .done }
        do {
            try store.save(OriginLedger.encode(contents))
            return .done
        } catch let error as FileWriteError {
            return .failed(cause: ErrnoText.name(error.errno), message: error.description)
        } catch {
            return .failed(cause: "\(error)", message: "\(error)")
        }
    }

    private func write(_ step: Step) -> StepOutcome {
        let tree = env.cgroups
        do throws(CgroupError) {
            switch step {
            case .createGroup(let g):
                try tree.ensureGroup(g)
            case .set(let setting):
                do {
                    try tree.write(setting)
                } catch where error.kind == .gone && tree.groupExists(setting.group) {
                    // The group is there but the file is not: what that means is the row's.
                    let g = setting.group
                    switch setting.row.absence {
                    case .controllerOff(let why):
                        return .failed(cause: ErrnoText.name(error.errno), message: "\(error) (\(why(g)))")
                    case .kernelLacks(let harmless, let why):
                        if setting.value.fileText == harmless { return .done }
                        return .failed(cause: GroupFile.lacksCause(setting.file), message: "\(error) (\(why(g)))")
                    }
                }
            case .move(let id, _, let g, _, _):
                defer { env.processes.invalidate(id.pid) }
                try tree.move(pid: id.pid, to: g)
            case .restore(let id, _, _, let origin):
                defer { env.processes.invalidate(id.pid) }
                guard let target = CgroupPath(origin) else {
                    throw CgroupError(.write, path: origin, value: String(id.pid), errno: EINVAL)
                }
                try tree.restore(pid: id.pid, to: target)
            case .removeGroup(let g):
                try tree.removeGroup(g)
            case .adopt, .recordOrigins, .setUnitWeights, .restoreUnitWeights:
                break
            }
            return .done
        } catch {
            // A vanished process, or a group removed behind our back (created again next pass).
            if error.kind == .gone { return .gone }
            return .failed(cause: ErrnoText.name(error.errno), message: error.description)
        }
    }
}
