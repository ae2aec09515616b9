import FairshareCore
import FairshareEdge
import Logging
import Synchronization

/// A clock the test moves by hand.
public final class ManualClock: AgentClock {
    private let now = Mutex<UInt64>(1_000_000_000)

    public init() {}

    public func advance(by d: Duration) {
        now.withLock { $0 += UInt64(d.milliseconds) * 1_000_000 }
    }

    public func monotonicNanoseconds() -> UInt64 { now.withLock { $0 } }
    public func wallSeconds() -> Double { 1_800_000_000 + Double(monotonicNanoseconds()) / 1e9 }
}

/// Remembers every sd_notify message.
public final class RecordingNotifier: ServiceNotifier {
    private let messages = Mutex<[String]>([])

    public init() {}

    public func notify(_ state: String) { messages.withLock { $0.append(state) } }
    public var all: [String] { messages.withLock { $0 } }
}

/// Remembers every journal entry as its field list.
public final class RecordingJournal: JournalSink {
    private let entries = Mutex<[[(String, String)]]>([])

    public init() {}

    public func send(_ fields: [(String, String)]) { entries.withLock { $0.append(fields) } }
    public var all: [[(String, String)]] { entries.withLock { $0 } }

    /// Entries whose FAIRSHARE_EVENT is `event`.
    public func events(_ event: String) -> [[String: [String]]] {
        all.map { fields in
            var d: [String: [String]] = [:]
            for (k, v) in fields { d[k, default: []].append(v) }
            return d
        }.filter { $0["FAIRSHARE_EVENT"] == [event] }
    }

    /// A logger whose entries land here, through the real journal handler.
    public func logger() -> Logger {
        Logger(label: "test") { _ in JournalLogHandler(sink: self) }
    }
}

extension Reading where Value == ProcessScan {
    /// The processes a scan read; none when /proc could not be listed.
    public var processes: [ProcessInfo] { value?.processes ?? [] }
}

extension Step {
    /// A group file's step, as the reconciler plans it (tests build the steps they expect).
    public static func set(_ g: GroupName, _ file: ControlFile, _ value: some CgroupFileValue, _ source: WeightSource = .shares) -> Step {
        .set(GroupSetting(g, file, SettingValue(value), source: source))
    }
}
