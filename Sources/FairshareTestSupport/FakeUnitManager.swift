import FairshareCore
import FairshareEdge
import Synchronization

/// An in-memory systemd for unit-backed groups: units with a cgroup and CPUWeight/IOWeight,
/// every call recorded, and D-Bus errors injected per method and unit. Given a FakeKernel, it
/// writes a unit's cpu.weight and io.weight as systemd would (outside the agent's `writes`).
public final class FakeUnitManager: UnitManager {
    public struct Unit: Sendable, Equatable {
        public var name: String
        public var cgroup: String
        public var weights: UnitWeights
        /// Loaded but stopped: not listed, but its properties can still be set (as in systemd).
        public var running: Bool
    }

    public enum Call: Sendable, Equatable {
        case list([String])
        case get(String)
        case set(String, UnitWeights)
    }

    struct Injected {
        var method: String
        var unit: String?
        var error: UnitError
        var times: Int?
    }

    struct State {
        var units: [String: Unit] = [:]
        var calls: [Call] = []
        var injected: [Injected] = []
    }

    private let state = Mutex(State())
    let kernel: FakeKernel?

    public init(kernel: FakeKernel? = nil) {
        self.kernel = kernel
    }

    // MARK: Test controls

    /// A running unit; its cgroup is created in the kernel (as systemd would) if there is one.
    public func addUnit(_ name: String, cgroup: String, weights: UnitWeights = UnitWeights(cpu: nil, io: nil)) {
        kernel?.makeCgroup(cgroup)
        state.withLock { $0.units[name] = Unit(name: name, cgroup: cgroup, weights: weights, running: true) }
    }

    /// The unit stops but stays loaded.
    public func stopUnit(_ name: String) {
        state.withLock { $0.units[name]?.running = false }
    }

    /// The unit is gone altogether (a transient scope or slice that ended).
    public func removeUnit(_ name: String) {
        _ = state.withLock { $0.units.removeValue(forKey: name) }
    }

    /// Calls of `method` ("ListUnitsByPatterns", "Get", "SetUnitProperties"), for `unit` if given,
    /// fail with a D-Bus error, `times` times (nil: always).
    public func inject(method: String, unit: String? = nil, name: String = "org.freedesktop.DBus.Error.AccessDenied",
                       message: String = "Access denied", times: Int? = nil) {
        let error = UnitError(method: method, unit: unit, name: name, message: message)
        state.withLock { $0.injected.append(Injected(method: method, unit: unit, error: error, times: times)) }
    }

    public func clearInjections() {
        state.withLock { $0.injected.removeAll() }
    }

    public var calls: [Call] { state.withLock { $0.calls } }

    public func clearCalls() {
        state.withLock { $0.calls.removeAll() }
    }

    /// The SetUnitProperties calls for one unit, in order.
    public func sets(of unit: String) -> [UnitWeights] {
        calls.compactMap { if case .set(unit, let w) = $0 { w } else { nil } }
    }

    public func unit(_ name: String) -> Unit? {
        state.withLock { $0.units[name] }
    }

    // MARK: UnitManager

    public func units(matching patterns: [String]) throws(UnitError) -> [UnitInfo] {
        let result: Result<[UnitInfo], UnitError> = state.withLock { s in
            s.calls.append(.list(patterns))
            if let e = Self.injected(&s, "ListUnitsByPatterns", nil) { return .failure(e) }
            let matchers = patterns.compactMap(UnitPattern.init)
            return .success(s.units.values.filter { u in u.running && matchers.contains { $0.matches(u.name) } }
                .sorted { $0.name < $1.name }.map { UnitInfo(name: $0.name, controlGroup: $0.cgroup) })
        }
        return try result.get()
    }

    public func weights(of unit: String) throws(UnitError) -> UnitWeights {
        let result: Result<UnitWeights, UnitError> = state.withLock { s in
            s.calls.append(.get(unit))
            if let e = Self.injected(&s, "Get", unit) { return .failure(e) }
            guard let u = s.units[unit] else { return .failure(Self.noSuchUnit("Get CPUWeight", unit)) }
            return .success(u.weights)
        }
        return try result.get()
    }

    public func setWeights(_ weights: UnitWeights, of unit: String) throws(UnitError) {
        let result: Result<String, UnitError> = state.withLock { s in
            s.calls.append(.set(unit, weights))
            if let e = Self.injected(&s, "SetUnitProperties", unit) { return .failure(e) }
            guard s.units[unit] != nil else { return .failure(Self.noSuchUnit("SetUnitProperties", unit)) }
            s.units[unit]!.weights = weights
            return .success(s.units[unit]!.cgroup)
        }
        let cgroup = try result.get()
        // systemd realizes the new values in the unit's cgroup (the default where not set).
        if let kernel, kernel.exists(cgroup) {
            kernel.setFile(.cpuWeight, of: cgroup, to: String(weights.cpu ?? 100))
            kernel.setFile(.ioWeight, of: cgroup, to: "default \(weights.io ?? 100)")
        }
    }

    static func injected(_ s: inout State, _ method: String, _ unit: String?) -> UnitError? {
        for i in s.injected.indices {
            let inj = s.injected[i]
            guard inj.method == method, inj.unit == nil || inj.unit == unit else { continue }
            if let t = inj.times {
                if t <= 0 { continue }
                s.injected[i].times = t - 1
            }
            var e = inj.error
            e.unit = unit
            return e
        }
        return nil
    }

    static func noSuchUnit(_ method: String, _ unit: String) -> UnitError {
        UnitError(method: method, unit: unit, name: "org.freedesktop.systemd1.NoSuchUnit", message: "Unit \(unit) not found.")
    }
}
