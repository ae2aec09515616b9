import FairshareCore
import FairshareEdge
import FairshareSystemd
import Logging
import Synchronization
import Testing

final class Sink: JournalSink {
    let entries = Mutex<[[(String, String)]]>([])
    func send(_ fields: [(String, String)]) { entries.withLock { $0.append(fields) } }
}

@Suite struct JournalTests {
    @Test func entryCarriesIdentifierPriorityMessageIDAndFields() throws {
        let sink = Sink()
        let logger = Logger(label: "t") { _ in JournalLogHandler(sink: sink) }
        logger.error("new policy rejected", metadata: ["event": "policy_rejected", "policy": "/etc/fairshare/policy.toml"])
        let fields = try #require(sink.entries.withLock { $0.first })
        let d = Dictionary(fields, uniquingKeysWith: { a, _ in a })
        #expect(d["MESSAGE"] == "new policy rejected")
        #expect(d["PRIORITY"] == "3")
        #expect(d["SYSLOG_IDENTIFIER"] == "fairshare")
        #expect(d["MESSAGE_ID"] == JournalVocabulary.messageIDs["policy_rejected"])
        #expect(d["FAIRSHARE_EVENT"] == "policy_rejected")
        #expect(d["FAIRSHARE_POLICY"] == "/etc/fairshare/policy.toml")
    }

    @Test func listsBecomeRepeatedFieldsInOrder() {
        let fields = JournalVocabulary.fields(level: .info, message: "m", metadata: ["event": "summary", "group": .array(["b", "a"])])
        #expect(fields.filter { $0.0 == "FAIRSHARE_GROUP" }.map(\.1) == ["b", "a"])
    }

    @Test func messageIDsAreDistinct128BitHex() {
        let ids = Array(JournalVocabulary.messageIDs.values)
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        }
        for event in ["started", "setup", "policy_loaded", "policy_rejected", "group_created", "group_removed", "weights", "moved",
                      "restored", "summary", "stopping", "warning", "error"] {
            #expect(JournalVocabulary.messageIDs[event] != nil, "\(event) has no MESSAGE_ID")
        }
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func priorities(level: Logger.Level, priority: Int) {
        #expect(JournalVocabulary.priority(level) == priority)
    }

    @Test func fieldNamesAreValidJournalFieldNames() {
        #expect(JournalVocabulary.fieldName("cpu_weight") == "FAIRSHARE_CPU_WEIGHT")
        #expect(JournalVocabulary.fieldName("usage.pct-x") == "FAIRSHARE_USAGE_PCT_X")
    }

    @Test func consoleLineIsReadable() {
        let lines = Mutex<[String]>([])
        let handler = ConsoleLogHandler { line in lines.withLock { $0.append(line) } }
        let logger = Logger(label: "t") { _ in handler }
        logger.info("moved burn_a[10]", metadata: ["event": "moved", "pid": "10", "group": "low"])
        #expect(lines.withLock { $0 } == ["info [moved] moved burn_a[10] group=low pid=10\n"])
    }
}
