import FairshareCore
import FairshareEdge
import CSystemd

/// `sd_notify(3)`; a no-op when NOTIFY_SOCKET is unset (not started by systemd).
public struct SystemdNotifier: ServiceNotifier {
    public init() {}

    public func notify(_ state: String) {
        _ = sd_notify(0, state)
    }
}

extension SystemdNotifier {
    /// How often systemd wants WATCHDOG=1 (WatchdogSec=), or nil when no watchdog is set for
    /// this process (`sd_watchdog_enabled(3)`: it also checks WATCHDOG_PID).
    public static func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }
}
