import CSlowClients

#if canImport(Glibc)
import Glibc
#endif

/// One request to a unix socket as another user (`slowclients_exchange`: a forked child that
/// drops to uid/gid), and the answer as text: what a client of another uid is told.
public enum SlowClientExchange {
    public static func exchange(_ path: String, _ request: String, uid: uid_t, gid: gid_t) -> String {
        var answer = [CChar](repeating: 0, count: 65536)
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { slowclients_exchange(path, uid, gid, $0.baseAddress, $0.count, &answer, answer.count) }
        }
        return String(decoding: answer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
