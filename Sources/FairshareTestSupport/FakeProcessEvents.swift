import FairshareCore
import FairshareEdge
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A process event source the test feeds by hand: `deliver` queues what the next `receive`
/// returns; `failOpen` makes subscribing fail with that reason.
public final class FakeProcessEvents: ProcessEventSource {
    private struct State {
        var pending: [ProcessEventDelivery] = []
        var closed = false
        var opened = 0
    }

    private let state = Mutex(State())
    private let failOpen: String?

    public init(failOpen: String? = nil) {
        self.failOpen = failOpen
    }

    public func open() throws(ProcessEventsUnavailable) {
        if let failOpen { throw ProcessEventsUnavailable(failOpen) }
        state.withLock { $0.opened += 1 }
    }

    public var opened: Int { state.withLock { $0.opened } }
    public var isClosed: Bool { state.withLock { $0.closed } }

    public func deliver(_ d: ProcessEventDelivery) {
        state.withLock { $0.pending.append(d) }
    }

    public func receive() -> ProcessEventDelivery {
        while true {
            let next: ProcessEventDelivery? = state.withLock { s in
                if s.closed { return .closed("closed") }
                return s.pending.isEmpty ? nil : s.pending.removeFirst()
            }
            if let next { return next }
            usleep(1000)
        }
    }

    public func close() {
        state.withLock { $0.closed = true }
    }
}
