import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Where journal entries go: a list of FIELD=value pairs per entry.
public protocol JournalSink: Sendable {
    func send(_ fields: [(String, String)])
}

/// Stable journal vocabulary: every event type has a fixed MESSAGE_ID (for `journalctl
/// MESSAGE_ID=...` and the message catalog). Never change an ID once released.
public enum JournalVocabulary {
    public static let identifier = "fairshare"

    public static let messageIDs: [String: String] = [
        "started": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d01",
        "policy_loaded": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d02",
        "policy_rejected": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d03",
        "group_created": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d04",
        "group_removed": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d05",
        "moved": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d06",
        "summary": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d07",
        "stopping": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d08",
        "error": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d09",
        "restored": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a",
        "warning": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d0b",
        "setup": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c",
        "weights": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d",
        "cpu_max": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d0e",
        "borrow_started": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d0f",
        "borrow_stopped": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d10",
        "floor_hit": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d11",
        "floor_released": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d12",
        "unit_weights": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d13",
        "unit_restored": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d14",
        "still_failing": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d15",
        "recovered": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d16",
        "events_unavailable": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d17",
        "events_overflow": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d18",
        "io_shares": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d19",
        "mode": "5a1f0c7e2b7d4d8e9a63b0f4c2e81d1a",
    ]

    /// syslog priority for a swift-log level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Journal field name for a metadata key: FAIRSHARE_ + upper case, anything but A-Z0-9_ as _.
    public static func fieldName(_ key: String) -> String {
        "FAIRSHARE_" + String(key.uppercased().map { c -> Character in
            (c.isASCII && (c.isLetter || c.isNumber)) || c == "_" ? c : "_"
        })
    }

    /// The fields of one entry, in a fixed order.
    public static func fields(level: Logger.Level, message: String, metadata: Logger.Metadata, source: String? = nil) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("MESSAGE", message),
            ("PRIORITY", String(priority(level))),
            ("SYSLOG_IDENTIFIER", identifier),
        ]
        if case .string(let event)? = metadata["event"], let id = messageIDs[event] {
            fields.append(("MESSAGE_ID", id))
        }
        for key in metadata.keys.sorted() {
            // A list becomes the same field repeated, in order (the journal allows that; the
            // summary entry lists its groups this way).
            if case .array(let values) = metadata[key]! {
                for v in values { fields.append((fieldName(key), "\(v)")) }
            } else {
                fields.append((fieldName(key), "\(metadata[key]!)"))
            }
        }
        return fields
    }
}

/// swift-log handler that writes structured journal entries.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let sink: any JournalSink

    public init(sink: any JournalSink) {
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        sink.send(JournalVocabulary.fields(level: event.level, message: "\(event.message)", metadata: merged))
    }
}

/// For running by hand (`--log-target console`): one line per entry on standard error,
/// "LEVEL [event] message key=value ...".
public struct ConsoleLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void = { line in
        // One write(2) per line keeps lines whole when several threads log.
        _ = line.utf8CString.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress, $0.count - 1) }
    }) {
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        var line = "\(event.level)"
        if case .string(let e)? = merged.removeValue(forKey: "event") { line += " [\(e)]" }
        line += " \(event.message)"
        for key in merged.keys.sorted() { line += " \(key)=\(merged[key]!)" }
        write(line + "\n")
    }
}
