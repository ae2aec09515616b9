import FairshareCore

/// Where the agent hears of processes as they start and change: the kernel's process connector
/// (FairshareLinux's `NetlinkProcessEvents`), or a fake in tests. The /proc scan stays the
/// safety net: after an overflow, a reload and every rescan interval.
public protocol ProcessEventSource: Sendable {
    /// Subscribes. Call before the first scan, so nothing that starts in between is lost.
    /// Throws, with the reason, where events can not be had (not the initial PID or user
    /// namespace, no CAP_NET_ADMIN, no connector in the kernel): the agent then scans every pass.
    func open() throws(ProcessEventsUnavailable)
    /// Blocks until the kernel delivers something, then returns all that is waiting (at most
    /// what one receive buffer holds: bounded by the source, not by the sender).
    func receive() -> ProcessEventDelivery
    /// Unsubscribes; a `receive` blocked in another thread returns `.closed`.
    func close()
}

/// What one `receive` brought.
public enum ProcessEventDelivery: Sendable, Equatable {
    /// Decoded events, in the kernel's order; `malformed` counts messages that could not be
    /// decoded (truncated or of another family), which are skipped.
    case events([ProcEvent], malformed: Int)
    /// The receive buffer overflowed (ENOBUFS): events were lost. The only safe answer is a full
    /// rescan.
    case overflow
    /// The source is closed or failed for good (the reason); the agent falls back to scanning.
    case closed(String)
}

/// Why events are not available here, in words for the journal and status.
public struct ProcessEventsUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
