import FairshareCore
import FairshareTestSupport
import Testing

/// Datagrams recorded from a real kernel: Linux 6.18.44-fc-v669 (x86-64, the build host), by
/// Tests/proc-connector/record.py run as root in the initial namespaces on 2026-11-26. It
/// subscribes (listen request with cn_msg.ack 777), then a child (pid 8443, forked by the
/// recorder, pid 8402) forks a grandchild (8444) that exits, setresgid(1234), setresuid(4321),
/// prctl(PR_SET_NAME, "renamed-by-prctl"), starts and joins a thread (8445), execs /bin/true
/// and exits. One datagram per line, as the recorder printed them.
enum RecordedDatagrams {
    static let ack = "4c00000003000000cad30000000000000100000001000000cad300000a0300002800000000000000000000003125afd4cc140000000000000000000000000000000000000000000000000000"
    static let forkChild = "4c00000003000000cbd30000000000000100000001000000cbd3000000000000280000000100000000000000d144b8d4cc140000d2200000d2200000fb200000fb2000000000000000000000"
    static let forkGrandchild = "4c0000000300000032c8000000000000010000000100000032c800000000000028000000010000000100000054adfad4cc140000fb200000fb200000fc200000fc2000000000000000000000"
    static let exitGrandchild = "4c00000003000000ccd30000000000000100000001000000ccd3000000000000280000000000008000000000f69718d5cc140000fc200000fc2000000000000011000000fb200000fb200000"
    static let gid = "4c0000000300000033c8000000000000010000000100000033c8000000000000280000004000000001000000d5a12dd5cc140000fb200000fb200000d2040000d20400000000000000000000"
    static let uid = "4c0000000300000034c8000000000000010000000100000034c8000000000000280000000400000001000000278a2ed5cc140000fb200000fb200000e1100000e11000000000000000000000"
    static let comm = "4c0000000300000035c8000000000000010000000100000035c800000000000028000000000200000100000036fb31d5cc140000fb200000fb20000072656e616d65642d62792d7072637400"
    static let forkThread = "4c0000000300000036c8000000000000010000000100000036c8000000000000280000000100000001000000866338d5cc140000d2200000d2200000fd200000fb2000000000000000000000"
    static let exitThread = "4c00000003000000cdd30000000000000100000001000000cdd300000000000028000000000000800000000089443dd5cc140000fd200000fb20000000000000ffffffff0000000000000000"
    static let exec = "4c00000003000000ced30000000000000100000001000000ced300000000000028000000020000000000000095054ad5cc140000fb200000fb20000000000000000000000000000000000000"
    static let exit = "4c00000003000000cfd30000000000000100000001000000cfd3000000000000280000000000008000000000669a57d5cc140000fb200000fb2000000000000011000000d2200000d2200000"

    static let all: [(String, ProcEvent)] = [
        (ack, .ack(err: 0)),
        (forkChild, .fork(parentTGID: 8402, childPID: 8443, childTGID: 8443)),
        (forkGrandchild, .fork(parentTGID: 8443, childPID: 8444, childTGID: 8444)),
        (exitGrandchild, .exit(pid: 8444, tgid: 8444)),
        (gid, .gid(pid: 8443, tgid: 8443, real: 1234, effective: 1234)),
        (uid, .uid(pid: 8443, tgid: 8443, real: 4321, effective: 4321)),
        // The kernel keeps 15 bytes and a NUL of the 16 given.
        (comm, .comm(pid: 8443, tgid: 8443, comm: "renamed-by-prct")),
        // A thread's parent is its process's parent (real_parent): the recorder.
        (forkThread, .fork(parentTGID: 8402, childPID: 8445, childTGID: 8443)),
        (exitThread, .exit(pid: 8445, tgid: 8443)),
        (exec, .exec(pid: 8443, tgid: 8443)),
        (exit, .exit(pid: 8443, tgid: 8443)),
    ]
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = hex.makeIterator()
    while let high = chars.next(), let low = chars.next() {
        out.append(UInt8(String([high, low]), radix: 16)!)
    }
    return out
}

/// Writes a host-order integer at `offset` (tests build broken datagrams from recorded ones).
func poke<T: FixedWidthInteger>(_ buffer: inout [UInt8], _ offset: Int, _ value: T) {
    withUnsafeBytes(of: value) { raw in
        for (i, byte) in raw.enumerated() { buffer[offset + i] = byte }
    }
}

@Suite struct ProcConnectorFormatTests {
    // Offsets in a datagram: nlmsghdr 0, cn_msg 16 (its len at 32), proc_event 36 (what at 36,
    // event_data at 52).
    static let cnLen = 32
    static let what = 36
    static let eventData = 52

    @Test(arguments: zip(RecordedDatagrams.all.map { $0.0 }, RecordedDatagrams.all.map { $0.1 }))
    func recordedDatagramDecodesToItsEvent(hex: String, expected: ProcEvent) {
        let decoded = ProcConnectorFormat.decode(bytes(hex: hex))
        #expect(decoded.events == [expected])
        #expect(decoded.malformed == 0)
    }

    @Test func recordedAckCarriesTheNoncePlusOne() {
        var acks: [UInt32] = []
        _ = bytes(hex: RecordedDatagrams.ack).withUnsafeBytes { raw in
            ProcConnectorFormat.decode(raw) { header, event in
                if case .ack = event { acks.append(header.ack) }
            }
        }
        #expect(acks == [778])
    }

    @Test func severalMessagesInOneDatagramDecodeInOrder() {
        let datagram = RecordedDatagrams.all.flatMap { bytes(hex: $0.0) }
        let decoded = ProcConnectorFormat.decode(datagram)
        #expect(decoded.events == RecordedDatagrams.all.map { $0.1 })
        #expect(decoded.malformed == 0)
    }

    @Test func messagesFollowAtFourByteAlignment() {
        // A first message one byte longer than the recorded one, padded to 80: the second
        // starts at 80, not at 77.
        var first = bytes(hex: RecordedDatagrams.exec) + [0xAA]
        poke(&first, 0, UInt32(77))
        let datagram = first + [0, 0, 0] + bytes(hex: RecordedDatagrams.exit)
        let decoded = ProcConnectorFormat.decode(datagram)
        #expect(decoded.events == [.exec(pid: 8443, tgid: 8443), .exit(pid: 8443, tgid: 8443)])
        #expect(decoded.malformed == 0)
    }

    @Test func everyTruncationIsOneMalformedMessageAndNoEvent() {
        let whole = bytes(hex: RecordedDatagrams.forkChild)
        #expect(ProcConnectorFormat.decode([]).malformed == 0)
        for length in 1..<whole.count {
            let decoded = ProcConnectorFormat.decode(Array(whole[..<length]))
            #expect(decoded.events == [], "cut at \(length)")
            #expect(decoded.malformed == 1, "cut at \(length)")
        }
    }

    @Test func truncatedTailAfterAGoodMessageKeepsTheGoodOne() {
        let datagram = bytes(hex: RecordedDatagrams.exec) + Array(bytes(hex: RecordedDatagrams.exit)[..<40])
        let decoded = ProcConnectorFormat.decode(datagram)
        #expect(decoded.events == [.exec(pid: 8443, tgid: 8443)])
        #expect(decoded.malformed == 1)
    }

    /// One field of a recorded fork datagram changed, and what comes of it.
    @Test(arguments: [
        // nlmsg_len below the header (0 would loop forever if trusted), or beyond the buffer.
        ("nlmsg_len 0", 0, UInt32(0), [ProcEvent](), 1),
        ("nlmsg_len 15", 0, UInt32(15), [], 1),
        ("nlmsg_len 77", 0, UInt32(77), [], 1),
        ("nlmsg_len 0xFFFFFFFF", 0, UInt32.max, [], 1),
        // nlmsg_len that leaves out the event: cn_msg.len then claims more than is there, and
        // the 36 bytes left over read as a second message that does not fit either.
        ("nlmsg_len 40", 0, UInt32(40), [], 2),
        // Another connector id (CN_IDX_CIFS 2 / 1; CN_IDX_PROC 1 with val 2).
        ("cn idx 2", 16, UInt32(2), [], 1),
        ("cn val 2", 20, UInt32(2), [], 1),
        // What the kernel never sends here: NLMSG_ERROR, a data type.
        ("type NLMSG_ERROR", 4, UInt32(2), [], 1),
        ("type 16 (a data type)", 4, UInt32(16), [], 1),
    ])
    func brokenHeaders(name: String, offset: Int, value: UInt32, expected: [ProcEvent], malformed: Int) {
        var datagram = bytes(hex: RecordedDatagrams.forkChild)
        if offset == 4 {
            poke(&datagram, offset, UInt16(value))
        } else {
            poke(&datagram, offset, value)
        }
        let decoded = ProcConnectorFormat.decode(datagram)
        #expect(decoded.events == expected, "\(name)")
        #expect(decoded.malformed == malformed, "\(name)")
    }

    @Test func noopMessagesAreSkippedSilently() {
        var noop = Array(bytes(hex: RecordedDatagrams.exec)[..<16])
        poke(&noop, 0, UInt32(16))
        poke(&noop, 4, UInt16(1))
        let decoded = ProcConnectorFormat.decode(noop + bytes(hex: RecordedDatagrams.exec))
        #expect(decoded.events == [.exec(pid: 8443, tgid: 8443)])
        #expect(decoded.malformed == 0)
    }

    @Test func aMessageOfAnotherConnectorIsSkippedAndTheNextOneDecoded() {
        var other = bytes(hex: RecordedDatagrams.exec)
        poke(&other, 16, UInt32(7))  // CN_IDX_DM
        let decoded = ProcConnectorFormat.decode(other + bytes(hex: RecordedDatagrams.exit))
        #expect(decoded.events == [.exit(pid: 8443, tgid: 8443)])
        #expect(decoded.malformed == 1)
    }

    /// cn_msg.len against what each kind needs: the event header is 16 bytes, then fork needs
    /// 16, exec 8, uid/gid 16, comm 8 (and at most 16 of name), exit 8, ack 4.
    @Test(arguments: [
        (RecordedDatagrams.forkChild, 16 + 16, ProcEvent?.some(.fork(parentTGID: 8402, childPID: 8443, childTGID: 8443))),
        (RecordedDatagrams.forkChild, 16 + 15, nil),
        (RecordedDatagrams.forkChild, 15, nil),
        (RecordedDatagrams.forkChild, 0, nil),
        (RecordedDatagrams.exec, 16 + 8, .exec(pid: 8443, tgid: 8443)),
        (RecordedDatagrams.exec, 16 + 7, nil),
        (RecordedDatagrams.uid, 16 + 16, .uid(pid: 8443, tgid: 8443, real: 4321, effective: 4321)),
        (RecordedDatagrams.uid, 16 + 12, nil),
        (RecordedDatagrams.gid, 16 + 15, nil),
        (RecordedDatagrams.comm, 16 + 8 + 5, .comm(pid: 8443, tgid: 8443, comm: "renam")),
        (RecordedDatagrams.comm, 16 + 8, .comm(pid: 8443, tgid: 8443, comm: "")),
        (RecordedDatagrams.comm, 16 + 7, nil),
        (RecordedDatagrams.exit, 16 + 8, .exit(pid: 8443, tgid: 8443)),
        (RecordedDatagrams.exit, 16 + 7, nil),
        (RecordedDatagrams.ack, 16 + 4, .ack(err: 0)),
        (RecordedDatagrams.ack, 16 + 3, nil),
        // Longer than the message: never read past it.
        (RecordedDatagrams.exec, 41, nil),
        (RecordedDatagrams.exec, 0xFFFF, nil),
    ])
    func connectorLengthDecidesWhatIsRead(hex: String, length: Int, expected: ProcEvent?) {
        var datagram = bytes(hex: hex)
        poke(&datagram, Self.cnLen, UInt16(length))
        let decoded = ProcConnectorFormat.decode(datagram)
        #expect(decoded.events == (expected.map { [$0] } ?? []), "len \(length)")
        #expect(decoded.malformed == (expected == nil ? 1 : 0), "len \(length)")
    }

    @Test func commOfSixteenBytesWithoutNULStopsAtTheField() {
        var datagram = bytes(hex: RecordedDatagrams.comm)
        for (i, byte) in Array("abcdefghijklmnop".utf8).enumerated() { datagram[Self.eventData + 8 + i] = byte }
        // Bytes after the 16 of the name are not part of it, even when the message goes on.
        poke(&datagram, 0, UInt32(80))
        poke(&datagram, Self.cnLen, UInt16(44))
        datagram += Array("XYZ!".utf8)
        #expect(ProcConnectorFormat.decode(datagram).events == [.comm(pid: 8443, tgid: 8443, comm: "abcdefghijklmnop")])
    }

    @Test func commThatIsNotUTF8DecodesWithReplacement() {
        var datagram = bytes(hex: RecordedDatagrams.comm)
        datagram[Self.eventData + 8] = 0xFF
        datagram[Self.eventData + 9] = 0
        #expect(ProcConnectorFormat.decode(datagram).events == [.comm(pid: 8443, tgid: 8443, comm: "\u{FFFD}")])
    }

    @Test(arguments: [
        (UInt32(0x80), "sid"), (0x100, "ptrace"), (0x4000_0000, "coredump"),
        (0x2000_0000, "nonzero_exit"), (0x400, "the next kind"), (0x1234_5678, "garbage"),
    ])
    func kindsTheAgentDoesNotActOnAreOther(what: UInt32, name: String) {
        var datagram = bytes(hex: RecordedDatagrams.exec)
        poke(&datagram, Self.what, what)
        let decoded = ProcConnectorFormat.decode(datagram)
        #expect(decoded.events == [.other(what: what)], "\(name)")
        #expect(decoded.malformed == 0)
    }

    @Test func listenRequestIsWhatTheKernelAccepted() {
        // The recorder's request (which the kernel acked) with nonce 777 in both seq fields.
        let expected = bytes(hex:
            "28000000" + "0300" + "0000" + "09030000" + "2a000000"  // nlmsghdr: len 40, NLMSG_DONE, seq 777, pid 42
            + "01000000" + "01000000" + "09030000" + "09030000" + "0400" + "0000"  // cn_msg: 1/1, seq, ack, len 4
            + "01000000")  // PROC_CN_MCAST_LISTEN
        #expect(ProcConnectorFormat.listenRequest(.listen, nonce: 777, portID: 42) == expected)
        var ignore = expected
        poke(&ignore, 36, UInt32(2))
        #expect(ProcConnectorFormat.listenRequest(.ignore, nonce: 777, portID: 42) == ignore)
    }

    /// Random bytes, recorded datagrams cut anywhere and recorded datagrams with random bytes
    /// changed: decoding must not trap, and can not find more messages than 16-byte headers fit.
    @Test func randomAndDamagedBuffersNeverTrap() {
        var random = SplitMix64(seed: 0x5EED_C0DE)
        let valid = RecordedDatagrams.all.flatMap { bytes(hex: $0.0) }
        var decodedSomething = 0
        for round in 0..<30_000 {
            var buffer: [UInt8]
            switch round % 3 {
            case 0:
                buffer = (0..<random.size(upTo: 512)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            case 1:
                buffer = Array(valid[..<random.below(valid.count + 1)])
            default:
                buffer = valid
                for _ in 0..<(1 + random.below(8)) {
                    let at = random.below(buffer.count)
                    // Small values hit the length and id checks more often than random bytes.
                    buffer[at] = random.chance(50) ? UInt8(random.below(80)) : UInt8(truncatingIfNeeded: random.next())
                }
                buffer = Array(buffer[..<random.below(buffer.count + 1)])
            }
            let decoded = ProcConnectorFormat.decode(buffer)
            #expect(decoded.events.count + decoded.malformed <= buffer.count / 16 + 1)
            decodedSomething += decoded.events.count
        }
        // The damaged copies still decode most of their messages: the loop exercised decoding,
        // not only rejection.
        #expect(decodedSomething > 10_000)
    }
}
