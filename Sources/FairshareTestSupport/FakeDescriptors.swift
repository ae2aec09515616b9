import FairshareLinux
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A descriptor table the test controls: `free` slots, descriptors numbered from 100.
public final class FakeDescriptors: Sendable {
    private let state = Mutex((free: 100, next: Int32(100), open: Set<Int32>(), closes: 0))
    public init(free: Int = 100) { state.withLock { $0.free = free } }
    public func open() -> Int32 {
        state.withLock { s in
            guard s.free > 0 else { errno = EMFILE; return -1 }
            s.free -= 1
            s.next += 1
            s.open.insert(s.next)
            return s.next
        }
    }
    public func close(_ fd: Int32) {
        state.withLock { s in
            if s.open.remove(fd) != nil { s.free += 1; s.closes += 1 }
        }
    }
    public var free: Int {
        get { state.withLock { $0.free } }
        set { state.withLock { $0.free = newValue } }
    }
    public var openCount: Int { state.withLock { $0.open.count } }
    /// A reserve that takes its descriptors from this table.
    public func reserve() -> DescriptorReserve { DescriptorReserve(open: { self.open() }, close: { self.close($0) }) }
}
