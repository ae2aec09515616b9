import FairsharePolicy

/// Which users' subgroups a pass reads, so that a pass with 200 idle users costs little more
/// than one with 20 (issue 20).
///
/// A user whose cpu.stat did not move between its last two readings is quiet. A quiet user is
/// read only every `quietEvery` passes (staggered by uid, so each pass reads a few of them); in
/// the other passes its counters are carried over unchanged. Carrying is safe because its
/// per_user group's own cpu.stat covers every user (cgroup v2 counts descendants): when the
/// group's usage grew by more than its read users' usage did (`residualLimitCPUs`), someone
/// quiet woke up, and every user of that group is read in the same pass. Usage that stays below
/// the limit is never lost: the counters are cumulative, so it is seen whole at the user's next
/// reading.
///
/// Pure: the observer asks which users to read, hands back what it read, and is told what to
/// carry.
public struct UserReadSchedule: Sendable {
    /// A quiet user is read every this many passes. (A waker is read at once whatever this is,
    /// through its group's usage: this only paces the readings of usage too small to wake it,
    /// which lose nothing by waiting. 16 rather than 8: with 200 idle users, 12 reads a pass
    /// instead of 25.)
    public static let quietEvery: UInt64 = 16
    /// CPUs (per second of the interval) a per_user group may use beyond what its read users
    /// used before its quiet users are all read: well above the jitter of reading the group and
    /// its users a few milliseconds apart, well below any user worth redistributing for.
    public static let residualLimitCPUs = 0.02

    /// Each user's last counters (read or carried), whether it is quiet, and its place in the
    /// round of quiet readings (its uid): one entry per user, updated only when it is read.
    private struct UserState {
        var cpu: CPUStat
        var quiet: Bool
        var stagger: UInt64
    }
    private var users: [GroupName: UserState] = [:]
    /// Each per_user group's usage at the last pass, and when it was read.
    private var groupUsage: [GroupName: (usec: UInt64, at: UInt64)] = [:]
    private var pass: UInt64 = 0
    /// The per_user groups' listings, reused while their users stay the same.
    public var listings = UserListings()

    public init() {}

    /// The users of one per_user group to read this pass whatever the group's usage says: those
    /// not quiet (busy, or not read before) and the quiet ones due in this pass.
    public func mustRead(_ user: GroupName) -> Bool {
        guard let state = users[user], state.quiet else { return true }
        return (pass &+ state.stagger) % Self.quietEvery == 0
    }

    /// Whether the group's usage since the last pass exceeds what the users read now account
    /// for by more than the limit (or can not be compared): then its quiet users are read too.
    /// - Parameters:
    ///   - groupCPU: the per_user group's cpu.stat now (nil when it could not be read).
    ///   - read: the users read so far this pass, with what they read.
    public func woke(group: GroupName, groupCPU: CPUStat?, at: UInt64, read: [GroupName: CPUStat]) -> Bool {
        guard let now = groupCPU, let before = groupUsage[group], now.usageUsec >= before.usec, at > before.at else { return true }
        var accounted: UInt64 = 0
        for (user, cpu) in read {
            // A user met for the first time counts whole (its counters started with its cgroup).
            let since = users[user].map { $0.cpu.usageUsec <= cpu.usageUsec ? cpu.usageUsec - $0.cpu.usageUsec : 0 } ?? cpu.usageUsec
            accounted &+= since
        }
        let grown = now.usageUsec - before.usec
        let limit = Self.residualLimitCPUs * Double(at - before.at) / 1000  // CPUs x ns -> usec
        return grown > accounted && Double(grown - accounted) > limit
    }

    /// A user's counters as last read (nil when it was never read, or not since it could not be).
    public func carried(_ user: GroupName) -> CPUStat? { users[user]?.cpu }

    /// The pass is over: what each user read (nil: could not be read), which users were carried,
    /// and each per_user group's usage (nil when unreadable). Users not named are forgotten
    /// (their subgroup is gone).
    /// A carried user costs nothing here: with hundreds of quiet users, marking each of them in
    /// every pass was a measurable part of it.
    public mutating func passEnded(read: [GroupName: CPUStat?], carried: [GroupName], groups: [GroupName: CPUStat?], at: UInt64) {
        pass &+= 1
        var readable = 0
        for (user, reading) in read {
            guard let cpu = reading else {
                users[user] = nil  // unreadable: read again next pass
                continue
            }
            readable += 1
            let before = users[user]
            users[user] = UserState(cpu: cpu, quiet: before.map { $0.cpu.usageUsec == cpu.usageUsec } ?? false,
                                    stagger: before?.stagger ?? user.userNode?.uid.map(UInt64.init) ?? 0)
        }
        // Every user kept is one read or carried now, but those who left (their subgroup is
        // gone): they are forgotten.
        if users.count > readable + carried.count {
            let present = Set(carried).union(read.keys)
            users = users.filter { present.contains($0.key) }
        }
        groupUsage = [:]
        for (group, cpu) in groups { if let cpu { groupUsage[group] = (cpu.usageUsec, at) } }
        listings.passEnded(groups: groups.keys)
    }
}

/// The entries of each per_user group's directory as last listed, so that a pass does not list
/// 200 users' subgroups to find the same 200 again (a readdir and a name check per entry were
/// a twentieth of the agent's CPU with 200 idle users, measured in the guest).
///
/// A listing stands for a new one while the group's `cgroup.stat` counts the same number of
/// descendants as it did just before that listing (a subgroup made or removed by anyone, inside
/// a user's subgroup too, changes the count), while the agent itself made or removed none there
/// (`forget`: one removed then another made by someone else keep the count), and for at most
/// `relistEvery` passes: someone else's removal and creation between two passes keep the count
/// too, and are seen at the next full listing. Pure: the observer reads the count and the
/// directory.
public struct UserListings: Sendable {
    /// A group is listed again after this many passes whatever its count says.
    public static let relistEvery: UInt64 = 16

    /// A per_user group's children as listed: its users' subgroups, and anything else found there.
    public struct Entries: Sendable {
        public var users: [GroupName] = []
        public var others: [GroupName] = []
        public init() {}
    }

    private var kept: [GroupName: (entries: Entries, descendants: Int, pass: UInt64)] = [:]
    private var pass: UInt64 = 0
    /// False for a one-off listing (recovery, a stop): every directory is read.
    public let reuses: Bool

    public init(reuses: Bool = true) { self.reuses = reuses }

    /// The entries last listed for `group`, when they may stand for a listing now: the kernel
    /// counts as many descendants as before that listing, and it is recent enough.
    public func entries(of group: GroupName, descendants: Int) -> Entries? {
        guard reuses, let k = kept[group], k.descendants == descendants, pass &- k.pass < Self.relistEvery else { return nil }
        return k.entries
    }

    /// `group` was listed now; `descendants` is the count read just before (nil: unreadable,
    /// nothing kept). A change between the two shows as a different count at the next pass.
    public mutating func listed(_ group: GroupName, _ entries: Entries, descendants: Int?) {
        guard reuses else { return }
        if let descendants {
            kept[group] = (entries, descendants, pass)
        } else {
            kept[group] = nil
        }
    }

    /// These groups' listings are not reused (the agent made or removed subgroups in them).
    public mutating func forget(_ groups: Set<GroupName>) {
        for g in groups { kept[g] = nil }
    }

    /// The pass is over; the groups no longer per_user are forgotten.
    mutating func passEnded<Groups: Collection<GroupName>>(groups: Groups) {
        pass &+= 1
        if kept.count > groups.count || kept.keys.contains(where: { !groups.contains($0) }) {
            let now = Set(groups)
            kept = kept.filter { now.contains($0.key) }
        }
    }
}
