import FairshareCore

#if canImport(Glibc)
import Glibc
#endif

/// The service manager's side of unit-backed groups: which units there are, and their
/// CPUWeight=/IOWeight=. The agent never writes a unit's cgroup itself (systemd is its single
/// writer); it asks systemd to.
public protocol UnitManager: Sendable {
    /// Units that match any of the patterns (names or fnmatch globs) and are running (active,
    /// activating, reloading or deactivating), each with its cgroup. Units without one are left out.
    func units(matching patterns: [String]) throws(UnitError) -> [UnitInfo]
    /// The unit's CPUWeight= and IOWeight= (nil: not set).
    func weights(of unit: String) throws(UnitError) -> UnitWeights
    /// Sets both at runtime only (lost at reboot, never written to the unit's files); nil resets
    /// a weight to "not set".
    func setWeights(_ weights: UnitWeights, of unit: String) throws(UnitError)
}

/// A failed exchange with the service manager: which method, for which unit, and the D-Bus error
/// (name and message) or the errno.
public struct UnitError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The unit does not exist (any more): nothing to do.
        case gone
        /// The connection broke (systemd re-executed, or is not there).
        case disconnected
        /// systemd did not answer in time (busy, re-executing, or hung).
        case timeout
        /// Permission: the agent is not root, or a policy denies it.
        case denied
        case other
    }

    /// "ListUnitsByPatterns", "SetUnitProperties", "Get CPUWeight", "connect".
    public var method: String
    public var unit: String?
    /// The D-Bus error name, e.g. "org.freedesktop.systemd1.NoSuchUnit".
    public var name: String?
    public var message: String
    public var errno: Int32?

    public init(method: String, unit: String?, name: String? = nil, message: String, errno: Int32? = nil) {
        self.method = method
        self.unit = unit
        self.name = name
        self.message = message
        self.errno = errno
    }

    public var kind: Kind {
        switch name {
        case "org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.DBus.Error.UnknownObject": return .gone
        case "org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired": return .denied
        case "org.freedesktop.DBus.Error.Disconnected": return .disconnected
        case "org.freedesktop.DBus.Error.Timeout", "org.freedesktop.DBus.Error.NoReply": return .timeout
        case nil:
            switch errno {
            case ECONNRESET, EPIPE, ENOTCONN, ESHUTDOWN, ECONNREFUSED, ENOENT: return .disconnected
            case ETIMEDOUT: return .timeout
            case EACCES, EPERM: return .denied
            default: return .other
            }
        default: return .other
        }
    }

    /// systemd can not be reached now: further calls would wait (or fail) the same way.
    public var isUnreachable: Bool { kind == .disconnected || kind == .timeout }

    public var description: String {
        let what = unit.map { "\(method) for \($0)" } ?? method
        if let name { return "\(what): \(name): \(message)" }  // the errno adds nothing to a D-Bus error
        return "\(what): \(message)" + (errno.map { " (errno \($0))" } ?? "")
    }
}

/// For an agent that has no service manager to talk to (tests, or a policy without unit groups):
/// every call fails, saying so.
public struct UnavailableUnitManager: UnitManager {
    public init() {}

    public func units(matching patterns: [String]) throws(UnitError) -> [UnitInfo] {
        throw UnitError(method: "ListUnitsByPatterns", unit: nil, message: "no connection to systemd is configured")
    }

    public func weights(of unit: String) throws(UnitError) -> UnitWeights {
        throw UnitError(method: "Get CPUWeight", unit: unit, message: "no connection to systemd is configured")
    }

    public func setWeights(_ weights: UnitWeights, of unit: String) throws(UnitError) {
        throw UnitError(method: "SetUnitProperties", unit: unit, message: "no connection to systemd is configured")
    }
}
