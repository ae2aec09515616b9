import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareSystemd
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// What `fairshare run` was asked to do.
public struct RunOptions: Sendable {
    public var policyPath: String
    /// Wins over the policy's cgroup_root.
    public var cgroupRoot: String?
    /// Wins over the policy's interval.
    public var interval: Duration?
    public var socketPath: String

    public init(policyPath: String, cgroupRoot: String?, interval: Duration?, socketPath: String) {
        self.policyPath = policyPath
        self.cgroupRoot = cgroupRoot
        self.interval = interval
        self.socketPath = socketPath
    }
}

/// The origin ledger sits beside the control socket (/run/fairshare/origins under systemd).
public func originLedgerPath(socketPath: String) -> String { ControlClient.path(named: "origins", beside: socketPath) }

/// A startup failure: the agent exits 1 with this message, having changed nothing it can not undo.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// Wires the real edges to the agent and runs it as a service until SIGTERM or SIGINT.
public enum AgentRunner {
    public static func run(_ options: RunOptions, logger: Logger) async throws {
        keepLargeAllocationsOffTheHeap()
        // First, so the reserve's descriptors are the lowest numbers: below any limit that is
        // lowered later (prlimit), they are what the agent works on once the table is full.
        DescriptorReserve.shared.arm()
        // SIGHUP's default action ends the process: ignore it until the reload handler is in
        // place, so an early `systemctl reload` can not kill the agent.
        signal(SIGHUP, SIG_IGN)
        let notifier = SystemdNotifier()
        let text: String
        do throws(PolicyFileError) { text = try readTrustedPolicy(path: options.policyPath) } catch {
            if case .invalidText = error { throw StartupError(description: "invalid policy, not starting:\n\(error)") }
            throw StartupError(description: "\(error); not starting")
        }
        let policy: Policy
        do { policy = try PolicyParser.parse(text, file: options.policyPath, resolveUser: AccountDatabase.uid(ofUser:)) } catch {
            throw StartupError(description: "invalid policy, not starting:\n\(error)")
        }

        let mountPoint: String
        let root: CgroupPath
        let selfCgroup: String
        let setting = options.cgroupRoot.map(CgroupRootSetting.path) ?? policy.agent.cgroupRoot
        do {
            mountPoint = try CgroupEnvironment.mountPointOfThisProcess()
            try CgroupTree.checkControllersAvailable(LinuxCgroupFilesystem(mountPoint: mountPoint))
            selfCgroup = try CgroupEnvironment.cgroupOfThisProcess()
            root = try CgroupEnvironment.root(setting: setting, mountPoint: mountPoint, selfCgroup: selfCgroup)
        } catch {
            throw StartupError(description: "\(error)")
        }
        let fs = LinuxCgroupFilesystem(mountPoint: mountPoint)
        let tree = CgroupTree(fs: fs, root: root, pause: { d in
            usleep(UInt32(d.milliseconds * 1000))
        })
        let pid = getpid()
        // A delegated root's ancestors belong to systemd: never write them.
        let preparation = CgroupPreparation(agentCgroup: CgroupPath(selfCgroup), configureAncestors: setting != .auto)
        // Enforcing from the start: a tree that can not be made ready stops the start. Observing,
        // nothing is written until a reload asks for enforcing (the agent prepares it then).
        if policy.agent.mode == .enforce {
            do {
                let notes = try tree.prepare(agentPID: pid, agentCgroup: preparation.agentCgroup, configureAncestors: preparation.configureAncestors)
                CgroupPreparation.log(notes, to: logger)
            } catch {
                throw StartupError(description: "\(error)")
            }
        }
        let capacity = tree.capacityCPUs(fallback: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let problems = PolicyParser.capacityProblems(policy, capacity: Double(capacity))
        if !problems.isEmpty {
            throw StartupError(description: "invalid policy for this machine (\(capacity) CPUs), not starting:\n\(PolicyError(problems: problems))")
        }
        // Subscribed before the agent's first scan, so nothing that starts in between is lost.
        let (events, eventsUnavailable) = subscribeToProcessEvents(logger: logger)
        if events == nil { BackgroundScheduling.apply(logger: logger) }
        let env = AgentEnvironment(
            // With events, /proc is read in full only by the rare rescans: no per-process cache.
            cgroups: tree, processes: events == nil ? IncrementalProcessSource() : LinuxProcessSource(), clock: SystemClock(), notifier: notifier,
            readFile: { try readTrustedPolicy(path: $0) }, agentPID: pid,
            capacityCPUs: capacity,
            origins: FileOriginStore(path: originLedgerPath(socketPath: options.socketPath)),
            units: SystemdUnitManager(),
            events: events, eventsUnavailable: eventsUnavailable,
            metricsFiles: LinuxMetricsFiles(),
            disks: LinuxIODisks(cgroupMount: mountPoint),
            descriptors: DescriptorReserve.shared,
            preparation: preparation
        )
        let agent = Agent(policy: policy, policyPath: options.policyPath, env: env, logger: logger, intervalOverride: options.interval,
                          version: fairshareVersion)

        let server: ControlServer
        do {
            server = try await ControlServer.bind(path: options.socketPath) { request, peer in
                await AgentServices.handle(request, peer: peer, agent: agent)
            }
        } catch {
            throw StartupError(description: "control socket: \(error)")
        }
        if let problem = server.accessProblem { logger.warning("control socket: \(problem)", metadata: ["event": "warning"]) }
        // Anyone's own share (`fairshare status --mine`): a socket of its own, so that what any
        // user sends there can not take the root socket's connections.
        let userServer: ControlServer
        do {
            userServer = try await ControlServer.bind(path: ControlClient.userSocketPath(beside: options.socketPath), mode: ControlServer.userSocketMode,
                                                      accessGroup: nil) { request, peer in
                await AgentServices.handleUser(request, peer: peer, agent: agent)
            }
        } catch {
            throw StartupError(description: "user socket: \(error)")
        }

        let group = ServiceGroup(configuration: .init(
            services: AgentServices.services(agent: AgentService(agent: agent, watchdog: SystemdNotifier.watchdogInterval()), controlSocket: server,
                                             userSocket: userServer),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "fairshare.lifecycle", factory: { _ in SwiftLogNoOpLogHandler() })
        ))
        try await group.run()
    }

    /// The kernel's proc connector, subscribed; or why not (the agent then scans every pass).
    static func subscribeToProcessEvents(logger: Logger) -> ((any ProcessEventSource)?, String?) {
        let listener = NetlinkProcessEvents()
        do throws(ProcessEventsUnavailable) {
            try listener.open()
        } catch {
            return (nil, error.reason)
        }
        let buffer = "receive buffer \(listener.receiveBufferBytes / 1024) KiB" + (listener.receiveBufferForced ? "" : " (SO_RCVBUFFORCE refused: bursts overflow sooner)")
        logger.info("listening to the kernel's process events (proc connector), \(buffer)", metadata: ["event": "setup"])
        return (listener, nil)
    }
}

/// Without kernel events the agent runs under SCHED_BATCH: it keeps its fair share of CPU, but
/// its periodic wakeups (each a full /proc scan) do not preempt the workloads it manages (each
/// preemption perturbs the kernel's placement of their tasks, which is visible in the very
/// shares the agent is there to enforce). With events it stays SCHED_OTHER: its work is then a
/// reaction to an exec, and under SCHED_BATCH that reaction waited for the running task's time
/// slice (in the guest: 4.3 ms median, 31 ms p99 from event to move, on a busy machine).
enum BackgroundScheduling {
    static let schedBatch: Int32 = 3  // SCHED_BATCH, include/uapi/linux/sched.h (needs _GNU_SOURCE in C)

    static func apply(logger: Logger) {
        // A policy is per thread and inherited by threads created later: set it on every
        // thread that exists already.
        let threads: [Int32]
        do throws(SystemFileError) {
            threads = try DirectoryEntries.list("/proc/self/task").compactMap { Int32($0.name) }
        } catch {
            logger.warning("cannot set SCHED_BATCH: \(error); the agent keeps SCHED_OTHER", metadata: ["event": "warning"])
            return
        }
        var param = sched_param(sched_priority: 0)
        for tid in threads {
            if sched_setscheduler(tid, schedBatch, &param) != 0 {
                logger.warning("cannot set SCHED_BATCH on thread \(tid): \(String(cString: strerror(errno)))", metadata: ["event": "warning"])
            }
        }
    }
}
