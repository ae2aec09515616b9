#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A systemd unit name or an fnmatch(3) glob over unit names (`docker-*.scope`), matched the way
/// systemd's ListUnitsByPatterns matches it (FNM_NOESCAPE: `\` is an ordinary character of unit
/// names, as in `systemd-fsck@dev-disk-by\x2duuid.service`).
public struct UnitPattern: Sendable, Hashable, CustomStringConvertible {
    /// The unit types a unit-backed group may name: the ones that hold processes in a cgroup of
    /// their own and whose CPUWeight/IOWeight systemd sets on it.
    public static let suffixes = [".service", ".scope", ".slice"]
    /// systemd's UNIT_NAME_MAX - 1.
    public static let maxBytes = 255

    public let pattern: String

    /// Nil for anything `problem(_:)` objects to.
    public init?(_ pattern: String) {
        guard UnitPattern.problem(pattern) == nil else { return nil }
        self.pattern = pattern
    }

    /// True for a glob, false for a literal unit name.
    public var isGlob: Bool { pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

    public func matches(_ unit: String) -> Bool {
        isGlob ? fnmatch(pattern, unit, FNM_NOESCAPE) == 0 : pattern == unit
    }

    public var description: String { pattern }

    /// Why `text` is not a usable unit name or glob, as the end of a sentence that starts with
    /// the entry's location; nil when it is fine.
    public static func problem(_ text: String) -> String? {
        guard text.utf8.count <= maxBytes else {
            return "unit '\(text.prefix(40))...' is \(text.utf8.count) bytes long; systemd allows at most \(maxBytes)"
        }
        let expected = "expected a full unit name ending in .service, .scope or .slice"
        guard let dot = text.lastIndex(of: ".") else {
            return "unit '\(text)' has no type suffix; \(expected), e.g. '\(text).service'"
        }
        let prefix = text[..<dot]
        let suffix = String(text[dot...])
        if suffix.contains(where: { "*?[]".contains($0) }) {
            return "the type suffix of unit '\(text)' must be written out; \(expected) (a glob may stand only before it, e.g. 'docker-*.scope')"
        }
        if !suffixes.contains(suffix) {
            let type = String(suffix.dropFirst())
            let otherTypes = ["socket", "target", "mount", "automount", "swap", "timer", "path", "device"]
            if otherTypes.contains(type) {
                return "unit '\(text)' is a \(type) unit; only .service, .scope and .slice units can back a group (they hold the processes whose CPU is shared)"
            }
            var message = "unit '\(text)' has the unknown type '\(suffix)'; \(expected)"
            if let near = KeySuggestion.closest(to: type, in: suffixes.map { String($0.dropFirst()) }) {
                message += "; did you mean '\(prefix).\(near)'?"
            }
            return message
        }
        guard !prefix.isEmpty else { return "unit '\(text)' has no name before its type suffix; \(expected)" }
        if text == "-.slice" {
            return "the root slice -.slice is the whole machine: it has no siblings, so a weight on it means nothing; name the slices below it, e.g. 'system.slice'"
        }
        var inClass = false
        for c in prefix {
            if inClass {
                if c == "]" { inClass = false; continue }
                if c == "!" || c == "^" { continue }
            } else if c == "[" {
                inClass = true
                continue
            } else if c == "*" || c == "?" {
                continue
            }
            guard isUnitNameCharacter(c) else {
                let shown = c.unicodeScalars.first.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? $0.codePoint : "'\(c)'" } ?? "'\(c)'"
                return "unit '\(text)' contains \(shown), which systemd does not allow in unit names; expected letters, digits and : - _ . \\ @ (and * ? [...] in a glob)"
            }
        }
        if inClass { return "invalid glob '\(text)' in units: an unterminated '[' class; expected a shell glob, e.g. 'docker-*.scope'" }
        let ats = prefix.filter { $0 == "@" }.count
        if ats > 1 { return "unit '\(text)' has more than one '@'; expected NAME@INSTANCE\(suffix) at most" }
        if prefix.hasSuffix("@") {
            return "unit '\(text)' is a template: it never runs itself and has no cgroup; name an instance such as '\(prefix)1\(suffix)' or a glob '\(prefix)*\(suffix)'"
        }
        return nil
    }

    /// systemd's VALID_CHARS plus '@' (unit-name.h).
    static func isUnitNameCharacter(_ c: Character) -> Bool {
        guard c.isASCII, let a = c.asciiValue else { return false }
        switch a {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return ":-_.\\@".utf8.contains(a)
        }
    }
}

extension GroupPolicy {
    /// A group with `units` in its match table: its processes stay in their systemd units and the
    /// agent sets the units' CPUWeight/IOWeight through systemd instead of moving anything.
    public var isUnitBacked: Bool { !match.units.isEmpty }
}

extension Policy {
    /// Without unit-backed groups, `groups` itself: read several times in every pass, with a
    /// group per user, so it copies no group when nothing is to be left out.
    public var agentGroups: [GroupPolicy] { groups.contains(where: \.isUnitBacked) ? groups.filter { !$0.isUnitBacked } : groups }
    public var unitGroups: [GroupPolicy] { groups.filter(\.isUnitBacked) }
    /// The unit names (or globs) systemd is asked about, each once, sorted.
    public var unitPatterns: [String] { Set(unitGroups.flatMap { $0.match.units.map(\.pattern) }).sorted() }
}
