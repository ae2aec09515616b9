import ArgumentParser
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareSystemd

#if canImport(Glibc)
import Glibc
#endif

/// `fairshare probe-units` (hidden): exercises the sd-bus code against the real systemd and
/// prints what it saw and how long each call took. For the VM check of unit-backed groups, not
/// for admins.
struct ProbeUnits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-units", abstract: "Try the systemd unit calls and time them (for testing).", shouldDisplay: false)

    @Option(name: .long, help: "Unit patterns to list (repeatable).")
    var pattern: [String] = []

    @Option(name: .long, help: "Times to repeat the listing (the first lists and reads the cgroups; later ones use the cache).")
    var repeatCount: Int = 20

    @Option(name: .long, help: "A unit whose CPUWeight/IOWeight to set.")
    var unit: String?

    @Option(name: .long, help: "CPUWeight to set.")
    var cpuWeight: Int = 250

    @Option(name: .long, help: "IOWeight to set.")
    var ioWeight: Int = 250

    @Flag(name: .long, help: "Set the unit's weights back to what they were afterwards.")
    var restore = false

    @Option(name: .long, help: "cgroups (relative to the mount) whose machine share to compute, timing the hierarchy snapshot.")
    var share: [String] = []

    @Option(name: .long, help: "The cgroup2 mount.")
    var mount: String = "/sys/fs/cgroup"

    func run() throws {
        let manager = SystemdUnitManager()
        var failed = false
        func ms(_ body: () throws -> Void) rethrows -> Double {
            let t0 = Self.now()
            try body()
            return (Self.now() - t0) / 1e6
        }
        func report(_ error: Error) {
            print("ERROR \(error)")
            failed = true
        }

        if !pattern.isEmpty {
            var units: [UnitInfo] = []
            do {
                let first = try ms { units = try manager.units(matching: pattern) }
                print("connected via \(manager.connectedVia)")
                print("ListUnitsByPatterns \(pattern.joined(separator: " ")): \(units.count) running unit(s); first call \(Self.f(first)) ms (with \(units.count) ControlGroup reads)")
                for u in units.prefix(8) { print("  \(u.name) \(u.controlGroup)") }
                var times: [Double] = []
                for _ in 0..<max(repeatCount, 0) { times.append(try ms { units = try manager.units(matching: pattern) }) }
                if !times.isEmpty {
                    times.sort()
                    print("ListUnitsByPatterns repeated \(times.count)x (cgroups cached): median \(Self.f(times[times.count / 2])) ms, max \(Self.f(times.last!)) ms")
                }
            } catch { report(error) }
        }

        if let unit {
            do {
                var before = UnitWeights(cpu: nil, io: nil)
                let tGet = try ms { before = try manager.weights(of: unit) }
                print("connected via \(manager.connectedVia)")
                print("weights of \(unit) before: \(before) (2 Properties.Get, \(Self.f(tGet)) ms)")
                let listed = try manager.units(matching: [unit])
                let cgroup = listed.first?.controlGroup
                print("cgroup of \(unit): \(cgroup ?? "(not running)")")
                let target = UnitWeights(cpu: cpuWeight, io: ioWeight)
                let tSet = try ms { try manager.setWeights(target, of: unit) }
                print("SetUnitProperties \(unit) \(target): \(Self.f(tSet)) ms")
                let after = try manager.weights(of: unit)
                print("weights of \(unit) after: \(after)")
                if let cgroup { print("\(mount)\(cgroup)/cpu.weight = \(Self.read("\(mount)\(cgroup)/cpu.weight"))") }
                if let cgroup { print("\(mount)\(cgroup)/io.weight = \(Self.read("\(mount)\(cgroup)/io.weight").replacingNewlines())") }
                if restore {
                    let tRestore = try ms { try manager.setWeights(before, of: unit) }
                    let back = try manager.weights(of: unit)
                    print("restored \(unit) to \(back) (\(Self.f(tRestore)) ms)")
                    if let cgroup { print("\(mount)\(cgroup)/cpu.weight = \(Self.read("\(mount)\(cgroup)/cpu.weight"))") }
                    if back != before { print("ERROR restore: wanted \(before), got \(back)"); failed = true }
                }
                if after != target { print("ERROR set: wanted \(target), got \(after)"); failed = true }
            } catch { report(error) }
            // What the agent meets when it gives a vanished transient unit its weights back.
            do {
                try manager.setWeights(UnitWeights(cpu: nil, io: nil), of: "no-such-unit-fairshare.scope")
                print("ERROR SetUnitProperties on a unit that does not exist gave no error")
                failed = true
            } catch {
                print("unknown unit: \(error) (kind \(error.kind))")
                if error.kind != .gone { failed = true }
            }
        }

        if !share.isEmpty {
            let fs = LinuxCgroupFilesystem(mountPoint: mount)
            let tree = CgroupTree(fs: fs, root: .root, pause: { _ in })
            let paths = share.compactMap(CgroupPath.init)
            var snapshot = HierarchySnapshot()
            var times: [Double] = []
            for _ in 0..<max(repeatCount, 1) { times.append(ms { snapshot = tree.hierarchySnapshot(around: paths) }) }
            times.sort()
            print("hierarchy snapshot around \(paths.count) cgroup(s): \(snapshot.nodes.count) nodes, median \(Self.f(times[times.count / 2])) ms")
            for p in paths {
                let f = MachineShare.fraction(of: p.description, in: snapshot)
                print("machine share of \(p): \(f.map { Self.f($0 * 100) + "%" } ?? "unknown")")
            }
        }
        if failed { throw ExitCode(1) }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
    }

    static func f(_ x: Double) -> String { FixedPoint.format(x, places: 3) }

    static func read(_ path: String) -> String {
        guard let f = fopen(path, "r") else { return "(unreadable: \(String(cString: strerror(errno))))" }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 256)
        guard fgets(&buf, Int32(buf.count), f) != nil else { return "" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).replacingNewlines()
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        split(separator: "\n").joined(separator: "; ")
    }
}
