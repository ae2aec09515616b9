import FairshareCore
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
public func originLedgerPath(socketPath: String) -> String {
    let directory = socketPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    return (directory.isEmpty ? "." : directory) + "/origins"
}

/// A startup failure: the agent exits 1 with this message, having changed nothing it can not undo.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// Wires the real edges to the agent and runs it as a service until SIGTERM or SIGINT.
public enum AgentRunner {
    public static func run(_ options: RunOptions, logger: Logger) async throws {
        // SIGHUP's default action ends the process: ignore it until the reload handler is in
        // place, so an early `systemctl reload` can not kill the agent.
        signal(SIGHUP, SIG_IGN)
        BackgroundScheduling.apply(logger: logger)
        let notifier = SystemdNotifier()
        let text: String
        do throws(PolicyFileError) { text = try readTrustedPolicy(path: options.policyPath) } catch {
            if case .invalidText = error { throw StartupError(description: "invalid policy, not starting:\n\(error)") }
            throw StartupError(description: "\(error); not starting")
        }
        let policy: Policy
        do { policy = try PolicyParser.parse(text, file: options.policyPath) } catch {
            throw StartupError(description: "invalid policy, not starting:\n\(error)")
        }

        let mountPoint: String
        let root: CgroupPath
        let selfCgroup: String
        let setting = options.cgroupRoot.map(CgroupRootSetting.path) ?? policy.agent.cgroupRoot
        do {
            mountPoint = try CgroupEnvironment.mountPoint(mountinfo: (try? readTextFile("/proc/self/mountinfo")) ?? "")
            try CgroupTree.checkControllersAvailable(LinuxCgroupFilesystem(mountPoint: mountPoint))
            selfCgroup = ProcFormat.parseCgroupV2Path((try? readTextFile("/proc/self/cgroup")) ?? "") ?? "/"
            root = try CgroupEnvironment.root(setting: setting, mountPoint: mountPoint, selfCgroup: selfCgroup)
        } catch {
            throw StartupError(description: "\(error)")
        }
        let fs = LinuxCgroupFilesystem(mountPoint: mountPoint)
        let tree = CgroupTree(fs: fs, root: root, pause: { d in
            usleep(UInt32(d.milliseconds * 1000))
        })
        let pid = getpid()
        do {
            // A delegated root's ancestors belong to systemd: never write them.
            for note in try tree.prepare(agentPID: pid, agentCgroup: CgroupPath(selfCgroup), configureAncestors: setting != .auto) {
                logger.info("\(note)", metadata: ["event": "setup"])
            }
        } catch {
            throw StartupError(description: "\(error)")
        }
        let capacity = tree.capacityCPUs(fallback: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let problems = PolicyParser.capacityProblems(policy, capacity: Double(capacity))
        if !problems.isEmpty {
            throw StartupError(description: "invalid policy for this machine (\(capacity) CPUs), not starting:\n\(PolicyError(problems: problems))")
        }
        let env = AgentEnvironment(
            cgroups: tree, processes: IncrementalProcessSource(), clock: SystemClock(), notifier: notifier,
            readFile: { try readTrustedPolicy(path: $0) }, agentPID: pid,
            capacityCPUs: capacity,
            origins: FileOriginStore(path: originLedgerPath(socketPath: options.socketPath)),
            units: SystemdUnitManager()
        )
        warnIfIOWeightIsInert(mountPoint: mountPoint, logger: logger)
        let agent = Agent(policy: policy, policyPath: options.policyPath, env: env, logger: logger, intervalOverride: options.interval)

        let server: ControlServer
        do {
            server = try await ControlServer.bind(path: options.socketPath) { request, peer in
                await Self.handle(request, peer: peer, agent: agent)
            }
        } catch {
            throw StartupError(description: "control socket: \(error)")
        }

        let group = ServiceGroup(configuration: .init(
            services: Self.services(agent: AgentService(agent: agent), controlSocket: server),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "fairshare.lifecycle", factory: { _ in SwiftLogNoOpLogHandler() })
        ))
        try await group.run()
    }

    /// The agent's services, in start order. A service group shuts down in reverse order, so the
    /// agent gives every process back and logs its final report while the socket still
    /// answers; the socket closes (and its file goes) only once the agent is done. So a socket
    /// that accepts always means an agent owns the cgroup subtree: a second `fairshare run`
    /// refuses to start while the first is still handing processes back, and `fairshare recover`
    /// (which does nothing while an agent answers) never races the agent's own hand-back.
    /// Should the socket fail by itself, the group shuts down gracefully (processes given back)
    /// and `run` exits non-zero, so systemd restarts the agent with a working socket.
    public static func services(agent: some Service, controlSocket: ControlServer) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        [
            .init(service: controlSocket, successTerminationBehavior: .gracefullyShutdownGroup,
                  failureTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: agent),
        ]
    }

    /// io.weight is written for every group, but only io.cost or BFQ honour it: say so once
    /// when neither is active, so nobody takes io_shares for enforced.
    static func warnIfIOWeightIsInert(mountPoint: String, logger: Logger) {
        let cost = IOWeightSupport.costEnabledDevices(qos: (try? readTextFile(mountPoint + "/io.cost.qos")) ?? "")
        let bfq = (DirectoryEntries.read("/sys/block") ?? []).map(\.name).filter { device in
            IOWeightSupport.isBFQ(scheduler: (try? readTextFile("/sys/block/\(device)/queue/scheduler")) ?? "")
        }
        if cost.isEmpty && bfq.isEmpty {
            logger.warning("io_shares have no effect on this machine: io.weight needs the io.cost controller (enable=1 in \(mountPoint)/io.cost.qos) or the BFQ scheduler on the devices; CPU shares are enforced as usual",
                           metadata: ["event": "warning"])
        }
    }

    /// One control request. Anyone who may open the socket may read; only root may reload.
    public static func handle(_ request: ControlRequest, peer: PeerCredentials, agent: Agent) async -> ControlResponse {
        switch request.command {
        case .status:
            return ControlResponse(ok: true, status: await agent.status())
        case .reload:
            guard peer.uid == 0 else {
                return .failure("permission denied: reloading the policy needs root (you are uid \(peer.uid))")
            }
            let outcome = await agent.reload()
            return ControlResponse(ok: outcome.applied, error: outcome.error, reload: outcome)
        case .explain:
            guard let pid = request.pid, pid > 0 else { return .failure("explain needs a pid > 0") }
            guard let report = await agent.explain(pid: pid) else { return .failure("no process with PID \(pid)") }
            return ControlResponse(ok: true, explain: report)
        }
    }
}

/// The agent as a swift-service-lifecycle service: ticks on a timer, reloads on SIGHUP, gives
/// everything back on graceful shutdown (SIGTERM, SIGINT).
public struct AgentService: Service {
    let agent: Agent
    /// systemd's WatchdogSec=, if set: the agent pings at a third of it.
    let watchdog: Duration?

    public init(agent: Agent, watchdog: Duration? = SystemdNotifier.watchdogInterval()) {
        self.agent = agent
        self.watchdog = watchdog
    }

    public func run() async throws {
        let (triggers, input) = AsyncStream<Trigger>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let agent = self.agent
        // Trap SIGHUP before the first pass (and READY=1), so no reload request is lost.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    // The interval may change on reload: read it before every sleep.
                    while !Task.isCancelled {
                        try? await Task.sleep(for: await agent.interval)
                        input.yield(.tick)
                    }
                }
                if let watchdog {
                    tasks.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: watchdog / 3)
                            input.yield(.watchdog)
                        }
                    }
                }
                tasks.addTask {
                    for await _ in hangups {
                        input.yield(.reload)
                    }
                }
                await agent.run(triggers: triggers)
                tasks.cancelAll()
            }
        } onGracefulShutdown: {
            input.yield(.shutdown)
        }
    }
}

/// The agent runs under SCHED_BATCH: it keeps its fair share of CPU, but its periodic wakeups
/// do not preempt the workloads it manages (each preemption perturbs the kernel's placement of
/// their tasks, which is visible in the very shares the agent is there to enforce).
enum BackgroundScheduling {
    static let schedBatch: Int32 = 3  // SCHED_BATCH, include/uapi/linux/sched.h (needs _GNU_SOURCE in C)

    static func apply(logger: Logger) {
        // A policy is per thread and inherited by threads created later: set it on every
        // thread that exists already.
        var param = sched_param(sched_priority: 0)
        for tid in (DirectoryEntries.read("/proc/self/task") ?? []).compactMap({ Int32($0.name) }) {
            if sched_setscheduler(tid, schedBatch, &param) != 0 {
                logger.warning("cannot set SCHED_BATCH on thread \(tid): \(String(cString: strerror(errno)))", metadata: ["event": "warning"])
            }
        }
    }
}
