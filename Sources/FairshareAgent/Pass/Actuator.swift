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
                    outcome = error.kind == .gone ? .gone : .failed(cause: error.name ?? error.errno.map(errnoName) ?? "error", message: error.description)
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
            return .failed(cause: errnoName(error.errno), message: error.description)
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
            case .setCPUWeight(let g, let w, _):
                try tree.setCPUWeight(w, of: g)
            case .setIOWeight(let g, let w, _):
                do {
                    try tree.setIOWeight(w, of: g)
                } catch where error.kind == .gone && tree.groupExists(g) {
                    // The group is there but has no io.weight: the io controller is not enabled
                    // for it. Not a vanished target: a failure to report (once) and retry.
                    return .failed(cause: errnoName(error.errno), message: "\(error) (the io controller is not enabled for group \(g); cpu shares still apply)")
                }
            case .setBFQWeight(let g, let w):
                do {
                    try tree.setBFQWeight(w, of: g)
                } catch where error.kind == .gone && tree.groupExists(g) {
                    // No io.bfq.weight in a group that exists: the io controller is off for it,
                    // or the bfq module went away since the disks were read.
                    return .failed(cause: errnoName(error.errno), message: "\(error) (no io.bfq.weight in group \(g): the io controller is not enabled for it, or BFQ is no longer loaded)")
                }
            case .setCPUIdle(let g, let idle):
                do {
                    try tree.setCPUIdle(idle, of: g)
                } catch where error.kind == .gone && tree.groupExists(g) {
                    // The group is there but has no cpu.idle: a kernel before 5.15. No group
                    // can be idle there, so "not idle" holds already.
                    if !idle { return .done }
                    return .failed(cause: Step.noCPUIdleCause,
                                   message: "\(error) (this kernel has no cpu.idle, which needs Linux 5.15 or later; group \(g) runs as an ordinary group with cpu.weight 1 instead)")
                }
            case .setCPUMax(let g, let value):
                try tree.setCPUMax(value, of: g)
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
            return .failed(cause: errnoName(error.errno), message: error.description)
        }
    }
}

/// The symbolic name of an errno ("EACCES"), the key failures are told apart by.
func errnoName(_ e: Int32) -> String {
    switch e {
    case EPERM: "EPERM"
    case ENOENT: "ENOENT"
    case ESRCH: "ESRCH"
    case EINTR: "EINTR"
    case EIO: "EIO"
    case E2BIG: "E2BIG"
    case EBADF: "EBADF"
    case EAGAIN: "EAGAIN"
    case ENOMEM: "ENOMEM"
    case EACCES: "EACCES"
    case EBUSY: "EBUSY"
    case EEXIST: "EEXIST"
    case ENOTDIR: "ENOTDIR"
    case EINVAL: "EINVAL"
    case ENOSPC: "ENOSPC"
    case EROFS: "EROFS"
    case ERANGE: "ERANGE"
    case ENAMETOOLONG: "ENAMETOOLONG"
    case ENOTEMPTY: "ENOTEMPTY"
    case EOPNOTSUPP: "EOPNOTSUPP"
    case ETIMEDOUT: "ETIMEDOUT"
    case EDQUOT: "EDQUOT"
    default: "errno \(e)"
    }
}
