import CSystemd

/// The service manager's side channel (READY=1, RELOADING=1, STOPPING=1, STATUS=...).
public protocol ServiceNotifier: Sendable {
    func notify(_ state: String)
}

/// `sd_notify(3)`; a no-op when NOTIFY_SOCKET is unset (not started by systemd).
public struct SystemdNotifier: ServiceNotifier {
    public init() {}

    public func notify(_ state: String) {
        _ = sd_notify(0, state)
    }
}
