import FairshareAgent
import FairshareCore
import FairshareEdge
import FairshareLinux
import FairshareTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `recover` after the agent: what it can not do is in its problems, never dropped.
@Suite struct RecoveryFaultTests {
    final class EmptyStore: OriginStore, Sendable {
        func load() throws -> String? { nil }
        func save(_ t: String) throws {}
    }

    /// Before, rmdir of the agent's leaf was `try?`: an EACCES left it behind unsaid.
    @Test func aLeafThatCanNotBeRemovedIsAProblemNotSilence() async throws {
        let k = FakeKernel()
        k.makeCgroup("/", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare/mid")
        k.makeCgroup("/fairshare/" + CgroupTree.agentLeafName)
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        k.inject(errno: EACCES, cgroup: tree.agentLeaf.description, operation: .rmdir)
        let outcome = try await Recovery.run(mode: .handBack, tree: tree, processes: k.processSource, origins: EmptyStore(),
                                             capacityCPUs: 2, logger: RecordingJournal().logger())
        #expect(outcome.problems.contains { $0.hasPrefix("cannot remove the agent's leaf cgroup: removing cgroup") && $0.contains("Permission denied") },
                "\(outcome.problems)")
        #expect(!k.exists("/fairshare/mid"), "the group itself is removed")
    }

    @Test func anAlreadyRemovedLeafIsNoProblem() async throws {
        let k = FakeKernel()
        k.makeCgroup("/", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare", enable: ["cpu", "io"])
        k.makeCgroup("/fairshare/mid")
        let tree = CgroupTree(fs: k.filesystem, root: CgroupPath("/fairshare")!, pause: { _ in })
        let outcome = try await Recovery.run(mode: .handBack, tree: tree, processes: k.processSource, origins: EmptyStore(),
                                             capacityCPUs: 2, logger: RecordingJournal().logger())
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
    }
}
