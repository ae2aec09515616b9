/// Pure parsers for the kernel's text formats. The I/O that reads them lives at the edge.

/// `cpu.stat`: "key value" lines. usage/user/system are always there; the throttling fields
/// only when the cpu controller is enabled for the cgroup.
public struct CPUStat: Sendable, Equatable {
    public var usageUsec: UInt64
    public var userUsec: UInt64
    public var systemUsec: UInt64
    public var nrPeriods: UInt64
    public var nrThrottled: UInt64
    public var throttledUsec: UInt64

    public init(usageUsec: UInt64 = 0, userUsec: UInt64 = 0, systemUsec: UInt64 = 0, nrPeriods: UInt64 = 0, nrThrottled: UInt64 = 0, throttledUsec: UInt64 = 0) {
        self.usageUsec = usageUsec
        self.userUsec = userUsec
        self.systemUsec = systemUsec
        self.nrPeriods = nrPeriods
        self.nrThrottled = nrThrottled
        self.throttledUsec = throttledUsec
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case missingField(String)
        case badLine(String)

        public var description: String {
            switch self {
            case .missingField(let f): "cpu.stat has no \(f) line"
            case .badLine(let l): "cpu.stat line is not 'key value': \(l)"
            }
        }
    }

    public static func parse(_ text: String) throws(ParseError) -> CPUStat {
        var fields: [Substring: UInt64] = [:]
        for line in text.split(separator: "\n") where !line.isEmpty {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let v = UInt64(parts[1]) else { throw .badLine(String(line)) }
            fields[parts[0]] = v
        }
        for required in ["usage_usec", "user_usec", "system_usec"] where fields[Substring(required)] == nil {
            throw .missingField(required)
        }
        return CPUStat(
            usageUsec: fields["usage_usec"]!, userUsec: fields["user_usec"]!, systemUsec: fields["system_usec"]!,
            nrPeriods: fields["nr_periods"] ?? 0, nrThrottled: fields["nr_throttled"] ?? 0,
            throttledUsec: fields["throttled_usec"] ?? 0
        )
    }
}

/// `io.stat`: one line per device, "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N".
/// Only the byte and io counters are kept, summed over devices.
public struct IOStat: Sendable, Equatable {
    public var readBytes: UInt64
    public var writeBytes: UInt64
    public var readIOs: UInt64
    public var writeIOs: UInt64

    public init(readBytes: UInt64 = 0, writeBytes: UInt64 = 0, readIOs: UInt64 = 0, writeIOs: UInt64 = 0) {
        self.readBytes = readBytes
        self.writeBytes = writeBytes
        self.readIOs = readIOs
        self.writeIOs = writeIOs
    }

    /// Unknown keys (iocost adds "cost.*" fields) are ignored; malformed numbers are errors.
    public static func parse(_ text: String) throws(CPUStat.ParseError) -> IOStat {
        var total = IOStat()
        for line in text.split(separator: "\n") where !line.isEmpty {
            let parts = line.split(separator: " ")
            guard parts.count >= 1, parts[0].contains(":") else { throw .badLine(String(line)) }
            for kv in parts.dropFirst() {
                guard let eq = kv.firstIndex(of: "=") else { throw .badLine(String(line)) }
                let key = kv[..<eq]
                let value = kv[kv.index(after: eq)...]
                let n: UInt64
                switch key {
                case "rbytes", "wbytes", "rios", "wios":
                    guard let v = UInt64(value) else { throw .badLine(String(line)) }
                    n = v
                default: continue
                }
                switch key {
                case "rbytes": total.readBytes &+= n
                case "wbytes": total.writeBytes &+= n
                case "rios": total.readIOs &+= n
                default: total.writeIOs &+= n
                }
            }
        }
        return total
    }
}

public enum ProcFormat {
    public struct Stat: Sendable, Equatable {
        public var comm: String
        public var state: Character
        public var parentPID: Int32
        public var flags: UInt32
        public var startTime: UInt64

        /// PF_KTHREAD in include/linux/sched.h.
        public var isKernelThread: Bool { flags & 0x0020_0000 != 0 }
    }

    /// /proc/PID/stat. comm sits in parentheses and may itself hold spaces and ')', so the
    /// fields are counted from the last ')'.
    public static func parseStat(_ text: String) -> Stat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") , open < close else { return nil }
        let comm = String(text[text.index(after: open)..<close])
        let rest = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // rest[0] = state (field 3), rest[1] = ppid (4), rest[6] = flags (9), rest[19] = starttime (22).
        guard rest.count > 19, let state = rest[0].first, let ppid = Int32(rest[1]), let flags = UInt32(rest[6]),
            let start = UInt64(rest[19])
        else { return nil }
        return Stat(comm: comm, state: state, parentPID: ppid, flags: flags, startTime: start)
    }

    /// Real uid and gid: the first number on the "Uid:" and "Gid:" lines of /proc/PID/status.
    public static func parseStatusIDs(_ text: String) -> (uid: UInt32, gid: UInt32)? {
        var uid: UInt32?
        var gid: UInt32?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Uid:") {
                uid = line.dropFirst(4).split(whereSeparator: { $0 == "\t" || $0 == " " }).first.flatMap { UInt32($0) }
            } else if line.hasPrefix("Gid:") {
                gid = line.dropFirst(4).split(whereSeparator: { $0 == "\t" || $0 == " " }).first.flatMap { UInt32($0) }
            }
            if uid != nil && gid != nil { break }
        }
        guard let uid, let gid else { return nil }
        return (uid, gid)
    }

    /// The unified hierarchy's path: the "0::" line of /proc/PID/cgroup. On a v1 or hybrid host
    /// the other lines are v1 hierarchies and are skipped.
    public static func parseCgroupV2Path(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            var path = String(line.dropFirst(3))
            // A process whose cgroup was removed reads "/path (deleted)".
            if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
            return path
        }
        return nil
    }

    /// /proc/PID/cmdline: NUL-separated, usually NUL-terminated.
    public static func parseCmdline(_ bytes: [UInt8]) -> [String] {
        var args = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if args.last == "" { args.removeLast() }
        return args
    }

    /// Counts the CPUs in a cpuset list such as "0-3,8,10-11".
    public static func countCPUs(inList text: String) -> Int? {
        let t = text.trimmingSpaces()
        if t.isEmpty { return 0 }
        var n = 0
        for part in t.split(separator: ",") {
            let bounds = part.split(separator: "-")
            switch bounds.count {
            case 1:
                guard Int(bounds[0]) != nil else { return nil }
                n += 1
            case 2:
                guard let a = Int(bounds[0]), let b = Int(bounds[1]), a <= b else { return nil }
                n += b - a + 1
            default: return nil
            }
        }
        return n
    }
}

/// One line of /proc/self/mountinfo that matters here: where a cgroup2 filesystem is mounted.
public enum MountInfo {
    /// Mount points of every cgroup2 filesystem, in file order.
    public static func cgroup2MountPoints(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            // "36 25 0:31 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate"
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2, halves[1].split(separator: " ").first == "cgroup2" else { return nil }
            let fields = halves[0].split(separator: " ")
            guard fields.count >= 5 else { return nil }
            return unescape(String(fields[4]))
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo octal.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
                let v = UInt8(String(decoding: b[(i + 1)..<min(i + 4, b.count)], as: UTF8.self), radix: 8)
            {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
