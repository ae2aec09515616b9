/// The bytes of the kernel's process connector (NETLINK_CONNECTOR, CN_IDX_PROC): decoding what
/// it sends and encoding the listen request. Pure: the netlink socket lives in FairshareLinux.
///
/// Layouts (include/uapi/linux/netlink.h, connector.h, cn_proc.h), host byte order (the kernel
/// writes its own; x86-64 is little-endian):
/// - `nlmsghdr` (16): len u32, type u16, flags u16, seq u32, pid u32; messages follow each other
///   at NLMSG_ALIGN (4) boundaries. The connector sends each as type NLMSG_DONE.
/// - `cn_msg` (20): idx u32, val u32, seq u32, ack u32, len u16 (of the data after it), flags u16.
/// - `proc_event`: what u32, cpu u32, timestamp_ns u64, then the `event_data` union at 16.
///
/// Decoding never trusts a length: every field is read only after checking that it lies inside
/// both the buffer and the lengths that enclose it; what does not fit is counted as malformed.
public enum ProcConnectorFormat {
    public static let netlinkHeaderSize = 16
    public static let connectorHeaderSize = 20
    /// `what`, `cpu` and `timestamp_ns`: the part of a `proc_event` before its union.
    public static let eventHeaderSize = 16

    public static let nlmsgNoop: UInt16 = 1
    public static let nlmsgDone: UInt16 = 3

    /// The connector id of process events (CN_IDX_PROC / CN_VAL_PROC).
    public static let procIndex: UInt32 = 1
    public static let procValue: UInt32 = 1

    /// `what` codes (enum proc_cn_event).
    public enum What {
        public static let none: UInt32 = 0
        public static let fork: UInt32 = 0x1
        public static let exec: UInt32 = 0x2
        public static let uid: UInt32 = 0x4
        public static let gid: UInt32 = 0x40
        public static let sid: UInt32 = 0x80
        public static let ptrace: UInt32 = 0x100
        public static let comm: UInt32 = 0x200
        public static let nonzeroExit: UInt32 = 0x2000_0000
        public static let coredump: UInt32 = 0x4000_0000
        public static let exit: UInt32 = 0x8000_0000
    }

    /// enum proc_cn_mcast_op.
    public enum MulticastOp: UInt32, Sendable {
        case listen = 1
        case ignore = 2
    }

    /// The fixed part of one connector message, for callers that need more than the event
    /// (the listener matches its listen request's ack by `ack`).
    public struct ConnectorHeader: Sendable, Equatable {
        public var seq: UInt32
        public var ack: UInt32
    }

    /// Decodes one datagram into `events` (appended, in order) and returns how many messages in
    /// it were malformed (skipped). NLMSG_NOOP messages are skipped silently.
    @discardableResult
    public static func decode(_ bytes: UnsafeRawBufferPointer, into events: inout [ProcEvent]) -> Int {
        decode(bytes) { _, event in events.append(event) }
    }

    /// The same over an array (tests, fixtures).
    public static func decode(_ bytes: [UInt8]) -> (events: [ProcEvent], malformed: Int) {
        var events: [ProcEvent] = []
        let malformed = bytes.withUnsafeBytes { decode($0, into: &events) }
        return (events, malformed)
    }

    /// Walks the netlink messages of one datagram, calling `body` for each decoded event with its
    /// connector header; returns the count of malformed messages. A header whose length can not
    /// be trusted (shorter than itself or beyond the buffer) ends the walk: nothing after it can
    /// be located.
    @discardableResult
    public static func decode(
        _ bytes: UnsafeRawBufferPointer,
        _ body: (ConnectorHeader, ProcEvent) -> Void
    ) -> Int {
        var malformed = 0
        var offset = 0
        while offset < bytes.count {
            let remaining = bytes.count - offset
            guard remaining >= netlinkHeaderSize else { return malformed + 1 }
            let length = Int(load(UInt32.self, bytes, offset))
            guard length >= netlinkHeaderSize, length <= remaining else { return malformed + 1 }
            let type = load(UInt16.self, bytes, offset + 4)
            if type != nlmsgNoop {
                let payload = UnsafeRawBufferPointer(
                    rebasing: bytes[(offset + netlinkHeaderSize)..<(offset + length)])
                if type == nlmsgDone, let (header, event) = decodeConnectorMessage(payload) {
                    body(header, event)
                } else {
                    malformed += 1
                }
            }
            // NLMSG_ALIGN: the next message starts at a multiple of 4 (the last may be unpadded).
            offset += (length + 3) & ~3
        }
        return malformed
    }

    /// One `cn_msg` + `proc_event`, or nil when it is not a process event or does not fit.
    static func decodeConnectorMessage(_ payload: UnsafeRawBufferPointer) -> (ConnectorHeader, ProcEvent)? {
        guard payload.count >= connectorHeaderSize,
            load(UInt32.self, payload, 0) == procIndex,
            load(UInt32.self, payload, 4) == procValue
        else { return nil }
        let header = ConnectorHeader(seq: load(UInt32.self, payload, 8), ack: load(UInt32.self, payload, 12))
        let dataLength = Int(load(UInt16.self, payload, 16))
        guard dataLength <= payload.count - connectorHeaderSize else { return nil }
        let data = UnsafeRawBufferPointer(
            rebasing: payload[connectorHeaderSize..<(connectorHeaderSize + dataLength)])
        guard let event = decodeProcEvent(data) else { return nil }
        return (header, event)
    }

    /// One `proc_event` (its `len` bytes as the connector gave them).
    static func decodeProcEvent(_ data: UnsafeRawBufferPointer) -> ProcEvent? {
        guard data.count >= eventHeaderSize else { return nil }
        let what = load(UInt32.self, data, 0)
        let union = UnsafeRawBufferPointer(rebasing: data[eventHeaderSize...])
        func int32(_ at: Int) -> Int32 { load(Int32.self, union, at) }
        func uint32(_ at: Int) -> UInt32 { load(UInt32.self, union, at) }
        switch what {
        case What.none:
            guard union.count >= 4 else { return nil }
            return .ack(err: uint32(0))
        case What.fork:
            // parent_pid, parent_tgid, child_pid, child_tgid.
            guard union.count >= 16 else { return nil }
            return .fork(parentTGID: int32(4), childPID: int32(8), childTGID: int32(12))
        case What.exec:
            guard union.count >= 8 else { return nil }
            return .exec(pid: int32(0), tgid: int32(4))
        case What.uid, What.gid:
            // process_pid, process_tgid, r (ruid/rgid), e (euid/egid).
            guard union.count >= 16 else { return nil }
            return what == What.uid
                ? .uid(pid: int32(0), tgid: int32(4), real: uint32(8), effective: uint32(12))
                : .gid(pid: int32(0), tgid: int32(4), real: uint32(8), effective: uint32(12))
        case What.comm:
            // process_pid, process_tgid, comm[16]: NUL-terminated by the kernel, but read at
            // most 16 bytes and stop at the union's end either way.
            guard union.count >= 8 else { return nil }
            let name = UnsafeRawBufferPointer(rebasing: union[8..<min(union.count, 8 + 16)])
            let end = name.firstIndex(of: 0) ?? name.endIndex
            return .comm(
                pid: int32(0), tgid: int32(4),
                comm: String(decoding: UnsafeRawBufferPointer(rebasing: name[..<end]), as: UTF8.self))
        case What.exit:
            // process_pid, process_tgid, exit_code, exit_signal, parent_pid, parent_tgid.
            guard union.count >= 8 else { return nil }
            return .exit(pid: int32(0), tgid: int32(4))
        default:
            // sid, ptrace, coredump, nonzero_exit (a filter bit, never sent) or a kind newer
            // than this build: counted, not acted on.
            return .other(what: what)
        }
    }

    /// The request that subscribes (or unsubscribes) a bound NETLINK_CONNECTOR socket:
    /// nlmsghdr (NLMSG_DONE) + cn_msg (CN_IDX_PROC) + u32 op. The kernel answers with an ack
    /// event whose `cn_msg.ack` is `nonce + 1` (its `seq` is the kernel's own event counter on
    /// current kernels, so the nonce, not the seq, identifies the answer).
    public static func listenRequest(_ op: MulticastOp, nonce: UInt32, portID: UInt32) -> [UInt8] {
        let total = netlinkHeaderSize + connectorHeaderSize + 4
        var bytes: [UInt8] = []
        bytes.reserveCapacity(total)
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
        }
        put(UInt32(total))  // nlmsg_len
        put(nlmsgDone)  // nlmsg_type
        put(UInt16(0))  // nlmsg_flags
        put(nonce)  // nlmsg_seq
        put(portID)  // nlmsg_pid
        put(procIndex)  // cn_msg.id.idx
        put(procValue)  // cn_msg.id.val
        put(nonce)  // cn_msg.seq
        put(nonce)  // cn_msg.ack: comes back + 1
        put(UInt16(4))  // cn_msg.len
        put(UInt16(0))  // cn_msg.flags
        put(op.rawValue)
        return bytes
    }

    /// A field in host order; callers have checked that `offset + size` lies inside `bytes`.
    @inline(__always)
    static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= bytes.count)
        return bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    }
}
