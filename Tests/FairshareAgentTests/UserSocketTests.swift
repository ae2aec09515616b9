import CSlowClients
import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `fairshare status --mine`: the user socket answers each caller about themselves, never about
/// anyone else, and nothing but that; a flood on it leaves root's socket and other users served.
@Suite struct UserSocketTests {
    /// alice (1001) with two processes in her subgroup of logins and one in batch; uid 1002 with
    /// one in each.
    func twoUsers() async throws -> Harness {
        let h = try Harness(policy: perUserPolicy)
        h.spawn(10, "burn", uid: 1001)
        h.spawn(11, "burn", uid: 1001)
        h.spawn(12, "batch", uid: 1001)
        h.spawn(20, "burn", uid: 1002)
        h.spawn(21, "batch", uid: 1002)
        await h.agent.tick()
        h.clock.advance(by: .seconds(1))
        h.kernel.setUsage("/fairshare/logins/user-1001", usageUsec: 800_000)
        h.kernel.setUsage("/fairshare/logins/user-1002", usageUsec: 200_000)
        h.kernel.setUsage("/fairshare/batch", usageUsec: 500_000)
        await h.agent.tick()
        return h
    }

    @Test func theCallerSeesTheirOwnShareAndNothingOfAnyoneElse() async throws {
        let h = try await twoUsers()
        let alice = PeerCredentials(pid: 1, uid: 1001, gid: 1001)
        let response = await AgentServices.handleUser(ControlRequest(command: .mine), peer: alice, agent: h.agent)
        let mine = try #require(response.mine, "\(response.error ?? "")")
        #expect(mine.uid == 1001 && mine.user == "alice")
        #expect(mine.processes == 3)
        #expect(mine.groups.map(\.group) == ["logins / alice", "batch"])
        let own = try #require(mine.groups.first)
        #expect(own.own && own.processes == 2)
        #expect(own.cpuUsageCPUs.map { abs($0 - 0.8) < 0.01 } == true, "her subgroup's own usage: \(own.cpuUsageCPUs ?? -1)")
        let shared = try #require(mine.groups.last)
        #expect(!shared.own && shared.processes == 1, "her one process in batch, not the group's two")
        #expect(mine.explanation.contains { $0.contains("In group logins / alice you run 2 processes; the figures are your own.") }, "\(mine.explanation)")
        #expect(mine.explanation.contains { $0.contains("shared with others") })

        // Nothing of the other user: no uid, no subgroup, no count of theirs.
        let json = String(decoding: try JSONEncoder().encode(response), as: UTF8.self)
        #expect(!json.contains("1002"), "\(json)")
        #expect(!json.contains("user-"), "no subgroup names: \(json)")
        #expect(!json.contains("\"members\""), "no member counts of shared groups: \(json)")

        // Another caller gets their own.
        let other = await AgentServices.handleUser(ControlRequest(command: .mine), peer: PeerCredentials(pid: 1, uid: 1002, gid: 1002), agent: h.agent)
        #expect(other.mine?.groups.map(\.processes) == [1, 1])
        #expect(!String(decoding: try JSONEncoder().encode(other), as: UTF8.self).contains("alice"))
        // Someone with no process in a group is told so.
        let nobody = await AgentServices.handleUser(ControlRequest(command: .mine), peer: PeerCredentials(pid: 1, uid: 4000, gid: 4000), agent: h.agent)
        #expect(nobody.mine?.groups.isEmpty == true)
        #expect(nobody.mine?.explanation.first?.contains("None of your processes") == true)
    }

    @Test(arguments: [ControlRequest.Command.status, .reload, .metrics, .plan, .explain])
    func everyOtherCommandIsRefusedOnTheUserSocketEvenForRoot(_ command: ControlRequest.Command) async throws {
        let h = try await twoUsers()
        for uid: UInt32 in [1001, 0] {
            let response = await AgentServices.handleUser(ControlRequest(command: command, pid: 10, policyText: perUserPolicy, policyPath: "/p.toml"),
                                                          peer: PeerCredentials(pid: 1, uid: uid, gid: uid), agent: h.agent)
            #expect(!response.ok)
            #expect(response.error?.contains("answers only `fairshare status --mine`") == true, "\(response.error ?? "")")
            #expect(response.status == nil && response.metrics == nil && response.plan == nil && response.explain == nil && response.reload == nil)
        }
        #expect(await h.agent.status().policy.lastReload == nil, "no reload happened")
    }

    @Test func theMineBasisIsMadeOncePerPassWhateverTheNumberOfRequests() async throws {
        let h = try await twoUsers()
        let scans = h.kernel.scanCount
        let lookups = h.kernel.lookupCount
        for uid: UInt32 in [1001, 1002, 1001, 4000] {
            _ = await h.agent.mine(uid: uid)
        }
        // One lookup of each shared group's member (12 and 21), not one per request.
        #expect(h.kernel.lookupCount - lookups == 2, "\(h.kernel.lookupCount - lookups)")
        #expect(h.kernel.scanCount == scans, "no scan of /proc")
        h.clock.advance(by: .seconds(1))
        await h.agent.tick()
        _ = await h.agent.mine(uid: 1001)
        #expect(h.kernel.lookupCount - lookups == 4, "made again after a pass")
    }
}

/// The user socket's flood runs in the abuse suite, which is serialized: never beside the
/// control socket's own floods (two floods at once made a round trip of root's wait 1 s under ASan).
extension ControlSocketAbuseTests {
    @Test func aThousandSlowConnectionsToTheUserSocketLeaveRootsStatusFastAndOtherUsersServed() async throws {
        var template = Array("/tmp/fairshare-user-XXXXXX".utf8CString)
        let dir = String(cString: mkdtemp(&template)!)
        chmod(dir, 0o711)
        let status = StatusReport(
            agent: AgentStatus(pid: 7, startedAt: 1, uptimeSeconds: 2, cgroupRoot: "/sys/fs/cgroup/x", intervalSeconds: 2, cpus: 2, ticks: 3),
            policy: PolicyStatus(path: "/etc/fairshare/policy.toml", loadedAt: 1, lastReload: nil), groups: [])
        let root = try await ControlServer.bind(path: dir + "/fairshare.sock", accessGroup: nil) { _, _ in ControlResponse(ok: true, status: status) }
        let user = try await ControlServer.bind(path: ControlClient.userSocketPath(beside: dir + "/fairshare.sock"), mode: ControlServer.userSocketMode,
                                                accessGroup: nil) { request, peer in
            guard request.command == .mine else { return .failure("mine only") }
            return ControlResponse(ok: true, mine: MineReport.make(status: status, uid: peer.uid, user: nil, processesByGroup: [:],
                                                                   displayName: { $0.name }, halfLifeSeconds: nil))
        }
        let running = [Task { try await root.run() }, Task { try await user.run() }]
        defer { for t in running { t.cancel() } }
        var st = stat()
        #expect(stat(user.path, &st) == 0 && st.st_mode & 0o777 == 0o666, "anyone may connect to the user socket")

        let cPath = strdup(user.path)!
        defer { free(cPath) }
        var options = slowclients_options(path: cPath, count: 1000, seconds: 6, interval_ms: 1000, reconnect: 1)
        var fd: Int32 = -1
        let abuser = slowclients_spawn(&options, 65534, 65534, &fd)
        try #require(abuser > 0)
        let peakOpen = Shared(0)
        let sampling = Task.detached {
            while !Task.isCancelled {
                peakOpen.update { $0 = max($0, user.openConnections) }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        defer { sampling.cancel() }
        try await Task.sleep(for: .milliseconds(700))
        var rounds: [Double] = []
        var othersServed: [String] = []
        for _ in 0..<5 {
            let start = Date()
            let response = try await offPool { try ControlClient.send(ControlRequest(command: .status), to: root.path, timeoutSeconds: 5) }
            rounds.append(Date().timeIntervalSince(start))
            #expect(response.status == status)
            othersServed.append(try await offPool { SlowClientExchange.exchange(user.path, "{\"command\":\"mine\"}\n", uid: 65533, gid: 65533) })
            try await Task.sleep(for: .milliseconds(500))
        }
        let statsFD = fd
        let stats = try await offPool {
            var s = slowclients_stats()
            _ = slowclients_wait(abuser, statsFD, &s)
            return s
        }
        // Under a sanitizer, beside the other suites, one round once took 1.01 s: the 1 s goal is
        // the bench's (make bench-socket: max 1.5 ms); here the median holds it and no round may
        // come near the 5 s a client waits (a stalled root is what this test is for).
        let sorted = rounds.sorted()
        #expect(sorted[sorted.count / 2] < 1.0 && sorted.last! < 3.0, "root's status round trips (s) during the flood: \(rounds)")
        #expect(othersServed.allSatisfy { $0.contains("\"ok\":true") && $0.contains("\"uid\":65533") }, "uid 65533 got its own answer: \(othersServed)")
        #expect(stats.connects + stats.connect_failures >= 1000 && stats.limit_answers > 0,
                "uid 65534 tried its 1000 and was held to its bound: \(stats.connects) connects, \(stats.connect_failures) failed, \(stats.limit_answers) refusals")
        #expect(peakOpen.get() <= ControlSocketLimits.standard.connectionsPerUser + 1,
                "the server held at most uid 65534's bound and uid 65533's one: \(peakOpen.get())")
        for t in running { t.cancel() }
        for t in running { _ = await t.result }
    }
}
