/// Where the agent drops its metrics for node_exporter's textfile collector: the few file
/// operations an atomic replace needs, so the agent's replace logic runs against a fake in
/// tests and never touches the host.
public protocol MetricsFiles: Sendable {
    /// Whether `path` is an existing directory.
    func directoryExists(_ path: String) -> Bool
    /// Creates `path` afresh (an existing file or link of that name is removed first, and a
    /// link is never followed) with mode `mode` whatever the umask, and writes `text` to it.
    func create(_ path: String, text: String, mode: UInt32) throws(MetricsFileError)
    /// rename(2): replaces `to` atomically.
    func rename(_ from: String, to: String) throws(MetricsFileError)
    /// Removes a file; one already gone is fine.
    func remove(_ path: String)
}

/// A failed file operation: which, on what, and errno.
public struct MetricsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32
    public var message: String

    public init(operation: String, path: String, errno: Int32, message: String) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.message = message
    }

    public var description: String { "\(operation) \(path): \(message) (errno \(errno))" }
}
