/// One event of the kernel's process connector (NETLINK_CONNECTOR, CN_IDX_PROC), as far as the
/// agent cares. PIDs are in the initial PID namespace; `pid` is the thread that caused the
/// event and `tgid` its process (thread group), which is what cgroup.procs moves.
public enum ProcEvent: Sendable, Equatable {
    /// A new task. A new process when `childPID == childTGID`; a new thread otherwise.
    case fork(parentTGID: Int32, childPID: Int32, childTGID: Int32)
    case exec(pid: Int32, tgid: Int32)
    /// A change of real or effective user id.
    case uid(pid: Int32, tgid: Int32, real: UInt32, effective: UInt32)
    case gid(pid: Int32, tgid: Int32, real: UInt32, effective: UInt32)
    /// A new name (prctl(PR_SET_NAME) or a write to /proc/PID/comm; an exec has its own event).
    case comm(pid: Int32, tgid: Int32, comm: String)
    /// A task ended; the process ended when `pid == tgid` (its leader).
    case exit(pid: Int32, tgid: Int32)
    /// The answer to the listen request (`err` 0: subscribed).
    case ack(err: UInt32)
    /// An event the agent does not act on (sid, ptrace, coredump, or a kind this build does not
    /// know), kept as its `what` code so it can be counted.
    case other(what: UInt32)
}

extension ProcEvent {
    /// The process the event is about, if the agent acts on it: exec, uid, gid and comm of any
    /// of its threads re-classify the process; a fork only when it makes a process (thread
    /// forks are ignored: cgroup.procs moves whole processes); an exit only of the leader.
    public var kindName: String {
        switch self {
        case .fork(_, let child, let tgid): child == tgid ? "fork" : "thread"
        case .exec: "exec"
        case .uid: "uid"
        case .gid: "gid"
        case .comm: "comm"
        case .exit(let pid, let tgid): pid == tgid ? "exit" : "thread_exit"
        case .ack: "ack"
        case .other: "other"
        }
    }
}
