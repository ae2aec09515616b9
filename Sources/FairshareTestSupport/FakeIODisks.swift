import FairshareCore
import FairshareEdge
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Disks a test sets and changes (a scheduler switched, io.cost enabled) while the agent runs,
/// and makes unreadable (an errno on a path) until it sets them again.
public final class FakeIODisks: IODiskSource {
    private let state: Mutex<Reading<IODisks>>

    public init(_ disks: IODisks = IODisks(devices: [], costQoS: "", costModel: "")) {
        state = Mutex(.value(disks))
    }

    public func read() -> Reading<IODisks> { state.withLock { $0 } }

    public func set(_ disks: IODisks) { state.withLock { $0 = .value(disks) } }

    /// Every read fails as the real source says it, e.g. "cannot list /sys/block: EACCES (...)".
    public func fail(_ operation: SystemFileError.Operation = .list, path: String = "/sys/block", errno: Int32 = EACCES) {
        state.withLock { $0 = .unavailable(SystemFileError(operation, path: path, errno: errno).description) }
    }

    /// One virtio disk "vda" (254:0) with `scheduler` active, as a 6.1 kernel shows it.
    /// - Parameters:
    ///   - ioCost: its io.cost.qos line says enable=1 (true) or enable=0 (false); nil: no line.
    ///   - ctrl: io.cost's ctrl= in both files ("user": the owner's model, "auto": the kernel's).
    ///   - costFiles: false for a kernel without io.cost (no io.cost.qos, no io.cost.model).
    public static func virtioDisk(scheduler: String, ioCost: Bool? = false, ctrl: String = "user", costFiles: Bool = true) -> IODisks {
        let all = ["mq-deadline", "kyber", "bfq", "none"]
        let text = all.map { $0 == scheduler ? "[\($0)]" : $0 }.joined(separator: " ")
        let qos = ioCost.map { "254:0 enable=\($0 ? 1 : 0) ctrl=\(ctrl) rpct=0.00 rlat=250000 wpct=0.00 wlat=250000 min=100.00 max=100.00\n" } ?? ""
        let model = "254:0 ctrl=\(ctrl) model=linear rbps=100000000 rseqiops=2000 rrandiops=2000 wbps=100000000 wseqiops=2000 wrandiops=2000\n"
        return IODisks(devices: [IODevice(name: "vda", device: "254:0", schedulers: text, rotational: true)],
                       costQoS: costFiles ? qos : nil, costModel: costFiles ? model : nil)
    }
}
