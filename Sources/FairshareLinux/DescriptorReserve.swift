import FairshareCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Descriptors the agent holds against a full descriptor table: its own RLIMIT_NOFILE (EMFILE)
/// or the system's file table (ENFILE). When an open fails with either, they are closed at once,
/// so the agent and the runtime under it have a few to work with until the table has room again:
///
/// - libdispatch's worker monitor (the Swift runtime's thread pool on Linux) opens
///   /proc/TID/stat every second while work is queued and aborts the process when it can not
///   (`DISPATCH_CLIENT_CRASH "workq: registered worker exited prematurely"`, SIGILL): measured
///   under `prlimit --nofile`, the agent died in about half of the runs;
/// - NIO's accept loop spins a core on EMFILE, and no status request is answered.
///
/// Taken back only when `size + margin` descriptors can be opened at once, so re-arming never
/// fills the table again by itself. Process-wide, as descriptors are: one `shared` reserve,
/// armed by `fairshare run`; unarmed (tests, the CLI) it does nothing.
public final class DescriptorReserve: Sendable {
    public static let shared = DescriptorReserve()
    /// Descriptors held (each an open /dev/null).
    public static let size = 16
    /// Free room required beyond them before they are taken back.
    public static let margin = 16

    private struct State {
        var held: [Int32] = []
        var armed = false
        /// Why the reserve was given up, while it is.
        var released: String?
    }

    private let state = Mutex(State())
    private let openOne: @Sendable () -> Int32
    private let closeOne: @Sendable (Int32) -> Void

    /// `open`/`close` are injected for tests; the agent's are open(2) of /dev/null and close(2).
    public init(open: @escaping @Sendable () -> Int32 = { Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC) },
                close: @escaping @Sendable (Int32) -> Void = { _ = Glibc.close($0) }) {
        self.openOne = open
        self.closeOne = close
    }

    /// Takes the reserve (at start); false when the descriptors could not all be opened.
    @discardableResult
    public func arm() -> Bool {
        state.withLock { s in
            s.armed = true
            return !s.held.isEmpty || take(&s, keeping: Self.size, probing: Self.size)
        }
    }

    /// An open failed with `errnoValue` (on `path`): on EMFILE or ENFILE the reserve is given up.
    public func note(openFailure errnoValue: Int32, path: String) {
        guard errnoValue == EMFILE || errnoValue == ENFILE else { return }
        // The caller reads errno after this: close(2) must not change it.
        let saved = errno
        defer { errno = saved }
        state.withLock { s in
            guard s.armed, s.released == nil else { return }
            for fd in s.held { closeOne(fd) }
            s.held = []
            s.released = "the descriptor table is full (\(ErrnoText.describe(errnoValue)) opening \(path))"
        }
    }

    /// Takes the reserve back if `size + margin` descriptors can be opened now (each pass asks).
    public func rearmIfRoom() {
        state.withLock { s in
            guard s.armed, s.released != nil else { return }
            if take(&s, keeping: Self.size, probing: Self.size + Self.margin) { s.released = nil }
        }
    }

    /// nil while the reserve is held (or was never armed); else why it was given up.
    public var released: String? { state.withLock { $0.released } }
    public var isArmed: Bool { state.withLock { $0.armed } }
    /// Descriptors held now.
    public var held: Int { state.withLock { $0.held.count } }

    /// Opens `probing` descriptors, keeps `keeping`, closes the rest; all or nothing.
    private func take(_ s: inout State, keeping: Int, probing: Int) -> Bool {
        var opened: [Int32] = []
        for _ in 0..<probing {
            let fd = openOne()
            guard fd >= 0 else {
                for f in opened { closeOne(f) }
                return false
            }
            opened.append(fd)
        }
        for f in opened.dropFirst(keeping) { closeOne(f) }
        s.held += opened.prefix(keeping)
        return true
    }
}
