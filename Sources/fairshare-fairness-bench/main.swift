// `make bench-fairness`: the redistribution and fairness measures of issue 3 and the trees of
// groups of issue 20, one row each, from the fluid simulator (with the real controller) and,
// side by side, from the real-kernel VM (2 vCPUs).
//
// The kernel column is read from the file named by FAIRSHARE_VM_RESULTS, if set: one measure a
// line, `KEY VALUE`, blank lines and lines starting with `#` ignored; a key missing from the
// file shows `-`. The keys (units as in the table):
//
//   share_max_error_points      share accuracy, groups 1:2:5 all hungry for 20 s: max |achieved - target|, percentage points
//   share_jain                  the same run: weighted Jain's index
//   redistribution_intervals    a group goes idle: intervals until the hungry ones use its capacity split by shares
//   borrow_take_intervals       owner goes idle: intervals until the capped borrower uses the idle capacity
//   borrow_giveback_intervals   owner hungry again: intervals until the borrower is back at its ceiling
//   floor_cpus                  min = "1", 1 share against four groups of 10 shares, all hungry: CPUs obtained
//   starvation_a_min_percent    decayed fairness, max_boost 4: A's smallest part of the contested capacity, percent
//   starvation_b_first_percent  the same run: B's part in the first interval after its return, percent
//   starvation_settle_intervals the same run: intervals until the split is within 2 points of 50/50
//   unbounded_a_min_percent     the same scenario with unbounded credit: A's smallest part, percent
//   unbounded_starved_intervals the same run: intervals in which A got less than 19% (20% less a point)
//   absent_b_first2_percent     issue 11: A busy alone two half-lives while B has NO processes; B's part
//                               of the first 2 s after its burners start, percent (max_boost 4: <= 80)
//   absent_b_next2_percent      the same run: the next 2 s
//   idle_contended_percent      idle = true beside a hungry ordinary group: the idle group's part of the capacity
//   idle_alone_percent          the ordinary group stopped: the idle group's CPUs over what both groups ran while busy
//   tree_users_percents         a per_user group alone, three users with 1, 2 and 8 busy processes for 20 s: each
//                               user's part of the machine, percent, as A/B/C (goal 33.3 each; the same processes in
//                               one group, divided per process: 9.1/18.2/72.7)
//   tree_users_max_error_points the same run: max |user's part - 33.3|, percentage points
//   tree_nested_percents        research (3 shares) = lab-a (1) + lab-b (2), beside teaching (1), with 3, 2 and 4
//                               busy processes, 20 s: the parts of lab-a/lab-b/teaching, percent (goal 25/50/25)
//   tree_nested_max_error_points the same run: max |part - goal|, percentage points
//   tree_user_cap_return_intervals a per_user group, user_max = "0.5", user_borrow, user_burst = "75%": one user busy
//                               alone (two processes), then three more users start two busy processes each: intervals
//                               until the first is back at 0.5 CPU (usage and cpu.max) and the others have the rest

import FairshareTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `KEY VALUE` lines of every file in the variable (paths separated by spaces: vm-fairness's and
/// vm-tree's); nil when it names none.
func readVMResults() -> [String: String]? {
    guard let paths = getenv("FAIRSHARE_VM_RESULTS").map({ String(cString: $0) }), !paths.isEmpty else { return nil }
    var results: [String: String] = [:]
    for path in paths.split(separator: " ").map(String.init) { results.merge(readVMResults(path) ?? [:]) { _, new in new } }
    return results
}

/// `KEY VALUE` lines of one file; nil when it can not be read.
func readVMResults(_ path: String) -> [String: String]? {
    guard let file = fopen(path, "r") else {
        print("fairshare-fairness-bench: cannot read FAIRSHARE_VM_RESULTS=\(path): \(String(cString: strerror(errno)))")
        return nil
    }
    defer { fclose(file) }
    var results: [String: String] = [:]
    var line: UnsafeMutablePointer<CChar>?
    var capacity = 0
    while getline(&line, &capacity, file) > 0 {
        let text = String(cString: line!)
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard fields.count >= 2, !fields[0].hasPrefix("#") else { continue }
        results[String(fields[0])] = String(fields[1])
    }
    free(line)
    return results
}

func fixed(_ x: Double, _ digits: Int) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let n = Int((abs(x) * p).rounded())
    let whole = n / Int(p)
    let frac = String(n % Int(p))
    let sign = x < 0 && n != 0 ? "-" : ""
    return digits == 0 ? sign + String(whole) : sign + "\(whole)." + String(repeating: "0", count: digits - frac.count) + frac
}

func intervals(_ k: Int?) -> String { k.map(String.init) ?? "never" }

/// "33.3/33.3/33.3": one token, as a `KEY VALUE` line carries it.
func percents(_ xs: [Double]) -> String { xs.map { fixed($0, 1) }.joined(separator: "/") }

let start = ContinuousClock.now
let accuracy = SimScenarios.shareAccuracy()
let redistribution = SimScenarios.redistribution()
let borrowing = SimScenarios.borrowing()
let floor = SimScenarios.floor()
let starvation = SimScenarios.starvation()
let unbounded = SimScenarios.starvation(credit: .unbounded)
// One rule for every absence: B with no processes, and B with sleeping ones (the simulator's
// interval is 2 s, so "the first 2 s" is its first interval).
let absent = SimScenarios.returnAfterAbsence(sleeping: false)
let asleep = SimScenarios.returnAfterAbsence(sleeping: true)
// Trees of groups (issue 20).
let users = SimScenarios.userShares()
let nested = SimScenarios.nestedShares()
let capReturn = SimScenarios.userCapReturn()
let capReturnAsleep = SimScenarios.userCapReturn(othersAsleep: true)
let elapsed = ContinuousClock.now - start

let vm = readVMResults()
let rows: [(measure: String, key: String, simulator: String, goal: String)] = [
    ("share accuracy: max error (points)", "share_max_error_points", fixed(accuracy.maxErrorPoints, 2), "<= 2 kernel, <= 0.5 simulator"),
    ("share accuracy: weighted Jain's index", "share_jain", fixed(accuracy.jain, 4), ">= 0.99"),
    ("redistribution delay (intervals)", "redistribution_intervals", intervals(redistribution.delay), "<= 1"),
    ("borrow: take idle capacity (intervals)", "borrow_take_intervals", intervals(borrowing.takeDelay), "<= 2"),
    ("borrow: give back (intervals)", "borrow_giveback_intervals", intervals(borrowing.giveBackDelay), "<= 2"),
    ("floor min=1: CPUs obtained", "floor_cpus", fixed(floor.minimum, 3), ">= 0.95"),
    ("starvation: A's min share of contested (%)", "starvation_a_min_percent", fixed(starvation.aMinPercent, 1), ">= 20"),
    ("starvation: B's share on return (%)", "starvation_b_first_percent", fixed(starvation.bFirstPercent, 1), "> 55 (correction visible)"),
    ("starvation: intervals to 50/50 +-2 points", "starvation_settle_intervals", intervals(starvation.settleIntervals),
     "a few half-lives (<= \(Int(5 * starvation.halfLife / SimScenarios.interval)))"),
    ("unbounded credit: A's min share (%)", "unbounded_a_min_percent", fixed(unbounded.aMinPercent, 1), "contrast: starves (< 5)"),
    ("unbounded credit: intervals A below 19%", "unbounded_starved_intervals", String(unbounded.aBelowBoundIntervals),
     "contrast (capped: \(starvation.aBelowBoundIntervals))"),
    ("return, B had no processes: B's first 2 s (%)", "absent_b_first2_percent", fixed(absent.bPercents.first ?? 0, 1),
     "> 55, <= 80 (max_boost 4); asleep: \(fixed(asleep.bPercents.first ?? 0, 1))"),
    ("return, B had no processes: B's next 2 s (%)", "absent_b_next2_percent", fixed(absent.bPercents.dropFirst().first ?? 0, 1),
     "> 50; asleep: \(fixed(asleep.bPercents.dropFirst().first ?? 0, 1))"),
    ("idle group beside a hungry one (% of capacity)", "idle_contended_percent", "-", "< 5 (kernel only: cpu.idle)"),
    ("idle group alone (% of what the busy pair ran)", "idle_alone_percent", "-", ">= 90 (kernel only)"),
    ("per_user, 1/2/8 busy processes: users' parts (%)", "tree_users_percents", percents(users.perUser),
     "33.3 each; one group, per process: \(percents(users.perProcess))"),
    ("per_user: max |user's part - 33.3| (points)", "tree_users_max_error_points", fixed(users.maxErrorPoints, 2), "<= 3 kernel, <= 0.5 simulator"),
    ("nested 3 = 1 + 2 beside 1: parts (%)", "tree_nested_percents", percents(nested.achieved), "25.0/50.0/25.0"),
    ("nested: max error (points)", "tree_nested_max_error_points", fixed(nested.maxErrorPoints, 2), "<= 3 kernel, <= 0.5 simulator"),
    ("user_max 0.5 + borrow: cap back (intervals)", "tree_user_cap_return_intervals", intervals(capReturn.returnDelay),
     "<= 2; others asleep before: \(intervals(capReturnAsleep.returnDelay))"),
]

let headers = ("measure", "simulator", "kernel (VM)", "goal")
let w0 = max(headers.0.count, rows.map(\.measure.count).max()!)
let w1 = max(headers.1.count, rows.map(\.simulator.count).max()!)
let kernelValues = rows.map { vm?[$0.key] ?? "-" }
let w2 = max(headers.2.count, kernelValues.map(\.count).max()!)
func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
print("\(pad(headers.0, w0))  \(pad(headers.1, w1))  \(pad(headers.2, w2))  \(headers.3)")
print(String(repeating: "-", count: w0 + w1 + w2 + 6 + rows.map(\.goal.count).max()!))
for (row, kernel) in zip(rows, kernelValues) {
    print("\(pad(row.measure, w0))  \(pad(row.simulator, w1))  \(pad(kernel, w2))  \(row.goal)")
}
print("")
print("simulator: 2 CPUs, interval \(fixed(SimScenarios.interval, 0)) s, 10 ms fluid steps; starvation: half_life \(fixed(starvation.halfLife, 0)) s, "
    + "max_boost \(fixed(starvation.maxBoost, 0)), B idle 20 half-lives; settles in \(starvation.settleHalfLives.map { fixed($0, 2) } ?? "-") half-lives; "
    + "return after absence: half_life \(fixed(absent.halfLife, 0)) s, A alone two half-lives, B's parts " + absent.bPercents.prefix(5).map { fixed($0, 1) }.joined(separator: " ")
    + " (no processes) vs " + asleep.bPercents.prefix(5).map { fixed($0, 1) }.joined(separator: " ") + " (sleeping), max weight ratio \(fixed(absent.maxWeightRatio, 2)); "
    + "all scenarios \(elapsed) wall time")
print("trees: per_user alone on the machine, users with " + users.processCounts.map(String.init).joined(separator: "/")
    + " busy processes; nested: lab-a/lab-b/teaching with " + nested.processCounts.map(String.init).joined(separator: "/")
    + " busy processes; cap return: user_burst 75% = \(fixed(capReturn.burst, 2)) CPUs, the first user alone used "
    + capReturn.alone.map { fixed($0, 2) }.joined(separator: " ") + " CPUs per interval, at most \(fixed(capReturn.maxAfterReturn, 3)) once capped again")
if vm == nil { print("kernel column: set FAIRSHARE_VM_RESULTS to a file of `KEY VALUE` lines (keys at the top of main.swift)") }
