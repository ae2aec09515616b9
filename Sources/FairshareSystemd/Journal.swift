import CSystemd
import FairshareEdge

#if canImport(Glibc)
import Glibc
#endif

/// The systemd journal through `sd_journal_sendv` (`sd_journal_send` is variadic: Swift can
/// not call it). With no journald listening, entries are dropped by libsystemd.
public struct SystemdJournalSink: JournalSink {
    public init() {}

    public func send(_ fields: [(String, String)]) {
        let entries = fields.map { Array("\($0.0)=\($0.1)".utf8) }
        let bases = entries.map { bytes -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            return p
        }
        defer { bases.forEach { $0.deallocate() } }
        var iov = zip(bases, entries).map { iovec(iov_base: $0.0, iov_len: $0.1.count) }
        _ = sd_journal_sendv(&iov, Int32(iov.count))
    }
}

