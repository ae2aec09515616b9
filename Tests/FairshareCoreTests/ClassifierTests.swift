import FairshareCore
import Testing

@Suite struct ClassifierTests {
    func classifier(_ groups: [GroupPolicy]) -> Classifier {
        Classifier(policy: Policy(groups: groups), agentPID: 999,
                   resolveUser: { ["alice": 1001, "bob": 1002][$0] }, resolveGroup: { ["staff": 50][$0] })
    }

    func group(_ name: String, _ match: MatchRule) -> GroupPolicy {
        GroupPolicy(name: GroupName(name)!, shares: Shares(1)!, match: match)
    }

    static let alicePython = ProcessInfo(pid: 100, uid: 1001, gid: 50, comm: "python3", exe: "/usr/bin/python3.11",
                                         argv: ["python3", "train.py", "--batch"], cgroup: "/user.slice/user-1001.slice/session-2.scope")

    @Test(arguments: [
        (MatchRule(users: [.name("alice")]), true),
        (MatchRule(users: [.id(1001)]), true),
        (MatchRule(users: [.name("bob"), .id(1001)]), true),
        (MatchRule(users: [.name("bob")]), false),
        (MatchRule(users: [.name("nosuchuser")]), false),
        (MatchRule(groups: [.name("staff")]), true),
        (MatchRule(comm: ["python3"]), true),
        (MatchRule(comm: ["python"]), false),
        (MatchRule(exe: [Glob("/usr/bin/python3*")!]), true),
        (MatchRule(exe: [Glob("/usr/local/*")!]), false),
        (MatchRule(cmdline: [try! Pattern("--batch( |$)")]), true),
        (MatchRule(cmdline: [try! Pattern("^ruby")]), false),
        (MatchRule(cgroup: [Glob("/user.slice/*")!]), true),
        (MatchRule(cgroup: [Glob("/system.slice/*")!]), false),
        // AND across keys: one failing key fails the rule
        (MatchRule(users: [.name("alice")], comm: ["bash"]), false),
        (MatchRule(users: [.name("alice")], comm: ["bash", "python3"], cgroup: [Glob("/user.slice/*")!]), true),
        // an empty rule matches nothing
        (MatchRule(), false),
    ])
    func singleRule(rule: MatchRule, matches: Bool) {
        let c = classifier([group("g", rule)])
        let v = c.classify(Self.alicePython)
        if matches {
            guard case .matched(let g, _) = v else { Issue.record("expected a match, got \(v)"); return }
            #expect(g.rawValue == "g")
        } else {
            #expect(v == .unmatched)
        }
    }

    @Test func firstMatchingGroupWinsInFileOrder() {
        let c = classifier([
            group("first", MatchRule(comm: ["bash"])),
            group("second", MatchRule(users: [.name("alice")])),
            group("third", MatchRule(comm: ["python3"])),
        ])
        guard case .matched(let g, let keys) = c.classify(Self.alicePython) else { Issue.record("no match"); return }
        #expect(g.rawValue == "second")
        #expect(keys.map(\.key) == ["users"])
    }

    @Test func exemptProcesses() {
        let c = classifier([group("all", MatchRule(users: [.id(0)]))])
        #expect(c.classify(ProcessInfo(pid: 1, comm: "systemd")) == .exempt(reason: "PID 1"))
        #expect(c.classify(ProcessInfo(pid: 2, comm: "kthreadd", isKernelThread: true)) == .exempt(reason: "kernel thread"))
        #expect(c.classify(ProcessInfo(pid: 999, comm: "fairshare")) == .exempt(reason: "the agent itself"))
    }

    @Test func cgroupKeyMatchesTheOriginNotTheCurrentCgroup() {
        let c = classifier([group("users", MatchRule(cgroup: [Glob("/user.slice/*")!]))])
        var p = Self.alicePython
        p.cgroup = "/fairshare/users"
        #expect(c.classify(p) == .unmatched)
        guard case .matched = c.classify(p, originCgroup: "/user.slice/user-1001.slice") else { Issue.record("origin not used"); return }
    }

    @Test func exeMissingNeverMatchesAnExeRule() {
        let c = classifier([group("g", MatchRule(exe: [Glob("*")!]))])
        var p = Self.alicePython
        p.exe = nil
        #expect(c.classify(p) == .unmatched)
    }

    @Test func globAndPatternValidation() {
        #expect(Glob("[abc") == nil)
        #expect(Glob("") == nil)
        #expect(Glob("/usr/bin/[a-z]*") != nil)
        #expect(throws: (any Error).self) { try Pattern("(unclosed") }
    }
}

@Suite struct WeightMappingTests {
    func names(_ shares: [Int]) -> [GroupName: Shares] {
        Dictionary(uniqueKeysWithValues: shares.enumerated().map { (GroupName("g\($0.offset)")!, Shares($0.element)!) })
    }

    @Test(arguments: [
        ([1, 2, 5], [100, 200, 500]),
        ([100, 300], [100, 300]),
        ([400, 100, 200], [400, 100, 200]),
        ([10000, 1], [10000, 1]),
        ([7], [105]),
        ([3, 7, 9999], [3, 7, 9999]),
        ([1, 1000], [10, 10000]),
        ([30, 45], [120, 180]),
    ])
    func ratiosAreKeptExactly(shares: [Int], weights: [Int]) {
        let w: [GroupName: CPUWeight] = WeightMapping.weights(for: names(shares))
        #expect(shares.indices.map { w[GroupName("g\($0)")!]!.value } == weights)
        for i in shares.indices {
            for j in shares.indices {
                // w_i / w_j == s_i / s_j  <=>  w_i * s_j == w_j * s_i
                #expect(weights[i] * shares[j] == weights[j] * shares[i])
            }
            #expect(WeightMapping.weightRange.contains(weights[i]))
        }
    }

    @Test func randomSharesAlwaysInRangeAndProportional() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let shares = (0..<Int.random(in: 1...12, using: &rng)).map { _ in Int.random(in: 1...10000, using: &rng) }
            let w: [GroupName: Int] = (WeightMapping.weights(for: names(shares)) as [GroupName: CPUWeight]).mapValues(\.value)
            let k = w[GroupName("g0")!]! / shares[0]
            for (i, s) in shares.enumerated() {
                let weight = w[GroupName("g\(i)")!]!
                #expect(WeightMapping.weightRange.contains(weight))
                #expect(weight == s * k)
            }
            // The smallest weight sits at 100 or above, unless the range stops the factor first.
            let smallest = shares.min()! * k
            #expect(smallest >= 100 || k == max(1, 10000 / shares.max()!), "shares \(shares) -> factor \(k)")
        }
    }
}

@Test func aMatchedCommandLineIsCutWhenDescribed() {
    let long = String(repeating: "train", count: 800)
    let key = Classifier.MatchedKey(key: "cmdline", pattern: "train", value: long)
    #expect(key.description == "cmdline train ~ " + String(long.prefix(200)) + "... (4000 bytes)")
    let short = Classifier.MatchedKey(key: "comm", pattern: "bash", value: "bash")
    #expect(short.description == "comm bash ~ bash")
}
