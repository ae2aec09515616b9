import FairshareCore
import ServiceLifecycle
import UnixSignals

/// The agent's place in a service group, and the control requests it answers. The real edges
/// are wired in `fairshare run` (AgentRunner); nothing here links libsystemd.
public enum AgentServices {
    /// The agent's services, in start order. A service group shuts down in reverse order, so the
    /// agent gives every process back and logs its final report while the socket still
    /// answers; the socket closes (and its file goes) only once the agent is done. So a socket
    /// that accepts always means an agent owns the cgroup subtree: a second `fairshare run`
    /// refuses to start while the first is still handing processes back, and `fairshare recover`
    /// (which does nothing while an agent answers) never races the agent's own hand-back.
    /// Should the socket fail by itself, the group shuts down gracefully (processes given back)
    /// and `run` exits non-zero, so systemd restarts the agent with a working socket.
    public static func services(agent: some Service, controlSocket: ControlServer, userSocket: ControlServer? = nil)
        -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let sockets = [controlSocket] + (userSocket.map { [$0] } ?? [])
        return sockets.map { socket in
            ServiceGroupConfiguration.ServiceConfiguration(service: socket, successTerminationBehavior: .gracefullyShutdownGroup,
                                                           failureTerminationBehavior: .gracefullyShutdownGroup)
        } + [.init(service: agent)]
    }

    /// One request on the user socket, which anyone may open: the caller's own share and
    /// nothing else (no status of others, no reload, plan, metrics or explain).
    public static func handleUser(_ request: ControlRequest, peer: PeerCredentials, agent: Agent) async -> ControlResponse {
        guard request.command == .mine else {
            return .failure("the user socket answers only `fairshare status --mine` (your own share); `\(request.command.rawValue)` needs the agent's socket (root, or the fairshare group for status)")
        }
        return ControlResponse(ok: true, mine: await agent.mine(uid: peer.uid))
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
        case .metrics:
            return ControlResponse(ok: true, metrics: await agent.metricsText())
        case .mine:
            return ControlResponse(ok: true, mine: await agent.mine(uid: peer.uid))
        case .explain:
            guard let pid = request.pid, pid > 0 else { return .failure("explain needs a pid > 0") }
            guard let report = await agent.explain(pid: pid) else { return .failure("no process with PID \(pid)") }
            return ControlResponse(ok: true, explain: report)
        case .plan:
            guard peer.uid == 0 else {
                return .failure("permission denied: planning a policy needs root (it scans every process and shows every user's commands; you are uid \(peer.uid))")
            }
            guard let text = request.policyText, let path = request.policyPath else {
                return .failure("plan needs policy_text and policy_path")
            }
            switch await agent.plan(policy: text, path: path) {
            case .success(let report): return ControlResponse(ok: true, plan: report)
            case .failure(let error): return .failure(error.description)
            }
        }
    }
}

/// The agent as a swift-service-lifecycle service: ticks on a timer, reloads on SIGHUP, gives
/// everything back on graceful shutdown (SIGTERM, SIGINT).
public struct AgentService: Service {
    let agent: Agent
    /// systemd's WatchdogSec=, if set: the agent pings at a third of it.
    let watchdog: Duration?

    public init(agent: Agent, watchdog: Duration?) {
        self.agent = agent
        self.watchdog = watchdog
    }

    public func run() async throws {
        let (triggers, input) = AsyncStream<Trigger>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let agent = self.agent
        // Trap SIGHUP before the first pass (and READY=1), so no reload request is lost.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        // The listener thread queues events and wakes the event passes: their own task, so they
        // run while a pass reads its counters (at most one wake-up waits: the queue holds the rest).
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await agent.startEvents { wake.yield() }
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
                    for await _ in wakes {
                        await agent.processEvents()
                    }
                }
                tasks.addTask {
                    for await _ in hangups {
                        input.yield(.reload)
                    }
                }
                await agent.run(triggers: triggers)
                wake.finish()
                tasks.cancelAll()
            }
        } onGracefulShutdown: {
            input.yield(.shutdown)
        }
    }
}
