import FairshareCore
import FairshareEdge
import Synchronization

/// Disks a test sets and changes (a scheduler switched, io.cost enabled) while the agent runs.
public final class FakeIODisks: IODiskSource {
    private let state: Mutex<IODisks>

    public init(_ disks: IODisks = IODisks(devices: [], costQoS: "", costModel: "")) {
        state = Mutex(disks)
    }

    public func read() -> IODisks { state.withLock { $0 } }

    public func set(_ disks: IODisks) { state.withLock { $0 = disks } }

    /// One virtio disk "vda" (254:0) with `scheduler` active, and io.cost enabled or not.
    public static func virtioDisk(scheduler: String, ioCost: Bool = false) -> IODisks {
        let all = ["mq-deadline", "kyber", "bfq", "none"]
        let text = all.map { $0 == scheduler ? "[\($0)]" : $0 }.joined(separator: " ")
        return IODisks(devices: [IODevice(name: "vda", device: "254:0", schedulers: text, rotational: true)],
                       costQoS: "254:0 enable=\(ioCost ? 1 : 0) ctrl=user rpct=0.00 rlat=250000 wpct=0.00 wlat=250000 min=100.00 max=100.00\n",
                       costModel: "254:0 ctrl=user model=linear rbps=100000000 rseqiops=2000 rrandiops=2000 wbps=100000000 wseqiops=2000 wrandiops=2000\n")
    }
}
