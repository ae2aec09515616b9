/// The report stage's memory of what keeps failing, so a failure is told once per (target,
/// cause) rather than every pass: "io.weight of group x: EACCES", later "still failing, 40
/// times", and "recovered" once it works again. Reads and writes alike. Bounded: at most
/// `capacity` open failures are tracked; more are counted, not kept.
public struct FailureBook: Sendable, Equatable {
    public struct Failure: Sendable, Equatable, Codable {
        /// What failed: "io.weight of group batch", "cpu.stat of group a", "listing units".
        public var target: String
        /// The errno or D-Bus error name (or the whole message where there is none).
        public var cause: String
        /// The first failure's full message.
        public var message: String
        /// Failed attempts so far (one per pass that tried).
        public var count: Int
        /// Wall-clock seconds of the first failure, and of the last report of it.
        public var since: Double
        public var reportedAt: Double

        enum CodingKeys: String, CodingKey {
            case target, cause, message, count, since
            case reportedAt = "reported_at"
        }
    }

    /// What to tell about a failure just noted.
    public enum Note: Sendable, Equatable {
        /// New target, or the same target failing for another cause: report in full.
        case first(Failure)
        /// Still failing and a report interval passed since the last report.
        case stillFailing(Failure)
        /// Already told recently.
        case quiet
        /// Not tracked: the book is full (counted in `untracked`).
        case untracked
    }

    public let capacity: Int
    /// How often a failure that persists is reported again (seconds).
    public let repeatEvery: Double
    public private(set) var open: [String: Failure] = [:]
    /// Failures that found the book full.
    public private(set) var untracked = 0
    /// Open failures' targets that a step or reading touched this pass (only tracked ones: a
    /// pass with 10^5 failing targets must not make this grow past `capacity`).
    private(set) var touched: Set<String> = []

    public init(capacity: Int = 256, repeatEvery: Double = 600) {
        self.capacity = capacity
        self.repeatEvery = repeatEvery
    }

    public mutating func failed(_ target: String, cause: String, message: String, at now: Double) -> Note {
        if var f = open[target], f.cause == cause {
            touched.insert(target)
            f.count += 1
            defer { open[target] = f }
            guard now - f.reportedAt >= repeatEvery else { return .quiet }
            f.reportedAt = now
            return .stillFailing(f)
        }
        guard open[target] != nil || open.count < capacity else {
            untracked += 1
            return .untracked
        }
        touched.insert(target)
        let f = Failure(target: target, cause: cause, message: message, count: 1, since: now, reportedAt: now)
        open[target] = f
        return .first(f)
    }

    /// The target worked: returns its open failure, if there was one (report "recovered").
    public mutating func succeeded(_ target: String) -> Failure? {
        // What is not open can not be dropped by `endPass`: nothing to mark touched.
        touched.remove(target)
        return open.removeValue(forKey: target)
    }

    /// Keeps `target`'s open failure through this pass's end although nothing tried it: for a
    /// target tried less often than every pass (the metrics textfile, every report interval).
    public mutating func keep(_ target: String) {
        if open[target] != nil { touched.insert(target) }
    }

    /// Ends a pass: failures of targets no step or reading touched in it are dropped (a process
    /// that exited, a group that left the policy), so the book holds only what is still tried.
    /// Returns the dropped ones.
    @discardableResult
    public mutating func endPass() -> [Failure] {
        let stale = open.keys.filter { !touched.contains($0) }
        touched = []
        return stale.sorted().compactMap { open.removeValue(forKey: $0) }
    }

    /// Open failures, by target.
    public var failures: [Failure] { open.values.sorted { $0.target < $1.target } }
}
