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

    /// The keys kept, in the order of `CPUStat`'s fields; others are skipped (newer kernels add
    /// lines such as nr_bursts).
    private static let keys: [[UInt8]] = ["usage_usec", "user_usec", "system_usec", "nr_periods", "nr_throttled", "throttled_usec"]
        .map { Array($0.utf8) }

    /// Parses "key value" lines. Read for every group and every user's subgroup in every pass, so
    /// it walks the bytes once: no split, no dictionary.
    public static func parse(_ text: String) throws(ParseError) -> CPUStat {
        let b = Array(text.utf8)
        var values = [UInt64?](repeating: nil, count: keys.count)
        var i = 0
        while i < b.count {
            var end = i
            while end < b.count, b[end] != UInt8(ascii: "\n") { end += 1 }
            defer { i = end + 1 }
            guard end > i else { continue }  // an empty line
            var tokens: [Range<Int>] = []
            var j = i
            while j < end {
                while j < end, b[j] == UInt8(ascii: " ") { j += 1 }
                let start = j
                while j < end, b[j] != UInt8(ascii: " ") { j += 1 }
                if j > start { tokens.append(start..<j) }
                if tokens.count > 2 { break }
            }
            guard tokens.count == 2, let value = decimal(b[tokens[1]]) else { throw .badLine(String(decoding: b[i..<end], as: UTF8.self)) }
            if let k = keys.firstIndex(where: { $0.elementsEqual(b[tokens[0]]) }) { values[k] = value }
        }
        for k in 0..<3 where values[k] == nil { throw .missingField(String(decoding: keys[k], as: UTF8.self)) }
        return CPUStat(usageUsec: values[0]!, userUsec: values[1]!, systemUsec: values[2]!, nrPeriods: values[3] ?? 0,
                       nrThrottled: values[4] ?? 0, throttledUsec: values[5] ?? 0)
    }

    /// Unsigned decimal digits that fit a UInt64; nil otherwise.
    private static func decimal(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty else { return nil }
        var v: UInt64 = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            v = a
        }
        return v
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

/// `cgroup.stat`: "nr_descendants 200\nnr_dying_descendants 0\n" (newer kernels add
/// `nr_subsys_*` lines). Only the live descendants are kept: a count that did not change says
/// that a per_user group's listing need not be read again (`UserReadSchedule`).
public struct CgroupCounts: Sendable, Equatable {
    public var descendants: Int

    public init(descendants: Int) {
        self.descendants = descendants
    }

    public static func parse(_ text: String) throws(CPUStat.ParseError) -> CgroupCounts {
        for line in text.split(separator: "\n") where line.hasPrefix("nr_descendants ") {
            guard let n = Int(line.dropFirst("nr_descendants ".count)), n >= 0 else { throw .badLine(String(line)) }
            return CgroupCounts(descendants: n)
        }
        throw .missingField("nr_descendants")
    }
}

/// PSI, `cpu.pressure`: "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345" (and a "full"
/// line on newer kernels). Only the cumulative "some" stall time is kept: its growth over an
/// interval is the share of that interval in which some task waited for a CPU, exact and
/// immediate where avg10 lags by seconds.
public struct PressureStat: Sendable, Equatable {
    public var someTotalUsec: UInt64

    public init(someTotalUsec: UInt64) {
        self.someTotalUsec = someTotalUsec
    }

    public static func parse(_ text: String) throws(CPUStat.ParseError) -> PressureStat {
        for line in text.split(separator: "\n") where line.hasPrefix("some ") {
            for field in line.split(separator: " ") where field.hasPrefix("total=") {
                guard let v = UInt64(field.dropFirst("total=".count)) else { throw .badLine(String(line)) }
                return PressureStat(someTotalUsec: v)
            }
            throw .badLine(String(line))
        }
        throw .missingField("some")
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
    /// fields are counted from the last ')'. Works on bytes: it runs for every process on
    /// every pass, and Character-level String work costs ten times as much here.
    public static func parseStat(_ text: String) -> Stat? {
        var text = text
        return text.withUTF8 { parseStat(bytes: $0) }
    }

    public static func parseStat(bytes b: UnsafeBufferPointer<UInt8>) -> Stat? {
        guard let open = b.firstIndex(of: UInt8(ascii: "(")), let close = b.lastIndex(of: UInt8(ascii: ")")), open < close else {
            return nil
        }
        let comm = String(decoding: UnsafeBufferPointer(rebasing: b[(open + 1)..<close]), as: UTF8.self)
        // Fields after ")": 3 state, 4 ppid, 9 flags, 22 starttime (1-based, as in proc(5)).
        var field = 2
        var i = close + 1
        var state: UInt8 = 0
        var ppid: UInt64?
        var flags: UInt64?
        var start: UInt64?
        while i < b.count {
            while i < b.count && b[i] == UInt8(ascii: " ") { i += 1 }
            guard i < b.count, b[i] != UInt8(ascii: "\n") else { break }
            field += 1
            let tokenStart = i
            while i < b.count && b[i] != UInt8(ascii: " ") && b[i] != UInt8(ascii: "\n") { i += 1 }
            switch field {
            case 3: state = b[tokenStart]
            case 4: ppid = number(b, tokenStart, i)
            case 9: flags = number(b, tokenStart, i)
            case 22: start = number(b, tokenStart, i)
            default: break
            }
            if field == 22 { break }
        }
        guard state != 0, let ppid, ppid <= UInt64(Int32.max), let flags, flags <= UInt64(UInt32.max), let start else { return nil }
        return Stat(comm: comm, state: Character(Unicode.Scalar(state)), parentPID: Int32(ppid), flags: UInt32(flags), startTime: start)
    }

    /// A decimal number in b[from..<to], or nil for anything else (including overflow).
    static func number(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> UInt64? {
        guard from < to else { return nil }
        var n: UInt64 = 0
        for i in from..<to {
            let d = b[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            n = a
        }
        return n
    }

    /// Real uid and gid: the first number on the "Uid:" and "Gid:" lines of /proc/PID/status.
    public static func parseStatusIDs(_ text: String) -> (uid: UInt32, gid: UInt32)? {
        var text = text
        return text.withUTF8 { b -> (uid: UInt32, gid: UInt32)? in
            var uid: UInt64?
            var gid: UInt64?
            var lineStart = 0
            while lineStart < b.count && (uid == nil || gid == nil) {
                var lineEnd = lineStart
                while lineEnd < b.count && b[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                if lineEnd - lineStart > 4 && b[lineStart + 1] == UInt8(ascii: "i") && b[lineStart + 2] == UInt8(ascii: "d")
                    && b[lineStart + 3] == UInt8(ascii: ":")
                {
                    var i = lineStart + 4
                    while i < lineEnd && (b[i] == UInt8(ascii: "\t") || b[i] == UInt8(ascii: " ")) { i += 1 }
                    var j = i
                    while j < lineEnd && b[j] != UInt8(ascii: "\t") && b[j] != UInt8(ascii: " ") { j += 1 }
                    if b[lineStart] == UInt8(ascii: "U") { uid = number(b, i, j) }
                    if b[lineStart] == UInt8(ascii: "G") { gid = number(b, i, j) }
                }
                lineStart = lineEnd + 1
            }
            guard let uid, let gid, uid <= UInt64(UInt32.max), gid <= UInt64(UInt32.max) else { return nil }
            return (UInt32(uid), UInt32(gid))
        }
    }

    /// The unified hierarchy's path: the "0::" line of /proc/PID/cgroup. On a v1 or hybrid host
    /// the other lines are v1 hierarchies and are skipped.
    public static func parseCgroupV2Path(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            var path = String(line.dropFirst(3))
            // A process whose cgroup was removed reads "/path (deleted)".
            if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
            // A path outside the reader's cgroup namespace ("/../..") names no cgroup it can
            // reach: as unparsable as a missing line.
            return CgroupPath(path) != nil ? path : nil
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
