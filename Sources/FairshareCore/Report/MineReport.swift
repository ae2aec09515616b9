/// `fairshare status --mine`: what one user may know of their own share, served to anyone over
/// the user socket. It is made from the status report and the caller's processes only: a
/// per_user group shows the caller's own subgroup; a group shared with others shows the group's
/// figures as a whole (usage, target, weight, cap), never its other members, their names,
/// uids or processes.
public struct MineReport: Codable, Sendable, Equatable {
    public static let schemaVersion = 1

    public var schemaVersion: Int
    /// The caller, as the kernel named them (SO_PEERCRED).
    public var uid: UInt32
    public var user: String?
    /// The caller's processes in the agent's groups (and in unit-backed groups' units).
    public var processes: Int
    public var groups: [MineGroup]
    /// The figures in plain words, one sentence per line.
    public var explanation: [String]

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case uid, user, processes, groups, explanation
    }
}

public struct MineGroup: Codable, Sendable, Equatable {
    /// The group as people read it ("logins", "research / lab-a").
    public var group: String
    /// true: the figures are the caller's own subgroup's (per_user); false: the whole group's,
    /// shared with whoever else is in it.
    public var own: Bool
    /// The caller's processes in it.
    public var processes: Int
    public var cpuUsageCPUs: Double?
    public var cpuUsagePercent: Double?
    public var cpuTargetPercent: Double
    public var cpuWeight: Int?
    /// What bounds the allocation (share, floor, demand, ceiling, borrowing, burst); nil before
    /// the controller decided.
    public var limit: String?
    /// The cap (max, or user_max for the caller's own subgroup), as the policy says it.
    public var cap: String?
    public var borrowing: Bool
    public var borrowedCPUs: Double?
    /// fairness = "decayed": the decayed usage and entitlement (CPUs) and the factor on the weight.
    public var decayedUsageCPUs: Double?
    public var entitlementCPUs: Double?
    public var fairnessFactor: Double?

    enum CodingKeys: String, CodingKey {
        case group, own, processes, limit, cap, borrowing
        case cpuUsageCPUs = "cpu_usage_cpus"
        case cpuUsagePercent = "cpu_usage_percent"
        case cpuTargetPercent = "cpu_target_percent"
        case cpuWeight = "cpu_weight"
        case borrowedCPUs = "borrowed_cpus"
        case decayedUsageCPUs = "decayed_usage_cpus"
        case entitlementCPUs = "entitlement_cpus"
        case fairnessFactor = "fairness_factor"
    }
}

extension MineReport {
    /// - Parameters:
    ///   - processesByGroup: the caller's processes per group row of `status` (a per_user group's
    ///     user subgroup row, or a shared group's own row), counted by the agent.
    ///   - displayName: a row's name as people read it.
    ///   - halfLife: with fairness = "decayed", for the words ("over the last N minutes").
    public static func make(status: StatusReport, uid: UInt32, user: String?, processesByGroup: [String: Int],
                            displayName: (GroupStatus) -> String, halfLifeSeconds: Double?) -> MineReport {
        let rows = status.groups.filter { (processesByGroup[$0.name] ?? 0) > 0 }
        let groups = rows.map { g -> MineGroup in
            let r = g.redistribution
            return MineGroup(group: displayName(g), own: g.uid == uid, processes: processesByGroup[g.name] ?? 0,
                             cpuUsageCPUs: g.cpuUsageCPUs, cpuUsagePercent: g.cpuUsagePercent, cpuTargetPercent: g.cpuTargetPercent,
                             cpuWeight: g.cpuWeight, limit: r?.limit, cap: r?.max,
                             borrowing: (r?.borrowedCPUs ?? 0) > 0.005, borrowedCPUs: r.map(\.borrowedCPUs),
                             decayedUsageCPUs: r?.decayedUsageCPUs, entitlementCPUs: r?.entitlementCPUs, fairnessFactor: r?.fairnessFactor)
        }
        let total = groups.reduce(0) { $0 + $1.processes }
        var words: [String] = []
        if groups.isEmpty {
            words.append("None of your processes is in a Fairshare group: they run under the machine's defaults.")
        }
        for g in groups {
            words += sentences(g, halfLifeSeconds: halfLifeSeconds)
        }
        if status.would != nil {
            words.append("The agent only observes now (mode = \"observe\"): nothing of this is enforced yet.")
        }
        return MineReport(schemaVersion: schemaVersion, uid: uid, user: user, processes: total, groups: groups, explanation: words)
    }

    static func sentences(_ g: MineGroup, halfLifeSeconds: Double?) -> [String] {
        let whose = g.own ? "you" : "the group (all its users together)"
        let sentenceStart = whose.prefix(1).uppercased() + whose.dropFirst()
        var out = ["In group \(g.group) you run \(g.processes) process\(g.processes == 1 ? "" : "es")"
            + (g.own ? "; the figures are your own." : "; it is shared with others, so its figures are the whole group's.")]
        if let cpus = g.cpuUsageCPUs, let pct = g.cpuUsagePercent {
            out.append("Right now \(whose) use\(g.own ? "" : "s") \(FixedPoint.format(cpus, places: 2)) CPUs (\(FixedPoint.format(pct, places: 1))% of the machine); the share now is \(FixedPoint.format(g.cpuTargetPercent, places: 1))%.")
        } else {
            out.append("The usage is not measured yet; the share now is \(FixedPoint.format(g.cpuTargetPercent, places: 1))%.")
        }
        switch g.limit {
        case "ceiling"?:
            out.append("\(sentenceStart) \(g.own ? "are" : "is") held at the cap (max \(g.cap ?? "?")) because others want the CPU.")
        case "borrowing"?, "burst"?:
            out.append("\(sentenceStart) \(g.own ? "are" : "is") borrowing \(FixedPoint.format(g.borrowedCPUs ?? 0, places: 2)) CPUs of idle capacity above the cap (max \(g.cap ?? "?")); they are given back when others want the CPU.")
        default:
            if let cap = g.cap { out.append("The cap (max \(cap)) is not holding \(whose) back now.") }
        }
        if let used = g.decayedUsageCPUs, let due = g.entitlementCPUs, let f = g.fairnessFactor {
            let window = halfLifeSeconds.map { "over the last \(minutes(2 * $0)) (half-life \(minutes($0)))" } ?? "recently"
            let times = due > 0 ? used / due : 0
            var s = "\(sentenceStart) used \(FixedPoint.format(used, places: 2)) CPUs on average \(window), "
                + (due > 0 ? "\(FixedPoint.format(times, places: 1)) times the share of \(FixedPoint.format(due, places: 2)) CPUs" : "with no share due")
            if f < 0.995 {
                s += "; the weight is multiplied by \(FixedPoint.format(f, places: 2)) until that decays."
            } else if f > 1.005 {
                s += "; the weight is raised \(FixedPoint.format(f, places: 2)) times to make up for it."
            } else {
                s += "; the weight is the shares' own."
            }
            out.append(s)
        }
        return out
    }

    static func minutes(_ seconds: Double) -> String {
        seconds >= 5400 ? "\(FixedPoint.format(seconds / 3600, places: 1)) hours" : "\(Int((seconds / 60).rounded())) minutes"
    }
}
