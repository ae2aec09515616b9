import Foundation
import FairshareCore
import FairshareTestSupport
import Testing

/// Disks and io.cost as a 6.1 kernel shows them (texts from the qemu guest and a Debian 12
/// server), and the verdict per disk: in force through io.cost, BFQ, both, or not at all.
@Suite struct IODevicesTests {
    @Test(arguments: [
        ("mq-deadline kyber [bfq] none", "bfq"),
        ("[mq-deadline] kyber bfq none\n", "mq-deadline"),
        ("[none] mq-deadline", "none"),
        ("none", "none"),  // a queue without elevators (nvme multi-queue on some kernels, loop)
        ("mq-deadline none", nil),  // nothing bracketed and more than one: unknown
        ("", nil),
    ] as [(String, String?)])
    func activeScheduler(text: String, active: String?) {
        #expect(IODevice(name: "vda", device: "254:0", schedulers: text, rotational: nil).scheduler == active)
    }

    @Test func ioCostSettingsFromBothRootFiles() {
        let qos = """
            254:0 enable=1 ctrl=user rpct=0.00 rlat=250000 wpct=0.00 wlat=250000 min=100.00 max=100.00
            8:0 enable=0 ctrl=auto rpct=95.00 rlat=10000 wpct=95.00 wlat=20000 min=50.00 max=150.00

            """
        let model = """
            254:0 ctrl=user model=linear rbps=104857600 rseqiops=1600 rrandiops=1600 wbps=104857600 wseqiops=1600 wrandiops=1600
            8:0 ctrl=auto model=linear rbps=174019176 rseqiops=41708 rrandiops=370 wbps=178075866 wseqiops=42705 wrandiops=378

            """
        let s = IOCostSetting.parse(qos: qos, model: model)
        #expect(s["254:0"] == IOCostSetting(enabled: true, modelControl: "user", model: "linear"))
        #expect(s["8:0"] == IOCostSetting(enabled: false, modelControl: "auto", model: "linear"))
        #expect(IOCostSetting.parse(qos: nil, model: nil).isEmpty)
        #expect(IOCostSetting.parse(qos: "garbage\n= =\n", model: "x").isEmpty, "lines without a MAJ:MIN key are skipped")
    }

    func disks(scheduler: String, enable: Int?, ctrl: String = "user", costFiles: Bool = true) -> IODisks {
        FakeIODisks.virtioDisk(scheduler: scheduler, ioCost: enable.map { $0 == 1 }, ctrl: ctrl, costFiles: costFiles)
    }

    @Test(arguments: [
        // scheduler, io.cost enable, model ctrl, in force, through, words the reason must have
        ("mq-deadline", 1, "user", true, IODeviceStatus.Mechanism.ioCost, ["io.cost is enabled", "set by the machine's owner (ctrl=user)", "io.weight"]),
        ("none", 1, "auto", true, .ioCost, ["kernel's default linear model (ctrl=auto)", "not measured for this disk"]),
        ("bfq", 0, "auto", true, .bfq, ["BFQ", "io.bfq.weight"]),
        ("bfq", 1, "user", true, .both, ["io.cost is enabled", "BFQ schedules beneath it"]),
        ("mq-deadline", 0, "auto", false, .none, ["the scheduler is mq-deadline", "io.cost is not enabled for 254:0", "no effect"]),
        ("mq-deadline", nil, "auto", false, .none, ["io.cost is not enabled for 254:0"]),
    ] as [(String, Int?, String, Bool, IODeviceStatus.Mechanism, [String])])
    func verdict(scheduler: String, enable: Int?, ctrl: String, inForce: Bool, through: IODeviceStatus.Mechanism, words: [String]) throws {
        let d = try #require(IOShares.statuses(disks(scheduler: scheduler, enable: enable, ctrl: ctrl)).first)
        #expect(d.inForce == inForce)
        #expect(d.through == through)
        #expect(d.scheduler == scheduler)
        #expect(d.ioCost == (enable == 1))
        for w in words { #expect(d.why.contains(w), "\(d.why)") }
        #expect(d.line.hasPrefix("io shares on vda (254:0): " + (inForce ? "in force through \(through.rawValue): " : "not in force: ")))
    }

    @Test func aKernelWithoutIOCostIsToldApartFromADiskWhereItIsOff() throws {
        let d = try #require(IOShares.statuses(disks(scheduler: "mq-deadline", enable: nil, costFiles: false)).first)
        #expect(!d.inForce)
        #expect(d.why.contains("io.cost is not available"), "\(d.why)")
    }

    @Test func bfqCountsAsActiveOnlyWhereItIsTheActiveScheduler() {
        #expect(disks(scheduler: "bfq", enable: 0).bfqActive)
        #expect(!disks(scheduler: "mq-deadline", enable: 1).bfqActive, "bfq listed but not bracketed")
        #expect(!IODisks(devices: [], costQoS: nil, costModel: nil).bfqActive)
    }

    @Test func statusJSONKeys() throws {
        let d = try #require(IOShares.statuses(disks(scheduler: "bfq", enable: 1)).first)
        let json = String(decoding: try JSONEncoder().encode(d), as: UTF8.self)
        for key in ["\"name\"", "\"device\"", "\"scheduler\"", "\"rotational\"", "\"io_cost\"", "\"io_cost_model\"", "\"io_cost_ctrl\"",
                    "\"in_force\"", "\"through\":\"io.cost+bfq\"", "\"why\""] {
            #expect(json.contains(key), "\(json)")
        }
    }
}

/// io shares onto BFQ's 1...1000 with one factor: exact while the largest share fits.
@Suite struct BFQWeightMappingTests {
    func map(_ shares: [String: Int]) -> BFQWeightMapping.Result {
        BFQWeightMapping.weights(for: Dictionary(uniqueKeysWithValues: shares.map { (GroupName($0.key)!, Shares($0.value)!) }))
    }
    func values(_ r: BFQWeightMapping.Result) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: r.weights.map { ($0.key.rawValue, $0.value.value) })
    }

    @Test(arguments: [
        (["light": 1, "heavy": 4], ["light": 100, "heavy": 400], [String]()),
        (["a": 1, "b": 2, "c": 5], ["a": 100, "b": 200, "c": 500], []),
        (["a": 3, "b": 1000], ["a": 3, "b": 1000], []),  // factor 1: exact though small
        (["a": 1500, "b": 3000], ["a": 500, "b": 1000], []),  // beyond the range: scaled down, exact
        (["a": 1, "b": 10000], ["a": 1, "b": 1000], ["a"]),  // 1 : 10000 can not fit 1..1000
        (["a": 7, "b": 3000], ["a": 2, "b": 1000], ["a"]),  // 2.33 rounds to 2: more than 1% off
        (["only": 100], ["only": 100], []),
    ] as [([String: Int], [String: Int], [String])])
    func mapping(shares: [String: Int], weights: [String: Int], unkept: [String]) {
        let r = map(shares)
        #expect(values(r) == weights)
        #expect(r.unkept.map(\.rawValue) == unkept)
    }

    @Test func bfqsRangeIsItsOwn() {
        #expect(BFQWeight(0) == nil && BFQWeight(1001) == nil && IOWeight(1001) != nil)
        #expect(BFQWeight(1)?.value == 1 && BFQWeight(1000)?.value == 1000)
        #expect(BFQWeight(clamping: 5000).value == 1000 && BFQWeight(clamping: .nan).value == 1)
        #expect(BFQWeight(400)!.fileText == "default 400")
        #expect(BFQWeight.kernelDefault.value == 100)
    }

    @Test func theRangeWarningNamesTheGroupsAndTheirWeights() throws {
        let policy = try PolicyParser.parse("""
            [[group]]
            name = "tiny"
            shares = 1
            io_shares = 1
            [group.match]
            comm = ["t"]

            [[group]]
            name = "huge"
            shares = 1
            io_shares = 10000
            [group.match]
            comm = ["h"]
            """, file: "p.toml")
        let w = try #require(policy.bfqRangeWarning())
        #expect(w.contains("tiny (io_shares 1 -> io.bfq.weight 1)"), "\(w)")
        #expect(!w.contains("huge ("), "the largest keeps its place: \(w)")
        let fine = try PolicyParser.parse(policyText(ioShares: [1, 4]), file: "p.toml")
        #expect(fine.bfqRangeWarning() == nil)
    }

    func policyText(ioShares: [Int]) -> String {
        ioShares.enumerated().map { i, s in "[[group]]\nname = \"g\(i)\"\nshares = 1\nio_shares = \(s)\n[group.match]\ncomm = [\"c\(i)\"]\n" }.joined(separator: "\n")
    }
}
