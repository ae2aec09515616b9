import Dispatch
import FairshareCore
import FairshareLinux
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Temp files for `readTrustedPolicy`, made by root (the tests run as root, as the agent does).
final class PolicyFiles {
    let directory: String
    static let good = "[[group]]\nname = \"a\"\nshares = 1\n[group.match]\ncomm = \"x\"\n"

    init() throws {
        var template = Array("/tmp/fairshare-policy-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw CgroupError(.mkdir, path: "/tmp", errno: errno) }
        directory = String(cString: p)
    }

    deinit {
        // Best effort: the names below are the only things made in it.
        for name in ["good.toml", "link.toml", "badlink.toml", "fifo", "writable.toml", "big.toml", "sparse.toml", "user.toml", "bin.toml", "dir"] {
            unlink(directory + "/" + name)
        }
        rmdir(directory + "/dir")
        rmdir(directory)
    }

    /// Writes `bytes` to `name` with `mode` (exactly: chmod after the umask) and `owner`.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8] = Array(PolicyFiles.good.utf8), mode: mode_t = 0o644, owner: uid_t = 0) -> String {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "open \(path): \(errno)")
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        precondition(chmod(path, mode) == 0 && chown(path, owner, 0) == 0, "chmod/chown \(path): \(errno)")
        return path
    }
}

@Test func aRootOwnedPolicyIsRead() throws {
    let files = try PolicyFiles()
    #expect(try readTrustedPolicy(path: files.write("good.toml")) == PolicyFiles.good)
    // Read-only for everyone but root's write bit is as good.
    #expect(try readTrustedPolicy(path: files.write("good.toml", mode: 0o400)) == PolicyFiles.good)
}

@Test func aSymlinkIsFollowedAndTheTargetIsChecked() throws {
    let files = try PolicyFiles()
    let good = files.write("good.toml")
    symlink(good, files.directory + "/link.toml")
    #expect(try readTrustedPolicy(path: files.directory + "/link.toml") == PolicyFiles.good)
    let writable = files.write("writable.toml", mode: 0o666)
    symlink(writable, files.directory + "/badlink.toml")
    #expect(throws: PolicyFileError.writableByOthers(path: files.directory + "/badlink.toml", mode: S_IFREG | 0o666)) {
        try readTrustedPolicy(path: files.directory + "/badlink.toml")
    }
}

struct UntrustedFileCase: Sendable, CustomTestStringConvertible {
    var name: String
    var mode: mode_t
    var owner: uid_t
    var expected: @Sendable (String) -> PolicyFileError
    var testDescription: String { name }
}

@Test(arguments: [
    UntrustedFileCase(name: "group-writable", mode: 0o664, owner: 0) { .writableByOthers(path: $0, mode: S_IFREG | 0o664) },
    UntrustedFileCase(name: "world-writable", mode: 0o646, owner: 0) { .writableByOthers(path: $0, mode: S_IFREG | 0o646) },
    UntrustedFileCase(name: "owned by uid 1000", mode: 0o644, owner: 1000) { .notOwnedByRoot(path: $0, uid: 1000) },
    UntrustedFileCase(name: "owned by uid 1000 and read-only", mode: 0o444, owner: 1000) { .notOwnedByRoot(path: $0, uid: 1000) },
])
func anUntrustedFileIsRefusedWithTheFix(_ c: UntrustedFileCase) throws {
    let files = try PolicyFiles()
    let path = files.write("user.toml", mode: c.mode, owner: c.owner)
    do {
        _ = try readTrustedPolicy(path: path)
        Issue.record("read an untrusted file")
    } catch {
        #expect(error == c.expected(path))
        #expect(error.description.contains("chown root:root \(path) && chmod go-w \(path)"), "\(error)")
        #expect(error.description.hasPrefix(path), "\(error)")
    }
}

@Test func aDirectoryOrDeviceIsNotAPolicy() throws {
    let files = try PolicyFiles()
    mkdir(files.directory + "/dir", 0o755)
    #expect(throws: PolicyFileError.notRegularFile(path: files.directory + "/dir", kind: "directory")) {
        try readTrustedPolicy(path: files.directory + "/dir")
    }
    #expect(throws: PolicyFileError.notRegularFile(path: "/dev/null", kind: "character device")) {
        try readTrustedPolicy(path: "/dev/null")
    }
}

/// 0.4.0's `fairshare check` blocked forever on a FIFO with no writer. The guard: the read runs
/// on another thread and must answer within 10 s (it answers at once: the open does not wait
/// for a writer, and the FIFO is refused before any read).
@Test func aFIFOIsRefusedWithoutBlocking() throws {
    let files = try PolicyFiles()
    let path = files.directory + "/fifo"
    #expect(mkfifo(path, 0o644) == 0)
    let answered = DispatchSemaphore(value: 0)
    let result = Answer()
    DispatchQueue.global().async {
        let r: Result<String, PolicyFileError>
        do throws(PolicyFileError) { r = .success(try readTrustedPolicy(path: path)) } catch { r = .failure(error) }
        result.value.withLock { $0 = r }
        answered.signal()
    }
    guard answered.wait(timeout: .now() + 10) == .success else {
        Issue.record("readTrustedPolicy blocked on a FIFO")
        return
    }
    #expect(result.value.withLock { $0 } == .failure(.notRegularFile(path: path, kind: "FIFO")))
}

/// What the FIFO test's thread hands back.
final class Answer: Sendable {
    let value = Mutex<Result<String, PolicyFileError>?>(nil)
}

@Test func anOversizeFileIsRefusedWithTheLimitAndWhereItIsCrossed() throws {
    let files = try PolicyFiles()
    let limit = PolicyLimits.standard.fileBytes
    let path = files.write("big.toml", [UInt8](repeating: UInt8(ascii: "#"), count: limit) + Array("\nx = 1\n".utf8))
    #expect(throws: PolicyFileError.invalidText(PolicyError(problems: [.init(
        location: SourceLocation(file: path, line: 1, column: limit + 1),
        message: "the policy is larger than \(limit) bytes (the limit on a policy file's size); a policy needs a few KB")]))) {
        try readTrustedPolicy(path: path)
    }
}

/// Only `fileBytes + 1` bytes are read: an 8 GiB sparse file is refused as fast as a small one,
/// without 8 GiB of memory (a reader that reads it all would take seconds and likely be killed).
@Test func aHugeFileIsNotReadToItsEnd() throws {
    let files = try PolicyFiles()
    let path = files.write("sparse.toml", [])
    #expect(truncate(path, 8 << 30) == 0)
    do {
        _ = try readTrustedPolicy(path: path)
        Issue.record("read an 8 GiB file")
    } catch {
        guard case .invalidText(let e) = error else { Issue.record("\(error)"); return }
        #expect(e.problems.first?.message.contains("larger than") == true)
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #expect(usage.ru_maxrss < 2 << 20, "peak RSS \(usage.ru_maxrss) KB")  // far below the 8 GiB a full read needs
}

@Test func bytesThatAreNotUTF8AreRefusedWithTheirPlace() throws {
    let files = try PolicyFiles()
    let path = files.write("bin.toml", Array("# é\nname = \"".utf8) + [0xC3, 0x28] + Array("\"\n".utf8))
    #expect(throws: PolicyFileError.invalidText(PolicyError(problems: [.init(
        location: SourceLocation(file: path, line: 2, column: 9),
        message: "the file is not UTF-8 text (an invalid byte sequence here); save the policy as UTF-8")]))) {
        try readTrustedPolicy(path: path)
    }
}

@Test func aMissingFileSaysSo() throws {
    let files = try PolicyFiles()
    let path = files.directory + "/missing.toml"
    #expect(throws: PolicyFileError.unreadable(path: path, errno: ENOENT)) { try readTrustedPolicy(path: path) }
    #expect(PolicyFileError.unreadable(path: path, errno: ENOENT).description == "cannot read \(path): No such file or directory")
}

/// `fairshare plan` reads a draft whoever owns it (the agent applies nothing of it), under the
/// same bounds: a regular file of at most `fileBytes` bytes of UTF-8.
@Test func aDraftIsReadWhoeverOwnsItButStillBounded() throws {
    let files = try PolicyFiles()
    #expect(try readPolicyDraft(path: files.write("user.toml", mode: 0o664, owner: 1000)) == PolicyFiles.good)
    #expect(throws: PolicyFileError.notRegularFile(path: "/dev/null", kind: "character device")) { try readPolicyDraft(path: "/dev/null") }
    let big = files.write("big.toml", Array(repeating: UInt8(ascii: "#"), count: PolicyLimits.standard.fileBytes + 1), owner: 1000)
    do {
        _ = try readPolicyDraft(path: big)
        Issue.record("read a draft over the size limit")
    } catch {
        guard case .invalidText(let problems) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(problems.description.contains("larger than \(PolicyLimits.standard.fileBytes) bytes"))
    }
}
