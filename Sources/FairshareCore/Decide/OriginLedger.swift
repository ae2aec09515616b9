/// The record of where things came from, kept outside the agent's memory so a restarted agent
/// (after a crash or `kill -9`) gives them back to the right place instead of guessing:
///   - per moved process, "PID START_TIME REASON GROUP ORIGIN" (tab-separated, the origin last
///     since a cgroup path may contain spaces);
///   - per unit whose weights the agent changed, "unit NAME CPU IO": the unit's own weights
///     from before the agent's first write ("-" for not set), which it gets back at the end.
/// A version line comes first.
public enum OriginLedger {
    public static let header = "fairshare-origins 1"

    public struct Contents: Sendable, Equatable {
        public var members: [ProcessIdentity: Enforcer.Membership]
        public var unitOriginals: [String: UnitWeights]

        public init(members: [ProcessIdentity: Enforcer.Membership] = [:], unitOriginals: [String: UnitWeights] = [:]) {
            self.members = members
            self.unitOriginals = unitOriginals
        }
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String

        public var description: String { "line \(line): \(message)" }
    }

    public static func encode(_ contents: Contents) -> String {
        var text = header + "\n"
        for (id, m) in contents.members.sorted(by: { $0.key.pid < $1.key.pid }) {
            text += "\(id.pid)\t\(id.startTime)\t\(m.reason.rawValue)\t\(m.group.rawValue)\t\(m.origin)\n"
        }
        for (unit, w) in contents.unitOriginals.sorted(by: { $0.key < $1.key }) {
            text += "unit\t\(unit)\t\(w.cpu.map(String.init) ?? "-")\t\(w.io.map(String.init) ?? "-")\n"
        }
        return text
    }

    /// Every entry; a malformed line is an error (the caller then ignores the whole file: a
    /// guessed origin is better than a wrong one).
    public static func decode(_ text: String) throws(ParseError) -> Contents {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)[...]
        guard let first = lines.popFirst(), first == header else {
            throw ParseError(line: 1, message: "expected '\(header)'")
        }
        var contents = Contents()
        for (i, line) in lines.enumerated() {
            let fields = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
            if fields.first == "unit" {
                guard fields.count == 4, let name = UnitPattern(String(fields[1])), !name.isGlob,
                      let cpu = weight(fields[2]), let io = weight(fields[3])
                else { throw ParseError(line: i + 2, message: "malformed unit entry '\(line)'") }
                contents.unitOriginals[String(fields[1])] = UnitWeights(cpu: cpu.value, io: io.value)
                continue
            }
            guard fields.count == 5,
                  let pid = Int32(fields[0]), pid > 0,
                  let start = UInt64(fields[1]),
                  let reason = Enforcer.Reason(rawValue: String(fields[2])),
                  let group = GroupName(path: String(fields[3])),
                  fields[4].hasPrefix("/")
            else { throw ParseError(line: i + 2, message: "malformed entry '\(line)'") }
            contents.members[ProcessIdentity(pid: pid, startTime: start)] =
                Enforcer.Membership(group: group, origin: String(fields[4]), reason: reason)
        }
        return contents
    }

    /// "-" (not set) or 1...10000; nil when neither.
    private static func weight(_ field: Substring) -> (value: Int?, Void)? {
        if field == "-" { return (nil, ()) }
        guard let w = Int(field), (1...10000).contains(w) else { return nil }
        return (w, ())
    }
}
