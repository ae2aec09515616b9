import Testing

@testable import FairshareCore

// The validated values the agent writes into cgroup files: whatever the controller computes,
// what reaches the kernel is a value it accepts.

@Suite struct CgroupValuesTests {
    @Test(arguments: [
        (0, false), (-1, false), (1, true), (100, true), (10000, true), (10001, false), (Int.max, false), (Int.min, false),
    ])
    func weightAcceptsOnlyTheKernelsRange(_ raw: Int, _ accepted: Bool) {
        #expect((CPUWeight(raw) != nil) == accepted)
        #expect((IOWeight(raw) != nil) == accepted)
        if accepted { #expect(CPUWeight(raw)?.value == raw) }
    }

    @Test func weightRangeAndDefaultAreTheKernels() {
        #expect(CPUWeight.range == 1...10000)
        #expect(IOWeight.range == 1...10000)
        #expect(CPUWeight.kernelDefault.value == 100)
        #expect(IOWeight.kernelDefault.value == 100)
    }

    @Test(arguments: [
        // raw -> clamped
        (0.0, 1), (-5.0, 1), (0.4, 1), (1.0, 1), (1.5, 2), (99.5, 100), (250.4, 250), (250.6, 251),
        (9999.4, 9999), (10000.4, 10000), (10000.6, 10000), (12345.0, 10000),
        (1e300, 10000), (-1e300, 1), (Double.infinity, 10000), (-Double.infinity, 1), (Double.nan, 1),
        (Double.greatestFiniteMagnitude, 10000), (Double.leastNonzeroMagnitude, 1),
    ])
    func clampingRoundsAndPinsIntoRange(_ raw: Double, _ expected: Int) {
        #expect(CPUWeight(clamping: raw).value == expected, "CPUWeight(clamping: \(raw))")
        #expect(IOWeight(clamping: raw).value == expected, "IOWeight(clamping: \(raw))")
    }

    @Test func fileTextIsWhatEachFileTakes() throws {
        #expect(try #require(CPUWeight(250)).fileText == "250")
        #expect(try #require(IOWeight(250)).fileText == "default 250")
        #expect(CPUWeight(clamping: 1e9).fileText == "10000")
        #expect(IOWeight(clamping: -3).fileText == "default 1")
    }

    @Test(arguments: [
        // cpus -> cpu.max text
        (nil as Double?, "max 100000"),
        (Double.infinity, "max 100000"),
        (Double.nan, "max 100000"),
        (0.0, "1000 100000"),          // the kernel's smallest quota, not zero
        (-1.0, "1000 100000"),
        (0.001, "1000 100000"),
        (0.01, "1000 100000"),
        (0.011, "1100 100000"),
        (0.5, "50000 100000"),
        (1.0, "100000 100000"),
        (1.5, "150000 100000"),
        (2.345678, "234568 100000"),   // rounded to the microsecond
        (64.0, "6400000 100000"),
    ])
    func cpuMaxText(_ cpus: Double?, _ text: String) {
        let value = CPUMax(cpus: cpus)
        #expect(value.fileText == text)
        #expect(value.description == text)
        #expect(value.periodUsec == 100_000)
    }

    @Test func cpuMaxQuotaIsNeverBelowTheKernelsMinimum() {
        for cpus in stride(from: 0.0, through: 0.02, by: 0.0005) {
            let quota = CPUMax(cpus: cpus).quotaUsec
            #expect(quota != nil && quota! >= CPUMax.minQuotaUsec, "\(cpus) CPUs -> \(String(describing: quota))")
        }
    }

    @Test(arguments: [0.01, 0.25, 0.5, 1.0, 1.5, 3.25, 48.0])
    func cpuMaxRoundTripsCPUs(_ cpus: Double) {
        #expect(CPUMax(cpus: cpus).cpus == cpus)
        #expect(CPUMax(cpus: CPUMax(cpus: cpus).cpus) == CPUMax(cpus: cpus))
    }

    @Test func unlimitedHasNoQuota() {
        #expect(CPUMax.unlimited.quotaUsec == nil)
        #expect(CPUMax.unlimited.cpus == nil)
        #expect(CPUMax(cpus: nil) == .unlimited)
        #expect(CPUMax(cpus: CPUMax.unlimited.cpus) == .unlimited)
    }

    /// A policy may say `max = 1e20` (it parses as a CPU amount): the quota must be one the
    /// kernel accepts (at most MAX_BW = 2^44 - 1 us), and computing it must not trap.
    @Test(arguments: [1e9, 1e12, 1e20, 1e300, Double.greatestFiniteMagnitude])
    func hugeCPUAmountsArePinnedToTheKernelsLargestQuota(_ cpus: Double) {
        let value = CPUMax(cpus: cpus)
        #expect(value.quotaUsec == CPUMax.maxQuotaUsec)
        #expect(value.fileText == "\(CPUMax.maxQuotaUsec) 100000")
        #expect(CPUMax.maxQuotaUsec == (1 << 44) - 1)
    }
}
