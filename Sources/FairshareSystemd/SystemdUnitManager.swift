import CSystemd
import FairshareCore
import FairshareEdge
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Units through systemd's D-Bus API, with libsystemd's sd-bus. Only the non-variadic calls are
/// used (Swift can not call C variadic functions): messages are built with append_basic and
/// open/close_container, replies read with enter_container/read_basic/skip.
///
/// One connection, opened on first use: as root systemd's private socket (what systemctl uses as
/// root; it needs no dbus-daemon), else the system bus. A call that finds the connection broken
/// (systemd re-executed: EPIPE, ECONNRESET, Error.Disconnected) reconnects and is tried once more.
public final class SystemdUnitManager: UnitManager {
    public static let destination = "org.freedesktop.systemd1"
    public static let managerPath = "/org/freedesktop/systemd1"
    public static let managerInterface = "org.freedesktop.systemd1.Manager"
    public static let unitPathPrefix = "/org/freedesktop/systemd1/unit"
    public static let privateSocket = "unix:path=/run/systemd/private"
    /// Active states whose units have a cgroup (ListUnitsByPatterns filters by these).
    public static let runningStates = ["active", "activating", "deactivating", "reloading", "refreshing"]

    struct Connection {
        var bus: OpaquePointer?
        /// "systemd's private socket" or "the system bus", for messages.
        var via = ""
        /// ControlGroup by unit name, for the units of the last listing (a running unit's cgroup
        /// does not move; a unit that stops is dropped and read again when it runs again).
        var cgroups: [String: String] = [:]
    }

    private let connection = Mutex(Connection())
    private let timeoutUsec: UInt64

    /// - Parameter timeout: per call; the agent's pass waits at most this long for systemd.
    public init(timeout: Duration = .seconds(5)) {
        timeoutUsec = UInt64(timeout.components.seconds) * 1_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000_000)
    }

    deinit {
        connection.withLock { c in Self.close(&c) }
    }

    /// How the connection was made ("" before the first call).
    public var connectedVia: String { connection.withLock { $0.via } }

    // MARK: UnitManager

    public func units(matching patterns: [String]) throws(UnitError) -> [UnitInfo] {
        try connection.withLock { (c) throws(UnitError) -> [UnitInfo] in
            let listed = try Self.call(
                &c, timeoutUsec: timeoutUsec, method: "ListUnitsByPatterns", unit: nil, path: Self.managerPath, interface: Self.managerInterface, member: "ListUnitsByPatterns",
                append: { m in
                    let r = Self.appendStrings(m, Self.runningStates)
                    return r < 0 ? r : Self.appendStrings(m, patterns)
                },
                read: Self.readUnitList)
            var out: [UnitInfo] = []
            var cgroups: [String: String] = [:]
            for (name, objectPath) in listed {
                var cgroup = c.cgroups[name]
                if cgroup == nil {
                    do throws(UnitError) {
                        cgroup = try Self.call(
                            &c, timeoutUsec: timeoutUsec, method: "Get ControlGroup", unit: name, path: objectPath, interface: "org.freedesktop.DBus.Properties", member: "Get",
                            append: { m in Self.appendStrings(m, [Self.typeInterface(of: name), "ControlGroup"], array: false) },
                            read: { r in Self.readVariant(r, "s", as: String.self) })
                    } catch where error.kind == .gone {
                        continue  // it went away since the listing
                    }
                }
                guard let cgroup, !cgroup.isEmpty else { continue }  // not realized yet: next pass
                cgroups[name] = cgroup
                out.append(UnitInfo(name: name, controlGroup: cgroup))
            }
            c.cgroups = cgroups
            return out
        }
    }

    public func weights(of unit: String) throws(UnitError) -> UnitWeights {
        try connection.withLock { (c) throws(UnitError) -> UnitWeights in
            let path = try Self.objectPath(of: unit)
            func get(_ property: String) throws(UnitError) -> Int? {
                let raw = try Self.call(
                    &c, timeoutUsec: timeoutUsec, method: "Get \(property)", unit: unit, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
                    append: { m in Self.appendStrings(m, [Self.typeInterface(of: unit), property], array: false) },
                    read: { r in Self.readVariant(r, "t", as: UInt64.self) })
                // "[not set]" is UINT64_MAX on the bus.
                return raw == UInt64.max ? nil : Int(clamping: raw)
            }
            return UnitWeights(cpu: try get("CPUWeight"), io: try get("IOWeight"))
        }
    }

    public func setWeights(_ weights: UnitWeights, of unit: String) throws(UnitError) {
        try connection.withLock { (c) throws(UnitError) in
            let values: [(String, UInt64)] = [
                ("CPUWeight", weights.cpu.map { UInt64(clamping: $0) } ?? .max),
                ("IOWeight", weights.io.map { UInt64(clamping: $0) } ?? .max),
            ]
            try Self.call(
                &c, timeoutUsec: timeoutUsec, method: "SetUnitProperties", unit: unit, path: Self.managerPath, interface: Self.managerInterface, member: "SetUnitProperties",
                append: { m in Self.appendSetUnitProperties(m, unit: unit, values) },
                read: { _ in () })
        }
    }

    // MARK: Connection

    static func connect(_ c: inout Connection) throws(UnitError) -> OpaquePointer {
        if let bus = c.bus {
            if sd_bus_is_open(bus) > 0 { return bus }
            close(&c)
        }
        var problems: [String] = []
        if geteuid() == 0 {
            var bus: OpaquePointer?
            var r = sd_bus_new(&bus)
            if r >= 0, let b = bus {
                r = sd_bus_set_address(b, privateSocket)
                if r >= 0 { r = sd_bus_start(b) }
                if r >= 0 {
                    c.bus = b
                    c.via = "systemd's private socket"
                    return b
                }
                sd_bus_flush_close_unref(b)
            }
            problems.append("private socket /run/systemd/private: \(String(cString: strerror(-r)))")
        }
        var bus: OpaquePointer?
        let r = sd_bus_open_system(&bus)
        if r >= 0, let b = bus {
            c.bus = b
            c.via = "the system bus"
            return b
        }
        problems.append("system bus: \(String(cString: strerror(-r)))")
        throw UnitError(method: "connect", unit: nil, message: "cannot reach systemd (" + problems.joined(separator: "; ") + ")", errno: -r)
    }

    static func close(_ c: inout Connection) {
        if let bus = c.bus { sd_bus_flush_close_unref(bus) }
        c.bus = nil
        c.cgroups = [:]
    }

    static let disconnected = "org.freedesktop.DBus.Error.Disconnected"

    static func isBrokenConnection(_ errno: Int32) -> Bool {
        [ECONNRESET, EPIPE, ENOTCONN, ESHUTDOWN].contains(errno)
    }

    /// One method call: builds the message, waits for the reply, reads it. On a broken
    /// connection it reconnects once and tries again.
    @discardableResult
    static func call<T>(
        _ c: inout Connection, timeoutUsec: UInt64, method: String, unit: String?, path: String, interface: String, member: String,
        append: (OpaquePointer) -> Int32, read: (OpaquePointer) -> T?
    ) throws(UnitError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            let bus = try connect(&c)
            var m: OpaquePointer?
            var r = sd_bus_message_new_method_call(bus, &m, destination, path, interface, member)
            guard r >= 0, let message = m else {
                throw UnitError(method: method, unit: unit, message: "building the call: \(String(cString: strerror(-r)))", errno: -r)
            }
            defer { sd_bus_message_unref(message) }
            r = append(message)
            guard r >= 0 else {
                throw UnitError(method: method, unit: unit, message: "building the call: \(String(cString: strerror(-r)))", errno: -r)
            }
            var error = sd_bus_error(name: nil, message: nil, _need_free: 0)
            defer { sd_bus_error_free(&error) }
            var reply: OpaquePointer?
            r = sd_bus_call(bus, message, timeoutUsec, &error, &reply)
            if r < 0 {
                let name = error.name.map { String(cString: $0) }
                // sd-bus reports a dropped connection as ECONNRESET with the error name
                // org.freedesktop.DBus.Error.Disconnected (seen after daemon-reexec).
                if isBrokenConnection(-r) || name == disconnected {
                    close(&c)
                    if attempt < 2 { continue }
                }
                let text = error.message.map { String(cString: $0) } ?? String(cString: strerror(-r))
                throw UnitError(method: method, unit: unit, name: name, message: text, errno: -r)
            }
            guard let answer = reply else { throw UnitError(method: method, unit: unit, message: "no reply") }
            defer { sd_bus_message_unref(answer) }
            guard let value = read(answer) else {
                throw UnitError(method: method, unit: unit, message: "unexpected reply (signature \(String(cString: sd_bus_message_get_signature(answer, 1))))")
            }
            return value
        }
    }

    // MARK: Messages

    static func type(_ c: Unicode.Scalar) -> CChar { CChar(truncatingIfNeeded: c.value) }

    /// `as` (or, with array: false, the strings one after another).
    static func appendStrings(_ m: OpaquePointer, _ strings: [String], array: Bool = true) -> Int32 {
        if array {
            let r = sd_bus_message_open_container(m, type("a"), "s")
            if r < 0 { return r }
        }
        for s in strings {
            let r = s.withCString { sd_bus_message_append_basic(m, type("s"), $0) }
            if r < 0 { return r }
        }
        return array ? sd_bus_message_close_container(m) : 0
    }

    /// SetUnitProperties(s name, b runtime = true, a(sv) [(property, t value)]).
    static func appendSetUnitProperties(_ m: OpaquePointer, unit: String, _ values: [(String, UInt64)]) -> Int32 {
        var r = appendStrings(m, [unit], array: false)
        if r < 0 { return r }
        var runtime: Int32 = 1
        r = sd_bus_message_append_basic(m, type("b"), &runtime)
        if r < 0 { return r }
        r = sd_bus_message_open_container(m, type("a"), "(sv)")
        if r < 0 { return r }
        for (property, value) in values {
            r = sd_bus_message_open_container(m, type("r"), "sv")
            if r < 0 { return r }
            r = appendStrings(m, [property], array: false)
            if r < 0 { return r }
            r = sd_bus_message_open_container(m, type("v"), "t")
            if r < 0 { return r }
            var v = value
            r = sd_bus_message_append_basic(m, type("t"), &v)
            if r < 0 { return r }
            r = sd_bus_message_close_container(m)
            if r < 0 { return r }
            r = sd_bus_message_close_container(m)
            if r < 0 { return r }
        }
        return sd_bus_message_close_container(m)
    }

    /// ListUnitsByPatterns' a(ssssssouso): name, description, load state, active state, sub state,
    /// following, object path, job id, job type, job path. Keeps name and object path.
    static func readUnitList(_ m: OpaquePointer) -> [(String, String)]? {
        guard sd_bus_message_enter_container(m, type("a"), "(ssssssouso)") > 0 else { return nil }
        var out: [(String, String)] = []
        while true {
            let r = sd_bus_message_enter_container(m, type("r"), "ssssssouso")
            if r == 0 { break }
            if r < 0 { return nil }
            var name: UnsafePointer<CChar>?
            var path: UnsafePointer<CChar>?
            guard sd_bus_message_read_basic(m, type("s"), &name) > 0,
                sd_bus_message_skip(m, "sssss") >= 0,
                sd_bus_message_read_basic(m, type("o"), &path) > 0,
                sd_bus_message_skip(m, "uso") >= 0,
                sd_bus_message_exit_container(m) >= 0,
                let name, let path
            else { return nil }
            out.append((String(cString: name), String(cString: path)))
        }
        guard sd_bus_message_exit_container(m) >= 0 else { return nil }
        return out
    }

    /// A Properties.Get reply: one variant holding `signature`.
    static func readVariant<T>(_ m: OpaquePointer, _ signature: String, as: T.Type) -> T? {
        guard sd_bus_message_enter_container(m, type("v"), signature) > 0 else { return nil }
        defer { sd_bus_message_exit_container(m) }
        switch signature {
        case "s":
            var p: UnsafePointer<CChar>?
            guard sd_bus_message_read_basic(m, type("s"), &p) > 0, let p else { return nil }
            return String(cString: p) as? T
        case "t":
            var v: UInt64 = 0
            guard sd_bus_message_read_basic(m, type("t"), &v) > 0 else { return nil }
            return v as? T
        default:
            return nil
        }
    }

    /// The unit's object path, as systemd builds it (bus path escaping of the name).
    static func objectPath(of unit: String) throws(UnitError) -> String {
        var out: UnsafeMutablePointer<CChar>?
        let r = sd_bus_path_encode(unitPathPrefix, unit, &out)
        guard r >= 0, let out else { throw UnitError(method: "path of", unit: unit, message: String(cString: strerror(-r)), errno: -r) }
        defer { free(out) }
        return String(cString: out)
    }

    /// The interface that carries a unit's cgroup properties (ControlGroup, CPUWeight,
    /// IOWeight): the one of its type, not org.freedesktop.systemd1.Unit.
    static func typeInterface(of unit: String) -> String {
        if unit.hasSuffix(".service") { return "org.freedesktop.systemd1.Service" }
        if unit.hasSuffix(".scope") { return "org.freedesktop.systemd1.Scope" }
        if unit.hasSuffix(".slice") { return "org.freedesktop.systemd1.Slice" }
        return "org.freedesktop.systemd1.Unit"
    }
}
