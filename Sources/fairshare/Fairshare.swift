import ArgumentParser
import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareSystemd
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

@main
struct Fairshare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fairshare",
        abstract: "Proportional-share CPU and IO enforcement with cgroup v2.",
        discussion: """
            The agent (`fairshare run`, normally the fairshare.service unit) places processes \
            into cgroups whose cpu.weight and io.weight carry the shares of the policy \
            (/etc/fairshare/policy.toml) and reports through the systemd journal.
            """,
        version: fairshareVersion,
        subcommands: [Run.self, Status.self, Metrics.self, Check.self, Reload.self, Explain.self, PlanPolicy.self, Recover.self, ProbeUnits.self]
    )
}

struct SocketOption: ParsableArguments {
    @Option(name: .long, help: "The agent's control socket.")
    var socket: String = ControlClient.defaultPath
}

/// Prints "fairshare: error: ..." and exits 1.
func fail(_ message: String) -> Never {
    var stderr = StandardError()
    print("fairshare: error: \(message)", to: &stderr)
    exit(1)
}

/// Prints every problem of an invalid policy as file:line:column, then a count, and exits 1
/// (`check`, and `plan` before it asks the agent).
func failInvalidPolicy(_ error: PolicyError, path: String) -> Never {
    var stderr = StandardError()
    print(error.description, to: &stderr)
    let n = error.problems.count
    print("\(path): \(n) error\(n == 1 ? "" : "s"); the policy is not valid", to: &stderr)
    exit(1)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        _ = string.utf8CString.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress, $0.count - 1) }
    }
}

func request(_ r: ControlRequest, socket: String) -> ControlResponse {
    do {
        return try ControlClient.send(r, to: socket)
    } catch {
        fail("\(error)")
    }
}

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(value) else { fail("cannot encode JSON") }
    print(String(decoding: data, as: UTF8.self))
}

enum LogTarget: String, ExpressibleByArgument, CaseIterable {
    case auto, journal, console
}

/// Sends log entries to the journal under systemd (auto), else to standard error.
func bootstrapLogging(_ requested: LogTarget) -> LogTarget {
    let target: LogTarget = requested == .auto
        ? (getenv("INVOCATION_ID") != nil || getenv("JOURNAL_STREAM") != nil ? .journal : .console) : requested
    LoggingSystem.bootstrap { _ in
        target == .journal ? JournalLogHandler(sink: SystemdJournalSink()) as any LogHandler : ConsoleLogHandler() as any LogHandler
    }
    return target
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the agent in the foreground (as the service does).")

    @Option(name: .long, help: "The policy file.")
    var policy: String = "/etc/fairshare/policy.toml"

    @Option(name: .long, help: "Absolute path of the cgroup to manage (overrides cgroup_root in the policy).")
    var cgroupRoot: String?

    @Option(name: .long, help: "Sample and enforce period, e.g. 500ms, 2s (overrides interval in the policy).")
    var interval: String?

    @Option(name: .long, help: "Where log entries go: journal, console (standard error), or auto (the journal under systemd, else the console).")
    var logTarget: LogTarget = .auto

    @OptionGroup var socket: SocketOption

    func validate() throws {
        if let interval {
            guard let d = DurationText.parse(interval), AgentSettings.intervalRange.contains(d) else {
                throw ValidationError("--interval '\(interval)' is not a duration between 100ms and 60s (e.g. 500ms, 2s)")
            }
        }
        if let cgroupRoot, !cgroupRoot.hasPrefix("/") {
            throw ValidationError("--cgroup-root '\(cgroupRoot)' must be an absolute path such as /sys/fs/cgroup/fairshare")
        }
    }

    func run() async throws {
        let target = bootstrapLogging(logTarget)
        let logger = Logger(label: "fairshare")
        let options = RunOptions(
            policyPath: policy, cgroupRoot: cgroupRoot, interval: interval.flatMap(DurationText.parse), socketPath: socket.socket)
        do {
            try await AgentRunner.run(options, logger: logger)
        } catch let error as StartupError {
            logger.critical("\(error.description)", metadata: ["event": "error"])
            if target == .journal { fail(error.description) }
            throw ExitCode(1)
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each group's shares, weights, members, CPU usage and target.",
        discussion: """
            --json prints the agent's StatusReport: schema_version (1), agent {pid, started_at, \
            uptime_seconds, cgroup_root, interval_seconds, cpus, ticks, last_pass_seconds, \
            pass_seconds_median}, policy {path, loaded_at, \
            last_reload {applied, at, error}}, groups [{name, shares, io_shares, cpu_weight, \
            io_weight, members, cpu_usage_cpus, cpu_usage_pct, cpu_target_pct, usage_usec, \
            nr_throttled, throttled_usec, io_read_bps, io_write_bps, redistribution, backing \
            ("agent" or "unit"), units [{name, cgroup}] (unit-backed groups), machine_share_pct, \
            parent (a nested group's or a user's subgroup's group), uid and user (a user's \
            subgroup)}]: a flat list, a tree by parent. Times are seconds since the epoch. Fields are never renamed or removed within a \
            schema_version; the later ones are optional. In observe mode ([agent] mode = \
            "observe") agent.mode is "observe" and `would` (a plan report) says what enforcing \
            would do.

            --mine works for any user: it asks the user socket (user.sock beside --socket) for \
            the caller's own share only: the groups their processes are in (their own \
            subgroup of a per_user group; a shared group as a whole), usage and target, the \
            cap and whether they borrow or are held, the decayed usage and what it does to \
            their weight, in plain words. --json prints MineReport: schema_version (1), uid, \
            user, processes, groups [{group, own, processes, cpu_usage_cpus, \
            cpu_usage_percent, cpu_target_percent, cpu_weight, limit, cap, borrowing, \
            borrowed_cpus, decayed_usage_cpus, entitlement_cpus, fairness_factor}], explanation.
            """
    )

    @Flag(name: .long, help: "Print the status as JSON (stable, see below).")
    var json = false

    @Flag(name: .long, help: "Only your own share, for any user (over the user socket).")
    var mine = false

    @Flag(name: .long, help: "Show every user of a per_user group (the table shows the \(StatusTable.foldedUsers) busiest of each otherwise).")
    var users = false

    @OptionGroup var socket: SocketOption

    func run() throws {
        if mine {
            let response = request(ControlRequest(command: .mine), socket: ControlClient.userSocketPath(beside: socket.socket))
            guard response.ok, let report = response.mine else { fail(response.error ?? "the agent sent no answer") }
            if json { printJSON(report) } else { print(MineTable.render(report), terminator: "") }
            return
        }
        let response = request(ControlRequest(command: .status), socket: socket.socket)
        guard response.ok, let status = response.status else { fail(response.error ?? "the agent sent no status") }
        if json {
            printJSON(status)
        } else {
            print(StatusTable.render(status, allUsers: users), terminator: "")
        }
    }
}

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the agent's metrics in the Prometheus text format.",
        discussion: """
            The same text the agent writes every report_interval to [agent] metrics_textfile \
            (node_exporter's textfile collector): fairshare_group_* series per group (label \
            group) and the agent's own. Same access as status.
            """)

    @OptionGroup var socket: SocketOption

    func run() throws {
        let response = request(ControlRequest(command: .metrics), socket: socket.socket)
        guard response.ok, let text = response.metrics else { fail(response.error ?? "the agent sent no metrics") }
        print(text, terminator: "")
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a policy file and print the groups it defines.",
        discussion: "Exits 0 if the policy is valid, 1 with each problem as file:line:column otherwise.")

    @Argument(help: "The policy file.")
    var policy: String = "/etc/fairshare/policy.toml"

    func run() throws {
        let text: String
        do throws(PolicyFileError) { text = try readTrustedPolicy(path: policy) } catch {
            switch error {
            case .invalidText(let problems):
                failInvalidPolicy(problems, path: policy)
            case .notRegularFile, .notOwnedByRoot, .writableByOthers:
                // The agent applies the same rules at start and on reload: say so, so a draft
                // that is fine but badly owned is not taken for one the agent would load.
                fail("the agent (fairshare run, reload) would refuse this file: \(error)")
            case .unreadable:
                fail("\(error)")
            }
        }
        do throws(PolicyError) {
            let p = try PolicyParser.parse(text, file: policy, resolveUser: AccountDatabase.uid(ofUser:))
            // Amounts in CPUs are checked against this machine (the agent checks its root's).
            let cpus = Double(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            let problems = PolicyParser.capacityProblems(p, capacity: cpus)
            if !problems.isEmpty {
                throw PolicyError(problems: problems.map { var q = $0; q.message += " (this machine has \(Int(cpus)) CPUs)"; return q })
            }
            for w in p.warnings { print(w.description) }
            print(StatusTable.renderPolicy(p), terminator: "")
            // Where this policy's io shares would count on this machine (read here, no agent).
            // The cgroup v2 mount holds io.cost's files (/sys/fs/cgroup/unified on a hybrid host).
            let disks = LinuxIODisks.readThisMachine()
            print("\n" + IOShares.lines(disks.map(IOShares.statuses)), terminator: "")
            if let omitted = disks.value?.omitted, omitted > 0 { print("(\(omitted) more disks not read: at most \(IODisks.maxDevices))") }
            if let w = p.bfqRangeWarning() { print("note: \(w)") }
        } catch {
            failInvalidPolicy(error, path: policy)
        }
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running agent to re-read its policy; say whether it was applied.",
        discussion: """
            Exits 0 if the new policy is in force, 1 if it was rejected (the old one stays). \
            With --pid the request is SIGHUP to that process (the unit's ExecReload= passes \
            $MAINPID), and the command waits until the agent has handled it.
            """)

    @Option(name: .long, help: "Send SIGHUP to this agent process and wait for the outcome, instead of asking over the socket.")
    var pid: Int32?

    @Option(name: .long, help: "With --pid: how long to wait for the agent, in seconds.")
    var timeout: Double = 60

    @OptionGroup var socket: SocketOption

    func validate() throws {
        if let pid, pid <= 1 { throw ValidationError("--pid must name the agent's process (> 1), got \(pid)") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive, got \(timeout)") }
    }

    func run() throws {
        let outcome: ReloadOutcome
        if let pid {
            outcome = try reloadBySignal(pid: pid)
        } else {
            let response = request(ControlRequest(command: .reload), socket: socket.socket)
            guard let r = response.reload else { fail(response.error ?? "reload failed") }
            outcome = r
        }
        if outcome.applied {
            print("policy reloaded and applied")
        } else {
            var stderr = StandardError()
            print("policy rejected; the agent keeps the policy it had:\n\(outcome.error ?? "")", to: &stderr)
            throw ExitCode(1)
        }
    }

    /// SIGHUP, then poll the status until the agent's reload count grows.
    func reloadBySignal(pid: Int32) throws -> ReloadOutcome {
        let before = status()
        guard before.agent.pid == pid else {
            fail("process \(pid) is not the agent answering on \(socket.socket) (that is pid \(before.agent.pid))")
        }
        let seen = before.policy.reloads ?? 0
        guard kill(pid, SIGHUP) == 0 else { fail("cannot signal process \(pid): \(String(cString: strerror(errno)))") }
        let deadline = Double(monotonicMilliseconds()) / 1000 + timeout
        while Double(monotonicMilliseconds()) / 1000 < deadline {
            usleep(50_000)
            let now = status()
            if (now.policy.reloads ?? 0) > seen, let outcome = now.policy.lastReload { return outcome }
        }
        fail("the agent (pid \(pid)) did not answer the reload within \(timeout) s")
    }

    func status() -> StatusReport {
        let response = request(ControlRequest(command: .status), socket: socket.socket)
        guard response.ok, let status = response.status else { fail(response.error ?? "the agent sent no status") }
        return status
    }
}

func monotonicMilliseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Say which group a process falls in and which keys matched.")

    @Argument(help: "The process ID.")
    var pid: Int32

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var socket: SocketOption

    func validate() throws {
        guard pid > 0 else { throw ValidationError("PID must be a positive number, got \(pid)") }
    }

    func run() throws {
        let response = request(ControlRequest(command: .explain, pid: pid), socket: socket.socket)
        guard response.ok, let e = response.explain else { fail(response.error ?? "no answer") }
        if json {
            printJSON(e)
            return
        }
        print("process   \(e.pid) (\(e.comm)), uid \(e.uid), gid \(e.gid)")
        print("exe       \(e.exe ?? "-")")
        print("cgroup    \(e.cgroup)" + (e.originCgroup.map { " (came from \($0))" } ?? ""))
        print("group     \(e.path ?? e.group ?? "none")")
        print("why       \(e.reason ?? "-")")
        for k in e.matchedKeys { print("matched   \(k)") }
    }
}
