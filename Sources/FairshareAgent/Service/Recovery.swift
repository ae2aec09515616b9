import FairshareCore
import FairshareEdge
import FairshareLinux
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// What `fairshare recover` (the unit's ExecStopPost=) does once the agent has exited.
///
/// A clean stop leaves nothing to do: the agent gave every process back and removed its
/// groups. After a crash (kill -9, a core dump, the watchdog) the groups are still populated
/// and the delegated cgroup still enables controllers, which would keep systemd from starting
/// the next agent in it (cgroup v2: no processes in a cgroup that enables controllers). Then
/// the processes stay where they are and only the controllers are turned off, so the restarted
/// agent adopts them (Restart=on-failure). Any other way out (the stop timed out, the agent
/// failed to start, run by hand) gives every process back to where it came from.
public enum Recovery {
    public enum Mode: String, Sendable, CaseIterable {
        /// Keep processes in their groups for the next agent (a restart follows).
        case keep
        /// Give every process back and remove the groups.
        case handBack = "hand-back"
    }

    /// systemd's $SERVICE_RESULT for an agent that died abnormally and is restarted by
    /// Restart=on-failure; anything else means nobody will adopt the groups.
    public static func mode(serviceResult: String?) -> Mode {
        switch serviceResult {
        case "signal", "core-dump", "watchdog": .keep
        default: .handBack
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var mode: Mode
        /// Groups left populated (keep: all that had processes; hand-back: those that failed),
        /// and groups whose cgroup.procs could not be read (counted as populated: nothing is
        /// assumed empty that was not seen empty).
        public var populatedGroups: [GroupName]
        public var controllersReleased: [String]
        /// False when there was nothing to recover (a clean stop left no group and no unit).
        public var acted = true
        /// Hand-back: what the agent's shutdown path really did.
        public var release: ReleaseReport?
        /// Readings that failed, each saying what and why.
        public var problems: [String] = []
    }

    /// Recovers the subtree at `tree.root`. `origins` is the agent's ledger.
    /// - Parameter units: systemd, to give units their own weights back (hand-back).
    public static func run(mode: Mode, tree: CgroupTree, processes: any ProcessSource, origins: any OriginStore,
                           units: any UnitManager = UnavailableUnitManager(),
                           capacityCPUs: Int, logger: Logger) async throws(CgroupError) -> Outcome {
        var problems: [String] = []
        let groups = Observer.listGroups(tree)
        if let why = groups.unavailableReason { problems.append("cannot list the groups under \(tree.rootAbsolutePath): \(why)") }
        var changedUnits: [String: UnitWeights] = [:]
        do {
            if let text = try origins.load() { changedUnits = try OriginLedger.decode(text).unitOriginals }
        } catch {
            problems.append("cannot read the origin ledger (units the agent changed are not known): \(error)")
        }
        if mode == .handBack, groups.value?.isEmpty == true, changedUnits.isEmpty, problems.isEmpty {
            // A clean stop: the agent already gave everything back.
            return Outcome(mode: mode, populatedGroups: [], controllersReleased: [], acted: false)
        }
        var release: ReleaseReport?
        if mode == .handBack {
            // The agent's own shutdown path, seeded from the ledger (processes and units), with
            // no groups wanted.
            let env = AgentEnvironment(cgroups: tree, processes: processes, clock: SystemClock(), notifier: SilentNotifier(),
                                       readFile: { try readTextFile($0) }, agentPID: getpid(), capacityCPUs: capacityCPUs,
                                       origins: origins, units: units)
            let agent = Agent(policy: Policy(groups: []), policyPath: "(recover)", env: env, logger: logger)
            release = await agent.shutdown()
            // Without /proc nobody was given back: the ledger keeps every origin for a later try.
            if let why = release?.processesUnreadable { problems.append(why) }
            // The agent's empty leaf is no group: remove it too (ENOENT/EBUSY are fine).
            do throws(CgroupError) { try tree.fs.remove(tree.agentLeaf) } catch {
                if error.kind != .gone && error.kind != .busy { problems.append("cannot remove the agent's leaf cgroup: \(error)") }
            }
        }
        var populated: [GroupName] = []
        let remaining = Observer.listGroups(tree)
        switch remaining {
        case .value(let left):
            for g in left.sorted() {
                do throws(CgroupError) {
                    if !(try tree.members(of: g)).isEmpty { populated.append(g) }
                } catch {
                    problems.append("cannot read the processes of group \(g): \(error); counted as populated")
                    populated.append(g)
                }
            }
        case .unavailable(let why):
            problems.append("cannot list the groups under \(tree.rootAbsolutePath) afterwards: \(why)")
        }
        let released = populated.isEmpty && mode == .handBack && problems.isEmpty ? [] : try tree.releaseControllers(groups: remaining.value ?? [])
        return Outcome(mode: mode, populatedGroups: populated, controllersReleased: released, release: release, problems: problems)
    }
}

/// sd_notify from ExecStopPost= would be ignored (NotifyAccess=main); say nothing.
struct SilentNotifier: ServiceNotifier {
    func notify(_ state: String) {}
}

extension Recovery {
    /// Whether an agent answers on the control socket: what `recover` must know before it
    /// touches anything.
    public enum AgentPresence: Sendable, Equatable {
        case running(pid: Int32)
        /// No socket file, or nothing listens on it: the agent has exited.
        case gone
    }

    /// Asks the socket for the status. Only "no socket" and "nobody listens" mean the agent is
    /// gone; anything else (an agent that answers without a status, a full queue, a timeout, an
    /// unreadable answer, a socket of another kind) throws: recovering then could hand processes
    /// back from under a live agent.
    public static func agentPresence(socket: String, timeoutSeconds: Int = 5) throws(ControlSocketError) -> AgentPresence {
        let response: ControlResponse
        do throws(ControlSocketError) {
            response = try ControlClient.send(ControlRequest(command: .status), to: socket, timeoutSeconds: timeoutSeconds)
        } catch {
            if error.kind == .notRunning { return .gone }
            throw error
        }
        guard response.ok, let status = response.status else {
            throw ControlSocketError(path: socket, kind: .badAnswer,
                                     message: "an agent answers here but sent no status (\(response.error ?? "no reason given")); it may be stopping")
        }
        return .running(pid: status.agent.pid)
    }
}
