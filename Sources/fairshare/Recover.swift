import ArgumentParser
import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareSystemd
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct Recover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "After the agent has exited, make its cgroup subtree usable again (the unit's ExecStopPost=).",
        discussion: """
            Does nothing while an agent answers on the socket. After a crash ($SERVICE_RESULT \
            signal, core-dump or watchdog) the processes stay in their groups and only the \
            controllers are turned off, so systemd can start the next agent, which adopts them. \
            Otherwise every process is given back to the cgroup it came from (recorded in \
            /run/fairshare/origins) and the groups are removed. No process is killed.
            """)

    enum ModeChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, keep
        case handBack = "hand-back"
    }

    @Option(name: .long, help: "auto (from $SERVICE_RESULT), keep (processes stay for the next agent) or hand-back.")
    var mode: ModeChoice = .auto

    @Option(name: .long, help: "Absolute path of the agent's cgroup root; by default the unit's own cgroup (this command runs in its .control child).")
    var cgroupRoot: String?

    @OptionGroup var socket: SocketOption

    func validate() throws {
        if let cgroupRoot, !cgroupRoot.hasPrefix("/") {
            throw ValidationError("--cgroup-root '\(cgroupRoot)' must be an absolute path such as /sys/fs/cgroup/fairshare")
        }
    }

    func run() async throws {
        do throws(ControlSocketError) {
            if case .running(let pid) = try Recovery.agentPresence(socket: socket.socket) {
                print("the agent (pid \(pid)) is running; nothing to recover")
                return
            }
        } catch {
            fail("cannot tell whether the agent is still running: \(error); not recovering while it may be (stop it, then run this again)")
        }
        let chosen: Recovery.Mode = switch mode {
        case .auto: Recovery.mode(serviceResult: getenv("SERVICE_RESULT").map { String(cString: $0) })
        case .keep: .keep
        case .handBack: .handBack
        }
        let mountPoint: String
        let root: CgroupPath
        do {
            mountPoint = try CgroupEnvironment.mountPointOfThisProcess()
            if let cgroupRoot {
                root = try CgroupEnvironment.root(setting: .path(cgroupRoot), mountPoint: mountPoint, selfCgroup: "")
            } else {
                // The root is found from this process's own cgroup: one that can not be read stops
                // here (taking it for "/" would hand processes to the wrong place).
                let selfCgroup = try CgroupEnvironment.cgroupOfThisProcess()
                if CgroupPath(selfCgroup)?.name != CgroupTree.systemdControlLeafName {
                    fail("not running as the unit's ExecStopPost= (own cgroup \(selfCgroup)); give --cgroup-root")
                }
                root = try CgroupEnvironment.root(setting: .auto, mountPoint: mountPoint, selfCgroup: selfCgroup)
            }
        } catch {
            fail("\(error)")
        }
        let fs = LinuxCgroupFilesystem(mountPoint: mountPoint)
        guard fs.exists(root) else {
            print("nothing to recover: \(fs.absolutePath(root)) does not exist")
            return
        }
        _ = bootstrapLogging(.auto)
        let tree = CgroupTree(fs: fs, root: root, pause: { d in usleep(UInt32(d.milliseconds * 1000)) })
        do {
            let outcome = try await Recovery.run(
                mode: chosen, tree: tree, processes: LinuxProcessSource(),
                origins: FileOriginStore(path: originLedgerPath(socketPath: socket.socket)),
                units: SystemdUnitManager(),
                capacityCPUs: tree.capacityCPUs(fallback: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))),
                logger: Logger(label: "fairshare.recover"))
            let groups = outcome.populatedGroups.map(\.rawValue).joined(separator: ", ")
            guard outcome.acted else {
                print("nothing to recover: the agent left no group and no unit behind")
                return
            }
            switch outcome.mode {
            case .keep:
                print("kept the processes of \(groups.isEmpty ? "no group" : groups) in place for the next agent; "
                      + (outcome.controllersReleased.isEmpty ? "no controllers were enabled" : "turned off \(outcome.controllersReleased.joined(separator: " ")) in \(fs.absolutePath(root))"))
            case .handBack:
                if let release = outcome.release { print(release.summary) }
                if !outcome.populatedGroups.isEmpty {
                    print("could not empty groups \(groups); their processes stay there (nothing was killed)")
                }
            }
            for problem in outcome.problems { print("warning: \(problem)") }
        } catch {
            fail("\(error)")
        }
    }
}
