import FairshareLinux
import FairshareTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct DescriptorReserveTests {
    @Test func aFullTableGivesTheReserveUpAndRoomTakesItBack() {
        let table = FakeDescriptors(free: 100)
        let reserve = table.reserve()
        #expect(reserve.released == nil && !reserve.isArmed)
        reserve.note(openFailure: EMFILE, path: "/proc")
        #expect(reserve.released == nil, "not armed: nothing to give up")
        #expect(reserve.arm())
        #expect(reserve.held == DescriptorReserve.size && table.openCount == DescriptorReserve.size)

        reserve.note(openFailure: EACCES, path: "/proc/1/status")
        #expect(reserve.released == nil, "only a full table gives the reserve up")
        table.free = 0  // the table is full: the reserve is all there is
        errno = EMFILE
        reserve.note(openFailure: EMFILE, path: "/proc")
        #expect(errno == EMFILE, "errno as it was: the caller reads it next")
        #expect(reserve.held == 0 && table.free == DescriptorReserve.size)
        #expect(reserve.released?.contains("EMFILE") == true && reserve.released?.contains("/proc") == true, "\(reserve.released ?? "")")

        // Room for the reserve alone is not room: taking it back would fill the table again.
        reserve.rearmIfRoom()
        #expect(reserve.released != nil && reserve.held == 0 && table.free == DescriptorReserve.size, "all or nothing")
        table.free = DescriptorReserve.size + DescriptorReserve.margin
        reserve.rearmIfRoom()
        #expect(reserve.released == nil && reserve.held == DescriptorReserve.size)
        #expect(table.free == DescriptorReserve.margin, "the margin probed and closed again")
    }

    @Test func theRealReserveHoldsDevNull() throws {
        let reserve = DescriptorReserve()
        #expect(reserve.arm())
        #expect(reserve.held == DescriptorReserve.size)
        reserve.note(openFailure: ENFILE, path: "/x")
        #expect(reserve.held == 0 && reserve.released?.contains("ENFILE") == true)
        reserve.rearmIfRoom()
        #expect(reserve.held == DescriptorReserve.size && reserve.released == nil)
        reserve.note(openFailure: EMFILE, path: "/x")  // closes them: no descriptor left behind
    }
}
