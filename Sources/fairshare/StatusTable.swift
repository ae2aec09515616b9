import FairshareCore

/// Human-readable renderings for the terminal.
enum StatusTable {
    static func render(_ s: StatusReport) -> String {
        var out = "fairshare: pid \(s.agent.pid), up \(duration(s.agent.uptimeSeconds)), root \(s.agent.cgroupRoot), \(fmt(s.agent.cpus, 0)) CPUs, every \(fmt(s.agent.intervalSeconds, 1))s\n"
        out += "policy:    \(s.policy.path), loaded \(duration(s.agent.startedAt + s.agent.uptimeSeconds - s.policy.loadedAt)) ago"
        if let r = s.policy.lastReload, !r.applied {
            out += " (last reload REJECTED: \(r.error?.split(separator: "\n").first.map(String.init) ?? "")"
            out += ")"
        }
        out += "\n\n"
        let header = ["GROUP", "SHARES", "CPU.W", "IO.W", "PROCS", "CPU%", "TARGET%", "ALLOC%", "CPUS", "THROTTLED", "LIMIT"]
        let rows = s.groups.map { g in
            [g.name, String(g.shares), String(g.cpuWeight), String(g.ioWeight), String(g.members),
             fmt(g.cpuUsagePercent, 1), fmt(g.cpuTargetPercent, 1), g.redistribution.map { fmt($0.allocationPercent, 1) } ?? "-",
             fmt(g.cpuUsageCPUs, 2), "\(fmt(Double(g.throttledUsec) / 1e6, 1))s", limitText(g)]
        }
        out += table([header] + rows)
        if s.groups.isEmpty { out += "(the policy defines no groups)\n" }
        return out
    }

    /// What bounds the group now, and why its weight is what it is when that is not the shares.
    static func limitText(_ g: GroupStatus) -> String {
        guard let r = g.redistribution else { return "-" }
        var text = r.limit + (r.hungry ? "" : " (\(r.demand))")
        if r.borrowedCPUs > 0.005 { text += ", borrowing \(fmt(r.borrowedCPUs, 2)) CPUs" }
        if r.weightReason != "shares" { text += "; weight: \(r.weightReason)" }
        return text
    }

    static func renderPolicy(_ p: Policy) -> String {
        var out = "\(p.sourcePath): valid; \(p.groups.count) group(s), interval \(DurationText.format(p.agent.interval)), cgroup_root \(p.agent.cgroupRoot), fairness \(p.agent.fairness)\n"
        let total = p.groups.reduce(0) { $0 + $1.shares.value }
        let cpuWeights = WeightMapping.weights(for: Dictionary(uniqueKeysWithValues: p.groups.map { ($0.name, $0.shares) }))
        let rows = p.groups.map { g -> [String] in
            [g.name.rawValue, String(g.shares.value), String(g.ioShares.value), String(cpuWeights[g.name]!),
             fmt(Double(g.shares.value) * 100 / Double(max(total, 1)), 1), limits(g), describe(g.match)]
        }
        out += table([["GROUP", "SHARES", "IO_SHARES", "CPU.W", "SHARE%", "LIMITS", "MATCH"]] + rows)
        return out
    }

    static func limits(_ g: GroupPolicy) -> String {
        var parts: [String] = []
        if let f = g.floor { parts.append("min \(f)") }
        if let c = g.ceiling { parts.append("max \(c)") }
        if g.borrow { parts.append("borrow to \(g.burst?.description ?? "100%")") }
        return parts.isEmpty ? "-" : parts.joined(separator: ", ")
    }

    static func describe(_ m: MatchRule) -> String {
        var parts: [String] = []
        if !m.users.isEmpty { parts.append("users=" + m.users.map(\.description).joined(separator: ",")) }
        if !m.groups.isEmpty { parts.append("groups=" + m.groups.map(\.description).joined(separator: ",")) }
        if !m.comm.isEmpty { parts.append("comm=" + m.comm.joined(separator: ",")) }
        if !m.exe.isEmpty { parts.append("exe=" + m.exe.map(\.pattern).joined(separator: ",")) }
        if !m.cmdline.isEmpty { parts.append("cmdline=" + m.cmdline.map(\.source).joined(separator: ",")) }
        if !m.cgroup.isEmpty { parts.append("cgroup=" + m.cgroup.map(\.pattern).joined(separator: ",")) }
        return parts.isEmpty ? "(nothing)" : parts.joined(separator: " AND ")
    }

    static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = first.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }
                .joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func fmt(_ x: Double, _ decimals: Int) -> String {
        FixedPoint.format(x, places: decimals)
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s)
        if t < 60 { return "\(t)s" }
        if t < 3600 { return "\(t / 60)m\(t % 60)s" }
        return "\(t / 3600)h\(t % 3600 / 60)m"
    }
}
