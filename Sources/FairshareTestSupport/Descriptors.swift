#if canImport(Glibc)
import Glibc
#endif

/// Counts of this process's open file descriptors, for the control socket's abuse tests and
/// `fairshare-bench socket`.
public enum Descriptors {
    /// Every descriptor this process has open.
    public static func count() -> Int {
        names().count
    }

    /// The descriptors this process holds on the server side of the unix socket at `path`: its
    /// listener and every connection it accepted (the kernel gives an accepted socket the
    /// listener's address, and /proc/net/unix shows it). Unlike `count()`, it sees nothing that
    /// other code in the process opens meanwhile (tests running beside, clients, pipes).
    public static func serverSide(of path: String) -> Int {
        var inodes = Set<Substring>()
        let table = readProcFile("/proc/net/unix")
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 8 && fields[7] == path { inodes.insert(fields[6]) }
        }
        var target = [CChar](repeating: 0, count: 64)
        return names().filter { name in
            let n = readlink("/proc/self/fd/" + name, &target, target.count - 1)
            guard n > 0 else { return false }
            let link = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return link.hasPrefix("socket:[") && inodes.contains(link.dropFirst(8).dropLast())
        }.count
    }

    /// The entries of /proc/self/fd, less the directory stream's own.
    static func names() -> [String] {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        let own = String(dirfd(dir))
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." && name != own { names.append(name) }
        }
        return names
    }

    /// The whole of a /proc file (stat() does not tell its size).
    static func readProcFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
