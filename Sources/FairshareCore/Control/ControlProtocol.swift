/// The control socket's protocol: one JSON request line from the client, one JSON response line
/// from the agent, then the connection closes.
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Command: String, Codable, Sendable {
        case status, reload, explain, plan
        /// The Prometheus text of the agent (`fairshare metrics`).
        case metrics
        /// The caller's own share (`fairshare status --mine`): the only command of the user socket.
        case mine
    }

    public var command: Command
    /// For `explain`.
    public var pid: Int32?
    /// For `plan`: the new policy's text, read by the client (the agent reads no path a client
    /// names), and its absolute path for the messages.
    public var policyText: String?
    public var policyPath: String?

    public init(command: Command, pid: Int32? = nil, policyText: String? = nil, policyPath: String? = nil) {
        self.command = command
        self.pid = pid
        self.policyText = policyText
        self.policyPath = policyPath
    }

    enum CodingKeys: String, CodingKey {
        case command, pid
        case policyText = "policy_text"
        case policyPath = "policy_path"
    }
}

public struct ControlResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    /// What went wrong, when `ok` is false.
    public var error: String?
    public var status: StatusReport?
    public var reload: ReloadOutcome?
    public var explain: ExplainReport?
    public var plan: PlanReport?
    /// For `metrics`: the Prometheus text format 0.0.4.
    public var metrics: String?
    /// For `mine`.
    public var mine: MineReport?

    public init(ok: Bool, error: String? = nil, status: StatusReport? = nil, reload: ReloadOutcome? = nil, explain: ExplainReport? = nil,
                plan: PlanReport? = nil, metrics: String? = nil, mine: MineReport? = nil) {
        self.mine = mine
        self.metrics = metrics
        self.ok = ok
        self.error = error
        self.status = status
        self.reload = reload
        self.explain = explain
        self.plan = plan
    }

    public static func failure(_ message: String) -> ControlResponse { ControlResponse(ok: false, error: message) }
}
