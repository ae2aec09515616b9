import FairshareCore
import Testing

/// The control socket's admission rules, without sockets.
@Suite struct ConnectionBudgetTests {
    /// One step: a uid connects (`+`) or disconnects (`-`), and what the budget says.
    enum Step: Sendable {
        case connect(UInt32, expect: ConnectionBudget.Admission)
        case disconnect(UInt32)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var limits: ControlSocketLimits
        var steps: [Step]
        var testDescription: String { name }
    }

    static let admitted = ConnectionBudget.Admission.admitted
    static func refused(_ s: String) -> ConnectionBudget.Admission { .refused(s) }
    static func connect(_ uid: UInt32, times: Int, expect: ConnectionBudget.Admission = admitted) -> [Step] {
        Array(repeating: .connect(uid, expect: expect), count: times)
    }

    static let small = ControlSocketLimits(totalConnections: 6, connectionsPerUser: 3, reservedForRoot: 2)

    @Test(arguments: [
        Case(name: "the ninth connection of one user is refused, naming the uid and the limit",
             limits: .standard,
             steps: connect(1000, times: 8) + [.connect(1000, expect: refused("too many connections from uid 1000 (limit 8)"))]),
        Case(name: "another user is not affected by one user's bound",
             limits: .standard,
             steps: connect(1000, times: 8) + [.connect(1001, expect: admitted)]),
        Case(name: "a closed connection gives its slot back",
             limits: .standard,
             steps: connect(1000, times: 8) + [.disconnect(1000), .connect(1000, expect: admitted)]),
        Case(name: "users other than root share the total minus root's reserve",
             limits: small,
             steps: connect(1000, times: 3) + connect(1001, times: 1)
                 + [.connect(1002, expect: refused("too many connections to the agent (limit 4 for users other than root; 2 more are kept for root)"))]),
        Case(name: "root gets its reserved slots when the others have filled theirs",
             limits: small,
             steps: connect(1000, times: 3) + connect(1001, times: 1) + connect(0, times: 2)),
        Case(name: "root is held to the total when its reserve is smaller than its own bound",
             limits: small,
             steps: connect(1000, times: 3) + connect(1001, times: 1) + connect(0, times: 2)
                 + [.connect(0, expect: refused("too many connections to the agent (limit 6)"))]),
        Case(name: "root has a per-user bound too",
             limits: small,
             steps: connect(0, times: 3) + [.connect(0, expect: refused("too many connections from uid 0 (limit 3)"))]),
        Case(name: "root's slots, when root does not use them, are still not the others'",
             limits: small,
             steps: connect(1000, times: 3) + connect(1001, times: 1) + [.disconnect(1000), .connect(1002, expect: admitted),
                 .connect(1003, expect: refused("too many connections to the agent (limit 4 for users other than root; 2 more are kept for root)"))]),
    ])
    func admission(_ c: Case) {
        var budget = ConnectionBudget(limits: c.limits)
        for (i, step) in c.steps.enumerated() {
            switch step {
            case .connect(let uid, let expected):
                #expect(budget.admit(uid: uid) == expected, "step \(i): uid \(uid) connects")
            case .disconnect(let uid):
                budget.release(uid: uid)
            }
        }
        #expect(budget.total == budget.byUID.values.reduce(0, +))
        #expect(budget.heldByOthers <= c.limits.sharedByOthers)
    }

    @Test func theDefaultsAreTheDocumentedOnes() {
        let limits = ControlSocketLimits.standard
        #expect(limits.totalConnections == 64 && limits.connectionsPerUser == 8 && limits.reservedForRoot == 8)
        #expect(limits.readDeadline == .seconds(2) && limits.writeDeadline == .seconds(2))
        #expect(limits.maxRequestBytes == 4096 && limits.sharedByOthers == 56)
        #expect(limits.reservedForRoot >= limits.connectionsPerUser, "root can always open as many as any one user")
        #expect(Int(limits.listenBacklog) >= limits.totalConnections)
    }
}
