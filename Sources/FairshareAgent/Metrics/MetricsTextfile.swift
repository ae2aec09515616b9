import FairshareEdge

/// The atomic replace node_exporter's textfile collector asks for (its README.textfile): the
/// text goes to a temporary name in the same directory, which does not end in `.prom` so the
/// collector never reads it half written, then rename(2) puts it in place in one step.
/// No fsync: the file is a snapshot rewritten every report interval, so what a power loss can
/// cost is one interval of stale or missing metrics, while a flush every interval would wake
/// the disk of an idle machine. Nothing here creates the directory: without node_exporter's
/// package there is nothing to write for.
enum MetricsTextfile {
    enum Outcome: Equatable {
        case written
        /// The directory does not exist (node_exporter is not installed): not an error.
        case noDirectory(String)
        case failed(MetricsFileError)
    }

    /// World-readable: the collector runs as the prometheus user.
    static let mode: UInt32 = 0o644

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// "fairshare.prom" -> ".fairshare.prom.tmp": hidden, and not a *.prom name.
    static func temporaryPath(for path: String) -> String {
        let dir = directory(of: path)
        let name = path[path.index(after: path.lastIndex(of: "/") ?? path.startIndex)...]
        return (dir == "/" ? "" : dir) + "/." + name + ".tmp"
    }

    static func write(_ text: String, to path: String, files: any MetricsFiles) -> Outcome {
        let dir = directory(of: path)
        guard files.directoryExists(dir) else { return .noDirectory(dir) }
        let temporary = temporaryPath(for: path)
        do {
            try files.create(temporary, text: text, mode: mode)
            try files.rename(temporary, to: path)
            return .written
        } catch {
            files.remove(temporary)
            return .failed(error)
        }
    }
}
