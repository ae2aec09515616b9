/// What `fairshare plan` takes each group's demand under a new policy to be: each current
/// group's last measured CPU usage split evenly over its processes, following them to where the
/// new policy puts them; a process from a hungry group makes its new group hungry; processes from
/// outside any group bring no measured usage (a group with only such processes is taken to want
/// its share, as the controller takes a new group). The preview's `decide` feeds these to the
/// controller in place of measured rates; nothing else of the pass differs.
public struct DemandEstimate: Sendable, Equatable {
    /// The rule in words, for every plan's reader.
    public static let rule = "demand under the new policy is estimated from where each group's processes are now: "
        + "each current group's last measured CPU usage is split evenly over its processes and follows them; "
        + "a process from a hungry group makes its new group hungry; processes from outside any group bring no "
        + "measured usage (a group with only such processes is assumed to want its share, as the controller "
        + "assumes for a new group)"
    /// The label of processes outside every group.
    public static let outside = "(outside)"

    /// Estimated CPUs per group after the moves.
    public private(set) var usage: [GroupName: Double] = [:]
    /// Processes per group that carry a measured usage.
    public private(set) var measured: [GroupName: Int] = [:]
    public private(set) var hungry: Set<GroupName> = []
    /// Where each group's processes come from (group names, or `outside`).
    public private(set) var sources: [GroupName: Set<String>] = [:]

    public init() {}

    /// - Parameters:
    ///   - destination: the group each moved process goes to (nil inside: given back); a
    ///     process not named stays where it is.
    ///   - groupOf: the group a process is in now.
    init(processes: [ProcessInfo], destination: [ProcessIdentity: GroupName?], groupOf: (ProcessInfo) -> GroupName?,
         rates: [GroupName: UsageSampler.Rates], hungryNow: (GroupName) -> Bool) {
        var scanned: [GroupName: Int] = [:]
        for p in processes { if let g = groupOf(p) { scanned[g, default: 0] += 1 } }
        for p in processes {
            let from = groupOf(p)
            let to: GroupName? = destination[p.identity] ?? from
            guard let to else { continue }
            sources[to, default: []].insert(from?.rawValue ?? Self.outside)
            guard let from, let rate = rates[from], let n = scanned[from], n > 0 else { continue }
            usage[to, default: 0] += rate.cpus / Double(n)
            measured[to, default: 0] += 1
            if hungryNow(from) { hungry.insert(to) }
        }
    }

    /// The controller's observation of a group under the estimate.
    func observation(_ g: GroupName, hasMembers: Bool) -> Controller.Observation {
        Controller.Observation(group: g, usage: (measured[g] ?? 0) > 0 ? usage[g] ?? 0 : nil, throttled: false,
                               pressure: hungry.contains(g) ? 1 : nil, hasMembers: hasMembers)
    }

    /// The estimate for one group, in words.
    public func describe(_ g: GroupName, members: Int) -> String {
        let from = (sources[g] ?? []).sorted().joined(separator: ", ")
        if members == 0 { return "no members" }
        guard (measured[g] ?? 0) > 0 else { return "no measured usage (processes from \(from)): assumed to want its share" }
        return "estimated \(fmt(usage[g] ?? 0)) CPUs from \(from)" + (hungry.contains(g) ? ", hungry" : "")
    }

    /// Estimated CPUs of a group, nil where no process brought a measured usage.
    public func usageCPUs(_ g: GroupName) -> Double? { (measured[g] ?? 0) > 0 ? usage[g] : nil }
}
