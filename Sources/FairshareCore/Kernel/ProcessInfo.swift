/// What the agent knows about one process from /proc, enough to classify it.
public struct ProcessInfo: Sendable, Equatable {
    public var pid: Int32
    public var parentPID: Int32
    /// Clock ticks after boot the process started (field 22 of /proc/PID/stat): with the pid it
    /// identifies a process, so a recycled pid is not mistaken for the one the agent moved.
    public var startTime: UInt64
    public var uid: UInt32
    public var gid: UInt32
    public var comm: String
    /// Target of /proc/PID/exe; nil when unreadable (kernel threads, permission, gone).
    public var exe: String?
    public var argv: [String]
    /// The cgroup v2 path ("0::" line of /proc/PID/cgroup), e.g. "/user.slice/user-1000.slice".
    public var cgroup: String
    public var isKernelThread: Bool

    public init(
        pid: Int32, parentPID: Int32 = 1, startTime: UInt64 = 0, uid: UInt32 = 0, gid: UInt32 = 0, comm: String,
        exe: String? = nil, argv: [String] = [], cgroup: String = "/", isKernelThread: Bool = false
    ) {
        self.pid = pid
        self.parentPID = parentPID
        self.startTime = startTime
        self.uid = uid
        self.gid = gid
        self.comm = comm
        self.exe = exe
        self.argv = argv
        self.cgroup = cgroup
        self.isKernelThread = isKernelThread
    }

    /// How much of a command line `cmdline` patterns see: the first 4096 bytes of the
    /// space-joined argv (the agent reads no more of /proc/PID/cmdline than that and one byte).
    /// An argument can be 128 KB: matching all of it every time would let any user set the
    /// agent's pace.
    public static let cmdlineMatchBytes = 4096

    /// The space-joined argv cut to its first `cmdlineMatchBytes` bytes (at a character
    /// boundary): the text `cmdline` patterns are searched in.
    public var matchedCommandLine: String {
        var line = ""
        line.reserveCapacity(min(argv.reduce(argv.count) { $0 + $1.utf8.count }, Self.cmdlineMatchBytes))
        for (i, arg) in argv.enumerated() {
            if i > 0 {
                guard line.utf8.count < Self.cmdlineMatchBytes else { break }
                line += " "
            }
            let room = Self.cmdlineMatchBytes - line.utf8.count
            guard arg.utf8.count > room else {
                line += arg
                continue
            }
            let utf8 = arg.utf8
            var end = utf8.index(utf8.startIndex, offsetBy: room)
            // Back off to the start of a character (not a UTF-8 continuation byte).
            while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
            line += String(decoding: utf8[..<end], as: UTF8.self)
            break
        }
        return line
    }

    /// The identity of a process across scans: pid plus start time.
    public var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime) }
}

public struct ProcessIdentity: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    public var description: String { String(pid) }
}
