import FairshareCore
import FairshareEdge
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the listener received and the agent has not taken yet. Bounded: past `capacity` events
/// it keeps none of the excess and counts an overflow, which the agent answers like the
/// kernel's own (a full rescan). So a fork storm costs the agent a fixed amount of memory.
final class ProcessEventQueue: Sendable {
    static let capacity = 16384

    struct Batch: Sendable {
        var events: [(event: ProcEvent, receivedAt: UInt64)] = []
        var malformed = 0
        var overflowed = false
        /// The source closed for good, and why.
        var closed: String?
    }

    private struct State {
        var pending = Batch()
        /// A wake-up is on its way to the agent: no second one until it drains.
        var wakePending = false
    }

    // A pthread mutex (NIOLockedValueBox), not Synchronization's Mutex: ThreadSanitizer does not
    // see the latter's futex on Linux and reports every access under it as a race.
    private let state = NIOLockedValueBox(State())

    /// Adds what one receive brought; true when the agent must be woken for it.
    func push(_ delivery: ProcessEventDelivery, at now: UInt64) -> Bool {
        state.withLockedValue { s in
            switch delivery {
            case .events(let events, let malformed):
                s.pending.malformed += malformed
                let room = Self.capacity - s.pending.events.count
                if events.count > room { s.pending.overflowed = true }
                for e in events.prefix(max(room, 0)) { s.pending.events.append((e, now)) }
            case .overflow:
                s.pending.overflowed = true
            case .closed(let why):
                s.pending.closed = why
            }
            if s.wakePending { return false }
            s.wakePending = true
            return true
        }
    }

    /// Everything pending, leaving the queue empty.
    func drain() -> Batch {
        state.withLockedValue { s in
            s.wakePending = false
            defer { s.pending = Batch() }
            return s.pending
        }
    }
}

/// A thread that blocks in the event source's `receive` and queues what arrives, waking the
/// agent at most once per batch. Its own thread: a blocking receive must not hold one of the
/// concurrency pool's few threads.
enum ProcessEventPump {
    private final class Context {
        let source: any ProcessEventSource
        let queue: ProcessEventQueue
        let clock: any AgentClock
        let wake: @Sendable () -> Void

        init(source: any ProcessEventSource, queue: ProcessEventQueue, clock: any AgentClock, wake: @escaping @Sendable () -> Void) {
            self.source = source
            self.queue = queue
            self.clock = clock
            self.wake = wake
        }

        func run() {
            while true {
                let delivery = source.receive()
                if queue.push(delivery, at: clock.monotonicNanoseconds()) { wake() }
                if case .closed = delivery { return }
            }
        }
    }

    /// Starts the thread; it ends when the source closes (`source.close()`).
    static func start(source: any ProcessEventSource, queue: ProcessEventQueue, clock: any AgentClock,
                      wake: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Context(source: source, queue: queue, clock: clock, wake: wake))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
            context.run()
            return nil
        }, context.toOpaque())
        guard rc == 0 else {
            context.release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
