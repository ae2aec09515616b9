import FairshareEdge
import Synchronization

/// An in-memory file system for the metrics textfile: directories the test makes, files with
/// their text and mode, every operation in order, and errno injection.
public final class FakeMetricsFiles: MetricsFiles {
    public enum Operation: Sendable, Equatable {
        case create(String, mode: UInt32)
        case rename(String, to: String)
        case remove(String)
    }

    public struct File: Sendable, Equatable {
        public var text: String
        public var mode: UInt32
    }

    private struct State {
        var directories: Set<String> = []
        var files: [String: File] = [:]
        var log: [Operation] = []
        var failCreate: Int32?
        var failRename: Int32?
    }

    private let state = Mutex(State())

    public init() {}

    public func makeDirectory(_ path: String) { state.withLock { _ = $0.directories.insert(path) } }
    public func removeDirectory(_ path: String) { state.withLock { _ = $0.directories.remove(path) } }
    /// The next creates (or renames) fail with `errno` until cleared with nil.
    public func failCreate(_ errno: Int32?) { state.withLock { $0.failCreate = errno } }
    public func failRename(_ errno: Int32?) { state.withLock { $0.failRename = errno } }

    public var operations: [Operation] { state.withLock { $0.log } }
    public var files: [String: File] { state.withLock { $0.files } }
    public func clearOperations() { state.withLock { $0.log = [] } }

    public func directoryExists(_ path: String) -> Bool { state.withLock { $0.directories.contains(path) } }

    public func create(_ path: String, text: String, mode: UInt32) throws(MetricsFileError) {
        try state.withLock { (s: inout State) throws(MetricsFileError) in
            s.log.append(.create(path, mode: mode))
            let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            guard s.directories.contains(dir) else { throw MetricsFileError(operation: "create", path: path, errno: 2, message: "No such file or directory") }
            if let e = s.failCreate { throw MetricsFileError(operation: "create", path: path, errno: e, message: "injected") }
            s.files[path] = File(text: text, mode: mode)
        }
    }

    public func rename(_ from: String, to: String) throws(MetricsFileError) {
        try state.withLock { (s: inout State) throws(MetricsFileError) in
            s.log.append(.rename(from, to: to))
            if let e = s.failRename { throw MetricsFileError(operation: "rename \(from) to", path: to, errno: e, message: "injected") }
            guard let f = s.files.removeValue(forKey: from) else {
                throw MetricsFileError(operation: "rename \(from) to", path: to, errno: 2, message: "No such file or directory")
            }
            s.files[to] = f
        }
    }

    public func remove(_ path: String) {
        state.withLock { s in
            s.log.append(.remove(path))
            s.files[path] = nil
        }
    }
}
