/// The record of where each process in a group came from, kept outside the agent's memory so a
/// restarted agent (after a crash or `kill -9`) gives processes back to the right place instead
/// of guessing. One line per process: "PID START_TIME REASON GROUP ORIGIN" (tab-separated, the
/// origin last since a cgroup path may contain spaces), after a version line.
public enum OriginLedger {
    public static let header = "fairshare-origins 1"

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String

        public var description: String { "line \(line): \(message)" }
    }

    public static func encode(_ members: [ProcessIdentity: Enforcer.Membership]) -> String {
        var text = header + "\n"
        for (id, m) in members.sorted(by: { $0.key.pid < $1.key.pid }) {
            text += "\(id.pid)\t\(id.startTime)\t\(m.reason.rawValue)\t\(m.group.rawValue)\t\(m.origin)\n"
        }
        return text
    }

    /// Every well-formed entry; a malformed line is an error (the caller decides to ignore the
    /// file: a guessed origin is better than a wrong one).
    public static func decode(_ text: String) throws(ParseError) -> [ProcessIdentity: Enforcer.Membership] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)[...]
        guard let first = lines.popFirst(), first == header else {
            throw ParseError(line: 1, message: "expected '\(header)'")
        }
        var members: [ProcessIdentity: Enforcer.Membership] = [:]
        for (i, line) in lines.enumerated() {
            let fields = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.count == 5,
                  let pid = Int32(fields[0]), pid > 0,
                  let start = UInt64(fields[1]),
                  let reason = Enforcer.Reason(rawValue: String(fields[2])),
                  let group = GroupName(String(fields[3])),
                  fields[4].hasPrefix("/")
            else { throw ParseError(line: i + 2, message: "malformed entry '\(line)'") }
            members[ProcessIdentity(pid: pid, startTime: start)] =
                Enforcer.Membership(group: group, origin: String(fields[4]), reason: reason)
        }
        return members
    }
}
