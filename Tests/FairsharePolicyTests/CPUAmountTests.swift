import Testing

@testable import FairsharePolicy

@Test(arguments: [
    (CPUAmount.cpus(2), "2"), (.cpus(1.5), "1.5"), (.percent(25), "25%"), (.percent(12.5), "12.5%"), (.cpus(1e20), "1e+20"),
    (.cpus(.infinity), "inf"),
] as [(CPUAmount, String)])
func cpuAmountDescriptionNeverTraps(_ amount: CPUAmount, _ text: String) {
    #expect(amount.description == text)
}


@Test(arguments: [
    ("2", CPUAmount.cpus(2)), ("1.5", .cpus(1.5)), ("0.25", .cpus(0.25)), (" 3 ", .cpus(3)), ("25%", .percent(25)), ("12.5%", .percent(12.5)),
    ("100%", .percent(100)), ("0", nil), ("0%", nil), ("-1", nil), ("100.1%", nil), ("%", nil), ("", nil), ("1e3", nil), ("two", nil),
    ("1.2.3", nil), ("+1", nil),
] as [(String, CPUAmount?)])
func cpuAmountParse(_ text: String, _ expected: CPUAmount?) {
    #expect(CPUAmount.parse(text) == expected)
}

@Test func cpuAmountInCPUs() {
    #expect(CPUAmount.cpus(1.5).cpus(capacity: 8) == 1.5)
    #expect(CPUAmount.percent(25).cpus(capacity: 8) == 2)
}
