import Testing

@testable import FairshareCore

// The report stage's memory of failures: told once per (target, cause), again every
// `repeatEvery` while it lasts, "recovered" once; bounded whatever fails.

@Suite struct FailureBookTests {
    let target = "io.weight of group batch"
    let eacces = "EACCES"
    let message = "writing /sys/fs/cgroup/fairshare/batch/io.weight: Permission denied (errno 13)"

    /// One failure per pass, every 2 s: what is told at each pass.
    @Test func toldOnceThenQuietThenStillFailingEveryRepeatInterval() throws {
        var book = FailureBook(capacity: 8, repeatEvery: 600)
        var told: [(t: Double, note: FailureBook.Note)] = []
        for t in stride(from: 0.0, through: 1300, by: 2) {
            let note = book.failed(target, cause: eacces, message: message, at: t)
            if note != .quiet { told.append((t, note)) }
            book.endPass()
        }
        try #require(told.count == 3, "\(told.map(\.t))")
        guard case .first(let first) = told[0].note else { Issue.record("first note \(told[0].note)"); return }
        #expect(first == FailureBook.Failure(target: target, cause: eacces, message: message, count: 1, since: 0, reportedAt: 0))
        guard case .stillFailing(let again) = told[1].note else { Issue.record("second note \(told[1].note)"); return }
        #expect(told[1].t == 600 && again.count == 301 && again.since == 0 && again.reportedAt == 600)
        guard case .stillFailing(let third) = told[2].note else { Issue.record("third note \(told[2].note)"); return }
        #expect(told[2].t == 1200 && third.count == 601 && third.reportedAt == 1200)
        #expect(book.failures.map(\.count) == [651])
    }

    @Test func recoveredOnceThenForgotten() throws {
        var book = FailureBook()
        _ = book.failed(target, cause: eacces, message: message, at: 0)
        _ = book.failed(target, cause: eacces, message: message, at: 2)
        let recovered = try #require(book.succeeded(target) as FailureBook.Failure?)
        #expect(recovered.count == 2 && recovered.cause == eacces)
        let again = book.succeeded(target)
        #expect(again == nil, "recovery is told once")
        #expect(book.failures.isEmpty)
        // Failing again afterwards is a new first failure.
        let note = book.failed(target, cause: eacces, message: message, at: 4)
        #expect(note == .first(.init(target: target, cause: eacces, message: message, count: 1, since: 4, reportedAt: 4)))
    }

    @Test func aSucceedingTargetThatNeverFailedRecoversNothing() {
        var book = FailureBook()
        let recovered = book.succeeded("cpu.weight of group a")
        #expect(recovered == nil)
    }

    @Test func anotherCauseOnTheSameTargetIsANewFirst() throws {
        var book = FailureBook()
        _ = book.failed(target, cause: eacces, message: message, at: 0)
        let quiet = book.failed(target, cause: eacces, message: message, at: 2)
        #expect(quiet == .quiet)
        let note = book.failed(target, cause: "EBUSY", message: "writing io.weight: Device or resource busy (errno 16)", at: 4)
        guard case .first(let f) = note else { Issue.record("expected a first failure, got \(note)"); return }
        #expect(f.cause == "EBUSY" && f.count == 1 && f.since == 4)
        #expect(book.failures.map(\.cause) == ["EBUSY"], "one open failure per target")
        let again = book.failed(target, cause: "EBUSY", message: "", at: 6)
        #expect(again == .quiet)
    }

    @Test func endPassDropsWhatThePassDidNotTouch() {
        var book = FailureBook()
        _ = book.failed("moving burn[10] to group a", cause: "ESRCH", message: "m", at: 0)
        _ = book.failed(target, cause: eacces, message: message, at: 0)
        let none = book.endPass()
        #expect(none.isEmpty, "both were touched in this pass")
        // Next pass: the process has exited, only the io.weight write is tried.
        _ = book.failed(target, cause: eacces, message: message, at: 2)
        let dropped = book.endPass()
        #expect(dropped.map(\.target) == ["moving burn[10] to group a"])
        #expect(book.failures.map(\.target) == [target])
        // A pass that tries nothing drops everything.
        let all = book.endPass()
        #expect(all.map(\.target) == [target])
        #expect(book.failures.isEmpty)
    }

    @Test func aTargetThatSucceededThisPassIsNotReportedDropped() {
        var book = FailureBook()
        _ = book.failed(target, cause: eacces, message: message, at: 0)
        book.endPass()
        let recovered = book.succeeded(target)
        #expect(recovered != nil)
        let dropped = book.endPass()
        #expect(dropped.isEmpty)
    }

    @Test func fullBookCountsInsteadOfKeeping() {
        var book = FailureBook(capacity: 3)
        for i in 0..<3 {
            guard case .first = book.failed("t\(i)", cause: eacces, message: "", at: 0) else { Issue.record("t\(i) not first"); return }
        }
        let t3 = book.failed("t3", cause: eacces, message: "", at: 0)
        let t4 = book.failed("t4", cause: eacces, message: "", at: 0)
        #expect(t3 == .untracked && t4 == .untracked)
        #expect(book.untracked == 2)
        // Tracked targets still count, and may change cause, while the book is full.
        let t0 = book.failed("t0", cause: eacces, message: "", at: 1)
        #expect(t0 == .quiet)
        guard case .first = book.failed("t1", cause: "EIO", message: "", at: 1) else { Issue.record("a new cause on a tracked target"); return }
        #expect(book.open.count == 3)
        // Room again once one recovers.
        _ = book.succeeded("t2")
        guard case .first = book.failed("t3", cause: eacces, message: "", at: 2) else { Issue.record("room after a recovery"); return }
    }

    /// 10^5 distinct failures in one pass (a fork bomb of processes that can not be moved):
    /// the book keeps `capacity`, and its bookkeeping of what the pass touched stays as small.
    @Test func memoryIsBoundedByCapacityWhateverFails() {
        var book = FailureBook(capacity: 256)
        for i in 0..<100_000 {
            _ = book.failed("moving p[\(i)] to group a", cause: "EACCES", message: "", at: Double(i))
        }
        #expect(book.open.count == 256)
        #expect(book.untracked == 100_000 - 256)
        #expect(book.touched.count <= 256)
        book.endPass()
        #expect(book.open.count == 256, "all tracked ones were touched")
        for i in 0..<100_000 { _ = book.succeeded("moving p[\(i)] to group a") }
        #expect(book.open.isEmpty && book.touched.count <= 256)
    }

    @Test func failuresAreListedByTarget() {
        var book = FailureBook()
        for t in ["c", "a", "b"] { _ = book.failed(t, cause: eacces, message: "", at: 0) }
        #expect(book.failures.map(\.target) == ["a", "b", "c"])
    }
}
