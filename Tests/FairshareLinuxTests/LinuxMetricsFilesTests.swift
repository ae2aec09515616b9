import FairshareEdge
import FairshareLinux
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The textfile port on a real file system, in a temp dir: the mode the collector needs
/// whatever the umask, and no link followed where another user may plant one.
@Suite(.serialized) struct LinuxMetricsFilesTests {
    static func tempDir() -> String {
        var template = Array("/tmp/fairshare-metrics-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!)
    }

    static func read(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 4096)
        let n = fread(&buf, 1, buf.count - 1, f)
        return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test func createThenRenameGivesAWorldReadableFileWhateverTheUmask() throws {
        let dir = Self.tempDir()
        let files = LinuxMetricsFiles()
        #expect(files.directoryExists(dir))
        #expect(!files.directoryExists(dir + "/none"))
        let old = umask(0o077)
        defer { umask(old) }
        try files.create(dir + "/.f.prom.tmp", text: "a 1\n", mode: 0o644)
        try files.rename(dir + "/.f.prom.tmp", to: dir + "/f.prom")
        var st = stat()
        #expect(stat(dir + "/f.prom", &st) == 0 && st.st_mode & 0o777 == 0o644)
        #expect(Self.read(dir + "/f.prom") == "a 1\n")
        #expect(access(dir + "/.f.prom.tmp", F_OK) != 0)
    }

    @Test func aLinkAtTheTemporaryNameIsReplacedNotFollowed() throws {
        let dir = Self.tempDir()
        let victim = dir + "/victim"
        let f = fopen(victim, "w")!
        fputs("keep\n", f)
        fclose(f)
        #expect(symlink(victim, dir + "/.f.prom.tmp") == 0)
        try LinuxMetricsFiles().create(dir + "/.f.prom.tmp", text: "a 1\n", mode: 0o644)
        #expect(Self.read(victim) == "keep\n", "the link's target is untouched")
        var st = stat()
        #expect(lstat(dir + "/.f.prom.tmp", &st) == 0 && st.st_mode & S_IFMT == S_IFREG)
    }

    @Test func aFailureSaysWhatAndWhere() {
        #expect {
            try LinuxMetricsFiles().create("/nonexistent-dir/x/.f.prom.tmp", text: "", mode: 0o644)
        } throws: { e in
            "\(e)".contains("/nonexistent-dir/x/.f.prom.tmp") && "\(e)".contains("No such file or directory")
        }
    }

    /// Before, any failed stat of the directory read as "no directory" (node_exporter not
    /// installed: nothing written, nothing said).
    @Test func aDirectoryThatCanNotBeStatedIsNotTakenForAbsent() {
        let dir = Self.tempDir()
        #expect(symlink(dir + "/loop", dir + "/loop") == 0)
        let files = LinuxMetricsFiles()
        #expect(files.directoryExists(dir + "/loop"), "ELOOP: not known to be absent")
        #expect(!files.directoryExists(dir + "/none/deeper"))
        let plain = dir + "/plain"
        #expect(creat(plain, 0o600) >= 0)
        #expect(!files.directoryExists(plain), "a file is no directory")
        #expect(!files.directoryExists(plain + "/sub"), "ENOTDIR")
        #expect {
            try files.create(dir + "/loop/.f.prom.tmp", text: "", mode: 0o644)
        } throws: { "\($0)".contains("Too many levels of symbolic links") }
    }
}
