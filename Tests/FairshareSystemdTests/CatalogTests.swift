import FairshareCore
import FairshareEdge
import Foundation
import FairshareSystemd
import Testing

/// The journal catalog (packaging/journal/fairshare.catalog) must explain every MESSAGE_ID the
/// agent sends, and only those: `journalctl -x` is where an admin looks first.
@Suite struct CatalogTests {
    static let catalogPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("packaging/journal/fairshare.catalog").path

    /// "-- ID" headers with the Subject: line of each entry.
    static func entries() throws -> [String: String] {
        let text = try String(contentsOfFile: catalogPath, encoding: .utf8)
        var result: [String: String] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-- ") {
                let id = String(line.dropFirst(3))
                #expect(result[id] == nil, "duplicate catalog entry \(id)")
                current = id
                result[id] = ""
            } else if let id = current, line.hasPrefix("Subject: ") {
                result[id] = String(line.dropFirst("Subject: ".count))
            }
        }
        return result
    }

    @Test func everyMessageIDHasAnEntryWithASubject() throws {
        let catalog = try Self.entries()
        for (event, id) in JournalVocabulary.messageIDs {
            let subject = try #require(catalog[id], "no catalog entry for \(event) (\(id))")
            #expect(!subject.isEmpty, "catalog entry \(id) (\(event)) has no Subject:")
        }
        let known = Set(JournalVocabulary.messageIDs.values)
        for id in catalog.keys {
            #expect(known.contains(id), "catalog entry \(id) matches no event the agent sends")
            // journald's catalog needs 128-bit ids as 32 lowercase hex digits.
            #expect(id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "malformed id \(id)")
        }
    }
}
