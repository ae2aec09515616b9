/// The disks and what, on each, makes io shares count: io.cost (io.weight) or BFQ
/// (io.bfq.weight). Read by the edge, judged here.

/// One disk as sysfs shows it (/sys/block/NAME).
public struct IODevice: Sendable, Equatable {
    public var name: String
    /// "MAJOR:MINOR", the key of io.cost.qos and io.cost.model lines.
    public var device: String
    /// queue/scheduler's text ("mq-deadline [bfq] none"); nil when it could not be read.
    public var schedulers: String?
    /// queue/rotational; nil when it could not be read.
    public var rotational: Bool?

    public init(name: String, device: String, schedulers: String?, rotational: Bool?) {
        self.name = name
        self.device = device
        self.schedulers = schedulers
        self.rotational = rotational
    }

    /// The active scheduler: the bracketed one, or the only one ("none" on a queue without
    /// elevators).
    public var scheduler: String? {
        guard let text = schedulers else { return nil }
        let names = text.split(whereSeparator: \.isWhitespace)
        if let active = names.first(where: { $0.hasPrefix("[") && $0.hasSuffix("]") }) { return String(active.dropFirst().dropLast()) }
        return names.count == 1 ? String(names[0]) : nil
    }
}

/// What the edge read about the disks: the devices (at most `IODisks.maxDevices`) and the
/// root's io.cost files (nil where the kernel has none).
public struct IODisks: Sendable, Equatable {
    /// Bounds the agent's reading and its status, whatever the machine has.
    public static let maxDevices = 64

    public var devices: [IODevice]
    /// Disks beyond `maxDevices`, not read.
    public var omitted: Int
    public var costQoS: String?
    public var costModel: String?

    public init(devices: [IODevice], omitted: Int = 0, costQoS: String?, costModel: String?) {
        self.devices = devices
        self.omitted = omitted
        self.costQoS = costQoS
        self.costModel = costModel
    }

    /// Some disk schedules with BFQ: io.bfq.weight then counts and is written.
    public var bfqActive: Bool { devices.contains { $0.scheduler == "bfq" } }
}

/// io.cost's per-device settings, from the root's io.cost.qos and io.cost.model.
public struct IOCostSetting: Sendable, Equatable {
    public var enabled: Bool
    /// "user" (the owner set it) or "auto" (the kernel's defaults), from io.cost.model.
    public var modelControl: String?
    /// "linear", the only model 6.1 has.
    public var model: String?

    /// Lines of both files start with "MAJ:MIN" then key=value fields:
    /// io.cost.qos   "254:0 enable=1 ctrl=user rpct=95.00 rlat=5000 wpct=95.00 wlat=5000 min=50.00 max=150.00"
    /// io.cost.model "254:0 ctrl=user model=linear rbps=... rseqiops=... rrandiops=... wbps=... ..."
    public static func parse(qos: String?, model: String?) -> [String: IOCostSetting] {
        var settings: [String: IOCostSetting] = [:]
        for (device, fields) in keyedLines(qos ?? "") {
            settings[device, default: IOCostSetting(enabled: false)].enabled = fields["enable"] == "1"
        }
        for (device, fields) in keyedLines(model ?? "") {
            settings[device, default: IOCostSetting(enabled: false)].modelControl = fields["ctrl"]
            settings[device, default: IOCostSetting(enabled: false)].model = fields["model"]
        }
        return settings
    }

    public init(enabled: Bool, modelControl: String? = nil, model: String? = nil) {
        self.enabled = enabled
        self.modelControl = modelControl
        self.model = model
    }

    static func keyedLines(_ text: String) -> [(String, [String: String])] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard let device = parts.first, device.contains(":") else { return nil }
            var fields: [String: String] = [:]
            for part in parts.dropFirst() {
                guard let eq = part.firstIndex(of: "=") else { continue }
                fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
            }
            return (String(device), fields)
        }
    }
}

/// Per disk: whether io shares are in force, through what, and why (status, check, journal).
public struct IODeviceStatus: Sendable, Equatable, Codable {
    public enum Mechanism: String, Sendable, Codable {
        case ioCost = "io.cost"
        case bfq
        case both = "io.cost+bfq"
        case none
    }

    public var name: String
    public var device: String
    public var scheduler: String?
    public var rotational: Bool?
    public var ioCost: Bool
    public var ioCostModel: String?
    public var ioCostControl: String?
    public var inForce: Bool
    public var through: Mechanism
    public var why: String

    enum CodingKeys: String, CodingKey {
        case name, device, scheduler, rotational, through, why
        case ioCost = "io_cost"
        case ioCostModel = "io_cost_model"
        case ioCostControl = "io_cost_ctrl"
        case inForce = "in_force"
    }

    /// One line for people: "io shares on vda (254:0): in force through io.cost (...)".
    public var line: String {
        "io shares on \(name) (\(device)): " + (inForce ? "in force through \(through.rawValue): " : "not in force: ") + why
    }
}

public enum IOShares {
    /// One line per disk, or why there is none to show (`fairshare check`, `status`).
    public static func lines(_ disks: Reading<[IODeviceStatus]>) -> String {
        switch disks {
        case .value(let disks):
            disks.isEmpty ? "io shares: no disk found under /sys/block\n" : disks.map { $0.line + "\n" }.joined()
        case .unavailable(let why):
            "io shares: not known on this machine, the disks could not be read: \(why)\n"
        }
    }

    /// Judges every disk read. A kernel without io.cost (no io.cost.qos read) is told apart from
    /// a disk where it is not enabled.
    public static func statuses(_ disks: IODisks) -> [IODeviceStatus] {
        let cost = IOCostSetting.parse(qos: disks.costQoS, model: disks.costModel)
        return disks.devices.map { d in
            let setting = cost[d.device]
            let costOn = setting?.enabled ?? false
            let bfq = d.scheduler == "bfq"
            let through: IODeviceStatus.Mechanism = costOn ? (bfq ? .both : .ioCost) : (bfq ? .bfq : .none)
            return IODeviceStatus(name: d.name, device: d.device, scheduler: d.scheduler, rotational: d.rotational, ioCost: costOn,
                                  ioCostModel: setting?.model, ioCostControl: setting?.modelControl, inForce: through != .none,
                                  through: through, why: reason(d, through: through, cost: setting, costAvailable: disks.costQoS != nil))
        }
    }

    static func reason(_ d: IODevice, through: IODeviceStatus.Mechanism, cost: IOCostSetting?, costAvailable: Bool) -> String {
        let model: String
        switch cost?.modelControl {
        case "user": model = "a \(cost?.model ?? "linear") model set by the machine's owner (ctrl=user)"
        case "auto": model = "the kernel's default \(cost?.model ?? "linear") model (ctrl=auto), not measured for this disk: set one (README, io shares)"
        default: model = "no model shown"
        }
        switch through {
        case .ioCost:
            return "io.cost is enabled with \(model); it divides the disk by io.weight"
        case .both:
            return "io.cost is enabled with \(model) and divides the disk by io.weight; BFQ schedules beneath it by io.bfq.weight"
        case .bfq:
            return "the BFQ scheduler divides the disk by io.bfq.weight"
        case .none:
            let scheduler = d.scheduler.map { "the scheduler is \($0)" } ?? "the scheduler could not be read"
            let costWhy = costAvailable
                ? "io.cost is not enabled for \(d.device) (io.cost.qos)"
                : "io.cost is not available (no io.cost.qos at the cgroup v2 root: a kernel without io.cost, or no cgroup v2)"
            return "\(scheduler) and \(costWhy): io shares have no effect on this disk (README, io shares)"
        }
    }
}
