import FairshareCore

/// Human-readable renderings for the terminal.
enum StatusTable {
    /// Users shown per per_user group without `--users`: the busiest.
    static let foldedUsers = 10

    /// A row's name: indented by depth; a user's subgroup by the user's name and uid.
    static func displayName(_ g: GroupStatus, depth: Int) -> String {
        let own = g.uid.map { uid in g.user.map { "\($0) (\(uid))" } ?? "uid \(uid)" } ?? String(g.name.split(separator: "/").last ?? "")
        return String(repeating: "  ", count: depth) + own
    }

    static func render(_ s: StatusReport, allUsers: Bool = false) -> String {
        var out = "fairshare: pid \(s.agent.pid), up \(duration(s.agent.uptimeSeconds)), root \(s.agent.cgroupRoot), \(fmt(s.agent.cpus, 0)) CPUs, every \(fmt(s.agent.intervalSeconds, 1))s\n"
        out += "policy:    \(s.policy.path), loaded \(duration(s.agent.startedAt + s.agent.uptimeSeconds - s.policy.loadedAt)) ago"
        if let r = s.policy.lastReload, !r.applied {
            out += " (last reload REJECTED: \(r.error?.split(separator: "\n").first.map(String.init) ?? "")"
            out += ")"
        }
        out += "\n"
        if let e = s.agent.events { out += eventsLine(e) + "\n" }
        if let would = s.would {
            // Observe mode: the groups below exist only on paper; what enforcing would do first.
            out += "mode:      OBSERVE: nothing is written, moved or set; enforcing would do this now:\n\n"
            out += PlanTable.render(would, observing: true)
        }
        out += "\n"
        // With decayed fairness: each group's decayed usage and entitlement (CPUs), before LIMIT.
        let decayed = s.groups.contains { $0.redistribution?.entitlementCPUs != nil }
        var header = ["GROUP", "BACKING", "SHARES", "CPU.W", "IO.W", "PROCS", "CPU%", "TARGET%", "MACHINE%", "ALLOC%", "CPUS", "THROTTLED", "LIMIT"]
        if decayed { header.insert(contentsOf: ["USED~", "DUE~"], at: header.count - 1) }
        // io.bfq.weight only while some disk uses BFQ (the agent writes it then).
        let bfq = s.groups.contains { $0.ioBFQWeight != nil }
        if bfq { header.insert("BFQ.W", at: 5) }
        let rows = StatusTree.rows(s.groups, foldUsersBeyond: allUsers ? nil : foldedUsers).map { row -> [String] in
            let (g, depth) = (row.group, row.depth)
            if let more = row.foldedUsers {
                return [String(repeating: "  ", count: depth) + "(\(more) more users: fairshare status --users)"] + Array(repeating: "", count: header.count - 1)
            }
            let unit = g.backing == "unit"
            // "n/a": could not be read (the reason is in `unavailable`, and in the journal).
            let usage: String = g.cpuUsagePercent.map { fmt($0, 1) } ?? "n/a"
            let cpus: String = g.cpuUsageCPUs.map { fmt($0, 2) } ?? "n/a"
            let throttled: String = g.throttledUsec.map { "\(fmt(Double($0) / 1e6, 1))s" } ?? "n/a"
            let machine: String = g.machineSharePercent.map { fmt($0, 1) } ?? "-"
            let alloc: String = g.redistribution.map { fmt($0.allocationPercent, 1) } ?? "-"
            // An idle group has no CPU weight: cpu.idle = 1 stands in its place.
            let cpuWeight = g.idle == true && g.cpuWeight == nil ? "idle" : g.cpuWeight.map(String.init) ?? "n/a"
            var row = [displayName(g, depth: depth), g.backing ?? "-", g.idle == true ? "-" : String(g.shares), cpuWeight, g.ioWeight.map(String.init) ?? "n/a", String(g.members),
                       usage, unit ? "-" : fmt(g.cpuTargetPercent, 1), machine, alloc, cpus, throttled, limitText(g)]
            if decayed {
                let r = g.redistribution
                row.insert(contentsOf: [r?.decayedUsageCPUs.map { fmt($0, 2) } ?? "-", r?.entitlementCPUs.map { fmt($0, 2) } ?? "-"], at: row.count - 1)
            }
            if bfq { row.insert(g.ioBFQWeight.map(String.init) ?? "-", at: 5) }
            return row
        }
        out += table([header] + rows)
        if s.groups.isEmpty { out += "(the policy defines no groups)\n" }
        let units = s.groups.flatMap { g in (g.units ?? []).map { [g.name, $0.name, $0.cgroup] } }
        if s.groups.contains(where: { $0.backing == "unit" }) {
            out += "\nunits of unit-backed groups (weights set through systemd; processes stay in their units):\n"
            out += units.isEmpty ? "(none running)\n" : table([["GROUP", "UNIT", "CGROUP"]] + units)
        }
        out += fileLines(s)
        if let disks = s.ioDevices {
            out += "\n" + IOShares.lines(.value(disks))
        }
        let failures = s.agent.failures ?? []
        if !failures.isEmpty {
            out += "\nfailing (retried every pass):\n"
            out += table([["WHAT", "CAUSE", "TIMES", "ERROR"]] + failures.map { [$0.target, $0.cause, String($0.count), $0.message] })
        }
        if decayed {
            out += "\nUSED~, DUE~: decayed CPU usage and entitlement (CPUs, fairness = \"decayed\"); every group is due its shares' part all the time, with processes or not, and its weight moves by DUE~/USED~ within max_boost.\n"
        }
        if s.groups.contains(where: { $0.idle == true }) {
            out += "\nCPU.W idle: cpu.idle = 1, the group runs only on CPU time no other group wants.\n"
        }
        if s.groups.contains(where: { $0.machineSharePercent != nil }) {
            out += "\nMACHINE%: the share of the whole machine the cgroup hierarchy gives the group if it and every populated cgroup beside it, at every level, were busy.\n"
        }
        return out
    }

    /// Every file the agent wrote in its groups' cgroups that holds another value than a new
    /// cgroup's (the table of files: `cgroup_files` against `cgroup_file_defaults`).
    static func fileLines(_ s: StatusReport) -> String {
        let defaults = s.cgroupFileDefaults ?? [:]
        let rows = s.groups.compactMap { g -> [String]? in
            let set = (g.cgroupFiles ?? [:]).filter { defaults[$0.key] != $0.value }.sorted { $0.key < $1.key }
            return set.isEmpty ? nil : [g.name, set.map { "\($0.key) \($0.value)" }.joined(separator: ", ")]
        }
        guard !rows.isEmpty else { return "" }
        return "\ncgroup files set by the agent (the rest hold the kernel's defaults):\n" + table([["GROUP", "FILES"]] + rows)
    }

    /// Where new processes are heard of, and how that goes.
    static func eventsLine(_ e: EventStatus) -> String {
        guard e.source == "netlink" else { return "events:    scan every pass (\(e.fallbackReason ?? "no event source"))" }
        var line = "events:    netlink, \(e.received.total) received, \(e.overflows) overflows, \(e.rescans) rescans (\(e.rescanFound) found), \(e.races) races"
        if let p50 = e.latencyMilliseconds.p50, let p99 = e.latencyMilliseconds.p99 {
            line += ", latency p50 \(fmt(p50, 2)) ms p99 \(fmt(p99, 2)) ms"
        }
        return line
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
        // SHARE%: of the machine, every group busy; a nested group's is its part of its parent's
        // (a per_user group's is all its users' together). A unit's weight compares only among
        // the unit's siblings in its slice.
        let busy = Dictionary(uniqueKeysWithValues: p.agentGroups.filter { !p.isInterior($0) || $0.perUser != nil }.map { ($0.name, 1) })
        let machine = UsageSampler.targetPercents(policy: p, memberCounts: busy)
        let cpuWeights = p.cpuWeights()
        let rows = p.groups.map { g -> [String] in
            [g.name.rawValue, g.isUnitBacked ? "unit" : "agent", g.idle ? "-" : String(g.shares.value), String(g.ioShares.value),
             cpuWeights[g.name].map { String($0.value) } ?? "idle",
             g.isUnitBacked || g.idle ? "-" : fmt(machine[g.name] ?? 0, 1), limits(g), describe(g.match)]
        }
        out += table([["GROUP", "BACKING", "SHARES", "IO_SHARES", "CPU.W", "SHARE%", "LIMITS", "MATCH"]] + rows)
        if !p.unitGroups.isEmpty {
            out += "unit-backed groups: the agent sets their units' CPUWeight=/IOWeight= (the CPU.W column) through systemd at runtime and moves none of their processes; a unit's weight compares only among its siblings in its slice (100 = a unit without CPUWeight=)\n"
        }
        return out
    }

    static func limits(_ g: GroupPolicy) -> String {
        var parts: [String] = []
        if let f = g.floor { parts.append("min \(f)") }
        if let c = g.ceiling { parts.append("max \(c)") }
        if g.borrow { parts.append("borrow to \(g.burst?.description ?? "100%")") }
        if let u = g.perUser {
            var user = ["per user"]
            if let f = u.floor { user.append("min \(f)") }
            if let c = u.ceiling { user.append("max \(c)") }
            if u.borrow { user.append("borrow to \(u.burst?.description ?? "100%")") }
            parts.append(user.joined(separator: " "))
        }
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
        if !m.units.isEmpty { parts.append("units=" + m.units.map(\.pattern).joined(separator: ",")) }
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

/// `fairshare status --mine` for the terminal: the caller's rows, then the same in words.
enum MineTable {
    static func render(_ m: MineReport) -> String {
        var out = "your share: \(m.user.map { "\($0) (uid \(m.uid))" } ?? "uid \(m.uid)"), \(m.processes) process\(m.processes == 1 ? "" : "es") in Fairshare's groups\n"
        if !m.groups.isEmpty {
            out += "\n" + StatusTable.table([["GROUP", "FIGURES", "PROCS", "CPUS", "CPU%", "SHARE%", "CPU.W", "LIMIT", "CAP", "USED~", "DUE~", "FACTOR"]] + m.groups.map { g in
                [g.group, g.own ? "yours" : "group's", String(g.processes), g.cpuUsageCPUs.map { StatusTable.fmt($0, 2) } ?? "n/a",
                 g.cpuUsagePercent.map { StatusTable.fmt($0, 1) } ?? "n/a", StatusTable.fmt(g.cpuTargetPercent, 1), g.cpuWeight.map(String.init) ?? "-",
                 g.limit ?? "-", g.cap ?? "-", g.decayedUsageCPUs.map { StatusTable.fmt($0, 2) } ?? "-", g.entitlementCPUs.map { StatusTable.fmt($0, 2) } ?? "-",
                 g.fairnessFactor.map { StatusTable.fmt($0, 2) } ?? "-"]
            })
        }
        out += "\n" + m.explanation.joined(separator: "\n") + "\n"
        return out
    }
}
