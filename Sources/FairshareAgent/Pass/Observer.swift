import FairshareCore
import FairshareEdge
import FairshareLinux

/// The observe stage: reads everything a pass decides on, through the edge's ports, into one
/// `Observation`. It writes nothing, and turns no error into a value: what could not be read
/// is `.unavailable` with the error's own words.
struct Observer: Sendable {
    let env: AgentEnvironment

    /// How often the hierarchy around the groups is read (see `observe`).
    static let hierarchyEveryPasses = 5

    /// - Parameters:
    ///   - knownOriginals: units whose own weights the reconciler knows already (not read again).
    ///   - scanProcesses: false when kernel events keep the memberships current: /proc is not
    ///     walked, so a pass costs the same whatever the number of processes.
    ///   - readDisks: read the disks too (every `hierarchyEveryPasses` passes: a disk's scheduler
    ///     or io.cost changes rarely, and only by its owner's hand).
    ///   - schedule: which users' subgroups are read (`UserReadSchedule`), told what this pass read.
    func observe(policy: Policy, knownOriginals: Set<String>, scanProcesses: Bool = true, readDisks: Bool = false,
                 schedule: inout UserReadSchedule) -> Observation {
        let at = env.clock.monotonicNanoseconds()
        let processes = scanProcesses ? env.processes.scan(details: ProcessDetails(for: policy)) : nil
        let layout = GroupLayout(policy)
        // A user's subgroup holds processes only: a pass does not list inside each of them.
        let groups = Self.listGroups(env.cgroups, notInside: Set(layout.perUser.keys), listings: &schedule.listings)
        var stats: [GroupName: CgroupStats] = [:]
        // The policy's groups and the users' subgroups (as listed: they come and go with users).
        let read = groups.value ?? Set(policy.agentGroups.map(\.name).filter(env.cgroups.groupExists))
        var users: [GroupName: [GroupName]] = [:]
        for g in read {
            if let group = layout.perUserGroup(of: g) {
                users[group, default: []].append(g)
            } else if layout.isWanted(g) {
                stats[g] = readStats(env.cgroups.path(of: g))
            }
        }
        readUsers(users, into: &stats, at: at, schedule: &schedule)
        let units = observeUnits(policy: policy, knownOriginals: knownOriginals)
        var o = Observation(at: at, processScan: processes, groupCgroups: groups, groupStats: stats, units: units,
                            disks: readDisks ? env.disks?.read() : nil)
        if let reserve = env.descriptors, reserve.isArmed {
            o.descriptorReserve = reserve.released.map { .unavailable($0) } ?? .value(reserve.held)
        }
        return o
    }

    /// For the report only (the machine share in status; no decision uses it): the weights and
    /// populated flags along the groups' and units' cgroups, read after the act stage so that it
    /// shows the hierarchy as the pass left it. It costs one readdir per ancestor and two small
    /// reads per child (under qemu without KVM, 23 ms for 13 cgroups), so the agent reads it on
    /// the first pass after start or reload and every `hierarchyEveryPasses` passes.
    func observeHierarchy(policy: Policy, units: UnitCgroups) -> HierarchySnapshot {
        var paths = policy.agentGroups.map { env.cgroups.path(of: $0.name) }
        paths += units.placements.compactMap { CgroupPath($0.cgroup) }
        return env.cgroups.hierarchySnapshot(around: paths)
    }

    /// The processes kernel events named, read afresh (only the attributes the policy's rules
    /// look at); `vanished` counts those already gone (exited between the event and now),
    /// `unreadable` those whose files could not be read (left as they are; a rescan follows).
    func observeChanges(_ digest: EventDigest, policy: Policy) -> (changes: ProcessChanges, vanished: Int, unreadable: Int) {
        let details = ProcessDetails(for: policy)
        var changed: [ProcessInfo] = []
        var vanished = 0, unreadable = 0
        for pid in digest.reread.keys.sorted() {
            env.processes.invalidate(pid)
            switch env.processes.lookup(pid, details: details) {
            case .found(let p): changed.append(p)
            case .gone: vanished += 1
            case .unreadable: unreadable += 1
            }
        }
        return (ProcessChanges(exited: digest.exited, changed: changed), vanished, unreadable)
    }

    /// What shutdown needs: every process (no optional attributes) and the groups.
    func observeForRelease() -> Observation {
        Observation(at: env.clock.monotonicNanoseconds(), processScan: env.processes.scan(details: []), groupCgroups: groupCgroups())
    }

    /// What `fairshare plan` decides on: a full scan with what the new policy's rules look at,
    /// the groups as they are, and systemd's units for its patterns (a failed listing leaves the
    /// last one standing, as in a pass). No counters: the plan estimates demand instead.
    func observeForPlan(_ next: Policy) -> Observation {
        let scan = env.processes.scan(details: ProcessDetails(for: next))
        let patterns = next.unitPatterns
        var units = UnitsObservation.none
        if !patterns.isEmpty {
            do throws(UnitError) { units = UnitsObservation(listing: .value(try env.units.units(matching: patterns))) } catch {
                units = UnitsObservation(listing: .unavailable(error.description))
            }
        }
        return Observation(at: env.clock.monotonicNanoseconds(), processScan: scan, groupCgroups: groupCgroups(), units: units)
    }

    /// One process, with every attribute (`fairshare explain`).
    func observeProcess(_ pid: Int32) -> ProcessLookup {
        env.processes.lookup(pid, details: .all)
    }

    /// The group cgroups under the root (valid group paths, nested ones and users' subgroups
    /// included), whoever made them.
    func groupCgroups() -> Reading<Set<GroupName>> {
        Self.listGroups(env.cgroups)
    }

    /// Walks the root's subtree breadth-first, as deep as a group path may go
    /// (`GroupName.maxComponents`), through valid group names only: the agent's leaf and any
    /// cgroup someone else made with another name are not groups. Any directory that can not be
    /// listed (but one removed meanwhile) makes the listing unavailable: a partial one would
    /// read as groups gone.
    static func listGroups(_ tree: CgroupTree, notInside: Set<GroupName> = []) -> Reading<Set<GroupName>> {
        var once = UserListings(reuses: false)
        return listGroups(tree, notInside: notInside, listings: &once)
    }

    /// The same, where `notInside` (the per_user groups in a pass: their children are users'
    /// subgroups, which hold processes only) are not listed inside, and their entries are
    /// those last listed while their cgroup.stat says nothing was made or removed inside
    /// (`UserListings`).
    static func listGroups(_ tree: CgroupTree, notInside: Set<GroupName>, listings: inout UserListings) -> Reading<Set<GroupName>> {
        var found: Set<GroupName> = []
        do throws(CgroupError) {
            var level = try tree.fs.children(of: tree.root).compactMap { GroupName(path: $0) }
            while !level.isEmpty {
                var next: [GroupName] = []
                for g in level {
                    found.insert(g)
                    guard g.depth < GroupName.maxComponents else { continue }
                    let path = tree.path(of: g)
                    guard notInside.contains(g) else {
                        do throws(CgroupError) {
                            next += try tree.fs.children(of: path).compactMap { g.appending($0) }
                        } catch where error.kind == .gone {
                            continue  // removed since its parent was listed
                        }
                        continue
                    }
                    // Users' subgroups: found, not listed inside (anything else someone made
                    // there is, so that it can be removed deepest first). The count is read
                    // before the listing: a change in between shows as a new count next pass.
                    let count = listings.reuses ? (try? tree.counts(at: path))?.descendants : nil
                    if let count, let kept = listings.entries(of: g, descendants: count) {
                        found.formUnion(kept.users)
                        next += kept.others
                        continue
                    }
                    var entries = UserListings.Entries()
                    do throws(CgroupError) {
                        for name in try tree.fs.children(of: path) {
                            guard let child = g.appending(name) else { continue }
                            if UserNode(component: name) == nil { entries.others.append(child) } else { entries.users.append(child) }
                        }
                    } catch where error.kind == .gone {
                        continue
                    }
                    listings.listed(g, entries, descendants: count)
                    found.formUnion(entries.users)
                    next += entries.others
                }
                level = next
            }
            return .value(found)
        } catch {
            return .unavailable(error.description)
        }
    }

    /// The users' subgroups, per per_user group: cpu.stat, only for the users the schedule
    /// names unless the group's own usage says a quiet one woke (then all of them). A quiet user
    /// not read is left out of the observation: its counters stand as last read
    /// (`UserReadSchedule`, `Reconciler.sample`).
    /// A user whose cpu.stat moved since its last reading (or was never read) has its
    /// cpu.pressure read too: under its group's own cap, a user held back by its siblings is
    /// throttled with the group, not in its own cgroup, and runs a little below its cap
    /// (0.44 of 0.5 measured), so only the waiting shows that it wants more. Not while the
    /// group's own cpu.pressure can not be read (PSI off): that is reported once, for the group.
    private func readUsers(_ users: [GroupName: [GroupName]], into stats: inout [GroupName: CgroupStats], at: UInt64,
                           schedule: inout UserReadSchedule) {
        var read: [GroupName: CPUStat?] = [:]
        var carried: [GroupName] = []
        var groupCPU: [GroupName: CPUStat?] = [:]
        var groupPressure = false
        func readUser(_ u: GroupName) {
            let path = env.cgroups.path(of: u)
            let r = reading { () throws(CgroupStatError) in try env.cgroups.cpuStat(at: path) }
            let moved = r.value.map { now in schedule.carried(u).map { $0.usageUsec != now.usageUsec } ?? true } ?? false
            stats[u] = .user(cpu: r, pressure: moved && groupPressure ? reading { () throws(CgroupStatError) in try env.cgroups.pressure(at: path) } : nil)
            read[u] = r.value
        }
        for (group, members) in users {
            groupPressure = stats[group]?.pressure.value != nil
            var later: [GroupName] = []
            var readNow: [GroupName: CPUStat] = [:]
            for u in members {
                guard schedule.mustRead(u) else {
                    later.append(u)
                    continue
                }
                readUser(u)
                if let cpu = read[u] ?? nil { readNow[u] = cpu }
            }
            let cpu = stats[group]?.cpu.value
            groupCPU[group] = cpu
            guard !later.isEmpty else { continue }
            if schedule.woke(group: group, groupCPU: cpu, at: at, read: readNow) {
                later.forEach(readUser)
            } else {
                // Not named in the observation: its counters stand as last read (a user is left
                // for later only once it was read, quiet).
                carried += later
            }
        }
        schedule.passEnded(read: read, carried: carried, groups: groupCPU, at: at)
    }

    func readStats(_ cgroup: CgroupPath) -> CgroupStats {
        CgroupStats(cpu: reading { () throws(CgroupStatError) in try env.cgroups.cpuStat(at: cgroup) },
                    io: reading { () throws(CgroupStatError) in try env.cgroups.ioStat(at: cgroup) },
                    pressure: reading { () throws(CgroupStatError) in try env.cgroups.pressure(at: cgroup) })
    }

    private func reading<T>(_ read: () throws(CgroupStatError) -> T) -> Reading<T> {
        do throws(CgroupStatError) { return .value(try read()) } catch { return .unavailable(error.description) }
    }

    /// systemd's side: one ListUnitsByPatterns call (the units' cgroups come with it), the own
    /// weights of units met for the first time, and each unit's counters (read only). Once a
    /// call finds systemd unreachable (timeout, no connection), no further call is made: a hung
    /// systemd costs one timeout per pass rather than one per unit (the watchdog allows 30 s).
    func observeUnits(policy: Policy, knownOriginals: Set<String>) -> UnitsObservation {
        let patterns = policy.unitPatterns
        guard !patterns.isEmpty else { return .none }
        var result: UnitsObservation
        do throws(UnitError) {
            result = UnitsObservation(listing: .value(try env.units.units(matching: patterns)))
        } catch {
            return UnitsObservation(listing: .unavailable(error.description), unreachable: error.isUnreachable ? error.description : nil)
        }
        let placements = UnitPlacement.assign(units: (result.listing.value ?? []).map { ($0.name, $0.controlGroup) }, policy: policy)
        for p in placements where !knownOriginals.contains(p.unit) && result.unreachable == nil {
            do throws(UnitError) {
                result.originals[p.unit] = .value(try env.units.weights(of: p.unit))
            } catch {
                if error.isUnreachable { result.unreachable = error.description }
                // A unit that stopped in between has no weights to keep.
                if error.kind != .gone { result.originals[p.unit] = .unavailable(error.description) }
            }
        }
        for p in placements {
            guard let path = CgroupPath(p.cgroup) else { continue }
            let stats = readStats(path)
            // A unit whose cgroup vanished since the listing simply drops out.
            if stats.cpu.value == nil && !env.cgroups.fs.exists(path) { continue }
            result.stats[p.unit] = stats
        }
        return result
    }
}
