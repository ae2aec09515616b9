import FairshareAgent
import FairshareCore
import FairshareTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The control socket's own failures, each injected (a real failing call, or the bind's file
/// calls replaced): every one is an error that says what, where and why, and costs nothing
/// (no descriptor kept, no socket file of another removed).
@Suite struct ControlSocketFaultTests {
    /// A fresh socket path in its own directory.
    static func socketPath() -> String {
        var template = Array("/tmp/fairshare-sockfault-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!) + "/fairshare.sock"
    }

    /// Longer than sun_path holds: socketAddress throws.
    static let unaddressablePath = "/tmp/" + String(repeating: "x", count: 200) + "/fairshare.sock"

    @Test func failedConnectsToAnUnaddressablePathKeepNoDescriptor() {
        let before = Descriptors.count()
        for _ in 0..<2000 {
            #expect(!ControlClient.isListening(Self.unaddressablePath))
            #expect(throws: ControlSocketError.self) {
                try ControlClient.send(ControlRequest(command: .status), to: Self.unaddressablePath, timeoutSeconds: 1)
            }
        }
        // Other tests open and close descriptors meanwhile: a leak would be 2000 or 4000.
        #expect(Descriptors.count() - before < 200)
    }
}
