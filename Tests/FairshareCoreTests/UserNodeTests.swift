import FairshareCore
import FairsharePolicy
import Testing

/// A user's subgroup is named from the uid alone: the listing of a per_user group (which anyone
/// with rights under the root could add to) only ever yields canonical names.
@Suite struct UserNodeTests {
    @Test(arguments: [
        ("user-0", UserNode.user(0)), ("user-1001", .user(1001)), ("user-4294967294", .user(4_294_967_294)), ("overflow", .overflow),
    ])
    func canonicalNames(component: String, node: UserNode) {
        #expect(UserNode(component: component) == node)
        #expect(node.component == component)
    }

    @Test(arguments: [
        "user-", "user-01", "user-00", "user-4294967295", "user-99999999999", "user-+1", "user--1", "user-1a", "user- 1", "User-1",
        "user-\u{0661}", "overflow2", "overflo", "user", "", "xuser-1",
    ])
    func anythingElseIsNoUser(component: String) {
        #expect(UserNode(component: component) == nil, "\(component)")
    }

    @Test func onlyAPathsLastComponentBelowAGroupNamesAUser() throws {
        #expect(try #require(GroupName(path: "logins/user-1001")).userNode == .user(1001))
        #expect(try #require(GroupName(path: "research/logins/overflow")).userNode == .overflow)
        #expect(try #require(GroupName(path: "user-1001")).userNode == nil, "a top-level group is a policy group")
        #expect(try #require(GroupName(path: "logins/user-01")).userNode == nil)
        #expect(try #require(GroupName(path: "user-1/lab")).userNode == nil)
        let logins = try #require(GroupName("logins"))
        #expect(logins.user(.user(7)) == GroupName(path: "logins/user-7"))
        #expect(logins.user(.user(7)).depth == 2)
    }
}
