/// `fairshare explain PID`: which group a process falls in, and which keys matched.
public struct ExplainReport: Codable, Sendable, Equatable {
    public var pid: Int32
    public var comm: String
    public var uid: UInt32
    public var gid: UInt32
    public var exe: String?
    public var cgroup: String
    /// Where it was before the agent moved it, if it did.
    public var originCgroup: String?
    /// The group's path: `research/lab-a`, `logins/user-1001`.
    public var group: String?
    /// The same as people read it: `research / lab-a`, `logins / alice`.
    public var path: String?
    public var reason: String?
    public var matchedKeys: [String]

    public init(pid: Int32, comm: String, uid: UInt32, gid: UInt32, exe: String?, cgroup: String, originCgroup: String?, group: String?, reason: String?, matchedKeys: [String]) {
        self.pid = pid
        self.comm = comm
        self.uid = uid
        self.gid = gid
        self.exe = exe
        self.cgroup = cgroup
        self.originCgroup = originCgroup
        self.group = group
        self.reason = reason
        self.matchedKeys = matchedKeys
    }

    enum CodingKeys: String, CodingKey {
        case pid, comm, uid, gid, exe, cgroup, group, path, reason
        case originCgroup = "origin_cgroup"
        case matchedKeys = "matched_keys"
    }
}
