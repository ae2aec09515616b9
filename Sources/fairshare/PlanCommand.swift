import FairshareAgent
import FairshareCore
import FairshareLinux

#if canImport(Glibc)
import Glibc
#endif

import ArgumentParser

struct PlanPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what the running agent would do with a new policy, without applying it.",
        discussion: """
            The file is read here and checked first (as `fairshare check` does); the agent then \
            validates it against its root's CPUs, scans every process and answers which processes \
            would move from which group to which, and each group's weights, cpu.max and \
            allocation before and after. Nothing is applied: install the file and run \
            `systemctl reload fairshare` for that. Needs root. Exits 0 with a plan, 1 if the \
            policy is invalid (each problem as file:line:column) or the agent refused, 2 if the \
            agent can not be reached. --json prints the PlanReport (schema_version 1, snake_case).
            """)

    @Argument(help: "The new policy file.")
    var policy: String

    @Flag(name: .long, help: "Print the plan as JSON (stable).")
    var json = false

    @OptionGroup var socket: SocketOption

    func run() throws {
        let path = absolute(policy)
        var stderr = StandardError()
        let text: String
        do throws(PolicyFileError) { text = try readPolicyDraft(path: path) } catch {
            if case .invalidText(let problems) = error { failInvalidPolicy(problems, path: path) }
            fail("\(error)")
        }
        // Checked here first: an invalid policy never reaches the agent.
        do throws(PolicyError) { _ = try PolicyParser.parse(text, file: path) } catch { failInvalidPolicy(error, path: path) }

        let response: ControlResponse
        do {
            response = try ControlClient.send(ControlRequest(command: .plan, policyText: text, policyPath: path), to: socket.socket)
        } catch {
            print("fairshare: error: \(error)", to: &stderr)
            throw ExitCode(2)
        }
        guard response.ok, let plan = response.plan else {
            // The agent's own validation (its root's CPUs) or a refusal: file:line:column as above.
            fail(response.error ?? "the agent sent no plan")
        }
        if json {
            printJSON(plan)
        } else {
            print(PlanTable.render(plan), terminator: "")
        }
    }

    /// The path as the agent's messages should name it (the agent does not share our directory).
    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }
}

/// The plan for the terminal: the moves per pair, then each group before and after.
enum PlanTable {
    /// - Parameter observing: the agent's own observe-mode report (status): no title, no "apply
    ///   it" line, the groups as enforcing would leave them.
    static func render(_ p: PlanReport, observing: Bool = false) -> String {
        var out = observing ? "" : "plan for \(p.policyPath) (in force: \(p.currentPolicyPath)), \(StatusTable.fmt(p.cpus, 0)) CPUs; nothing was applied\n\n"
        if p.moves.isEmpty {
            out += "no process would change group\n"
        } else {
            out += "processes that would move:\n"
            out += StatusTable.table([["FROM", "TO", "COUNT", "FIRST PIDS"]] + p.moves.map { m in
                let pids = m.processes.map { "\($0.pid) (\($0.comm))" }.joined(separator: ", ")
                return [m.from, m.to, String(m.count), pids + (m.count > m.processes.count ? ", ..." : "")]
            })
        }
        if let n = p.movesNotListed { out += "(and \(n) more processes in pairs not listed)\n" }
        out += observing ? "\ngroups as enforcing would set them:\n" : "\ngroups (before -> after):\n"
        func pair<T>(_ g: PlanGroup, _ value: (PlanSide) -> T?, _ show: (T) -> String) -> String {
            let b = g.before.flatMap(value).map(show) ?? "-"
            let a = g.after.flatMap(value).map(show) ?? "-"
            return observing ? a : b == a ? b : "\(b) -> \(a)"
        }
        let rows = p.groups.map { g -> [String] in
            [g.name, g.change.rawValue, pair(g, \.backing, { $0 }), pair(g, \.shares, String.init), pair(g, { $0.idle == true ? "idle" : $0.cpuWeight.map(String.init) }, { $0 }),
             pair(g, \.ioWeight, String.init), pair(g, \.cpuMax, { $0 }), pair(g, \.members, String.init),
             pair(g, \.allocationCPUs, { StatusTable.fmt($0, 2) }), g.after?.demand ?? "-"]
        }
        out += StatusTable.table([["GROUP", "CHANGE", "BACKING", "SHARES", "CPU.W", "IO.W", "CPU.MAX", "PROCS", "ALLOC CPUS", "DEMAND AFTER"]] + rows)
        out += "\n" + p.demandEstimate + ".\n"
        for n in p.notes { out += "note: \(n)\n" }
        out += observing ? "enforce it: set [agent] mode = \"enforce\" and run systemctl reload fairshare\n"
            : "apply it: install the file as the agent's policy and run systemctl reload fairshare\n"
        return out
    }
}
