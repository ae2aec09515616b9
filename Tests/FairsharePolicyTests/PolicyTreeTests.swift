import Foundation
import Testing

@testable import FairsharePolicy

// Issue 20, fair between people: `parent` (groups nested in groups), `per_user` and its keys,
// `[agent] metrics_users`; GroupName paths and the Policy helpers.

// MARK: - GroupName paths

@Test func groupNamePaths() throws {
    let path = try #require(GroupName(path: "research/lab-a/u1000"))
    #expect(path.rawValue == "research/lab-a/u1000")
    #expect(path.components == ["research", "lab-a", "u1000"])
    #expect(path.leaf == "u1000")
    #expect(path.depth == 3)
    #expect(path.parent == GroupName(path: "research/lab-a"))
    #expect(path.parent?.parent == GroupName("research"))
    #expect(path.parent?.parent?.parent == nil)

    let top = try #require(GroupName("research"))
    #expect(GroupName(path: "research") == top)
    #expect(top.components == ["research"])
    #expect(top.leaf == "research")
    #expect(top.depth == 1)
    #expect(top.parent == nil)
    #expect(top.appending("lab-a") == GroupName(path: "research/lab-a"))
    #expect(top.appending("Lab") == nil)
    #expect(top.appending("a/b") == nil)
    #expect(top.appending("") == nil)

    #expect(top.isAncestor(of: path))
    #expect(path.parent!.isAncestor(of: path))
    #expect(!path.isAncestor(of: path))
    #expect(!path.isAncestor(of: top))
    #expect(!top.isAncestor(of: GroupName("research-2")!))
    #expect(!top.isAncestor(of: GroupName(path: "researchx/a")!))
}

@Test func groupNamePathLimits() throws {
    #expect(GroupName.maxComponents == Policy.maxDepth + 1)
    let five = try #require(GroupName(path: "a/b/c/d/e"))
    #expect(five.depth == GroupName.maxComponents)
    #expect(five.appending("f") == nil)
    #expect(GroupName(path: "a/b/c/d/e/f") == nil)
    #expect(GroupName(path: "a/b/c/d")?.appending("e") == five)
    for bad in ["", "/", "/a", "a/", "a//b", "a/../b", "a/./b", "a/B", "../etc", "a/1st", "a/" + String(repeating: "x", count: 64)] {
        #expect(GroupName(path: bad) == nil, "\(bad)")
    }
    // One component stays the old initializer's business: no "/".
    #expect(GroupName("a/b") == nil)
    #expect(GroupName(path: "a/" + String(repeating: "x", count: 63)) != nil)
}

@Test func aParentSortsBeforeItsChildren() {
    let names = ["research/lab-b", "batch", "research", "research/lab-a", "research/lab-a/u1"].map { GroupName(path: $0)! }
    let sorted = names.sorted()
    for (i, n) in sorted.enumerated() {
        for ancestor in sorted where ancestor.isAncestor(of: n) {
            #expect(sorted.firstIndex(of: ancestor)! < i)
        }
    }
    #expect(sorted.first == GroupName("batch"))
}

@Test func groupPolicyKnowsItsParentFromItsPath() {
    let nested = GroupPolicy(name: GroupName(path: "research/lab-a")!, shares: Shares(1)!, match: MatchRule())
    #expect(nested.parent == GroupName("research"))
    #expect(nested.shortName == "lab-a")
    let top = GroupPolicy(name: GroupName("batch")!, shares: Shares(1)!, match: MatchRule())
    #expect(top.parent == nil)
    #expect(top.shortName == "batch")
    #expect(top.perUser == nil)
}

@Test func perUserSharesByUIDThenNameThenDefault() {
    let users = PerUserPolicy(shares: [.name("alice"): Shares(3)!, .id(1005): Shares(2)!, .id(1000): Shares(7)!])
    #expect(users.shares(uid: 1001, name: "alice") == Shares(3))
    #expect(users.shares(uid: 1005, name: nil) == Shares(2))
    #expect(users.shares(uid: 1000, name: "alice") == Shares(7))
    #expect(users.shares(uid: 4242, name: "bob") == PerUserPolicy.defaultShares)
    #expect(PerUserPolicy.defaultShares == Shares(1))
    #expect(PerUserPolicy().maxUsers == 1024)
    #expect(AgentSettings().metricsUsers == 100)
}

// MARK: - Valid policies

private let nestedToml = #"""
    [[group]]
    name = "lab-a"
    parent = "research"
    shares = 1
    match.groups = "lab-a"

    [[group]]
    name = "research"
    shares = 3
    min = "2"

    [[group]]
    name = "lab-b"
    parent = "research"
    shares = 2
    min = "1"
    match.groups = "lab-b"

    [[group]]
    name = "batch"
    shares = 1
    match.comm = "make"
    """#

let treeValidPolicies: [ValidPolicyCase] = [
    ValidPolicyCase(
        name: "nested groups, the parent defined after a child: paths in file order, no warning for the parent without match",
        toml: nestedToml,
        groups: [
            GroupPolicy(name: GroupName(path: "research/lab-a")!, shares: Shares(1)!, match: MatchRule(groups: [.name("lab-a")]), line: 1),
            GroupPolicy(name: GroupName("research")!, shares: Shares(3)!, match: MatchRule(), line: 7, floor: .cpus(2)),
            GroupPolicy(
                name: GroupName(path: "research/lab-b")!, shares: Shares(2)!, match: MatchRule(groups: [.name("lab-b")]), line: 12, floor: .cpus(1)),
            GroupPolicy(name: GroupName("batch")!, shares: Shares(1)!, match: MatchRule(comm: ["make"]), line: 19),
        ]),
    ValidPolicyCase(
        name: "a per_user group with every key",
        toml: #"""
            [agent]
            metrics_users = 20

            [[group]]
            name = "logins"
            shares = 400
            max = "75%"
            per_user = true
            user_shares = { alice = 3, "1005" = 2, "host$" = 1, _svc = 1, "a.b-c" = 4, "0" = 5 }
            user_min = "0.5"
            user_max = "1"
            user_borrow = true
            user_burst = "75%"
            max_users = 200
            match.cgroup = "/user.slice/*"
            """#,
        agent: AgentSettings(metricsUsers: 20),
        groups: [
            GroupPolicy(
                name: GroupName("logins")!, shares: Shares(400)!, match: MatchRule(cgroup: [Glob("/user.slice/*")!]), line: 4, ceiling: .percent(75),
                perUser: PerUserPolicy(
                    shares: [
                        .name("alice"): Shares(3)!, .id(1005): Shares(2)!, .name("host$"): Shares(1)!, .name("_svc"): Shares(1)!,
                        .name("a.b-c"): Shares(4)!, .id(0): Shares(5)!,
                    ],
                    floor: .cpus(0.5), ceiling: .cpus(1), borrow: true, burst: .percent(75), maxUsers: 200))
        ]),
    ValidPolicyCase(
        name: "per_user with defaults; user_shares as a table of its own",
        toml: #"""
            [[group]]
            name = "logins"
            shares = 100
            per_user = true
            match.users = "alice"
            [group.user_shares]
            alice = 2
            """#,
        groups: [
            GroupPolicy(
                name: GroupName("logins")!, shares: Shares(100)!, match: MatchRule(users: [.name("alice")]), line: 1,
                perUser: PerUserPolicy(shares: [.name("alice"): Shares(2)!]))
        ]),
    ValidPolicyCase(
        name: "per_user = false is an ordinary group",
        toml: "[[group]]\nname = \"g\"\nshares = 5\nper_user = false\nmatch.comm = \"x\"\n",
        groups: [GroupPolicy(name: GroupName("g")!, shares: Shares(5)!, match: MatchRule(comm: ["x"]), line: 1)]),
    ValidPolicyCase(
        name: "the deepest tree: four levels, and a per_user group at level 3",
        toml: #"""
            [[group]]
            name = "a"
            shares = 1
            [[group]]
            name = "b"
            parent = "a"
            shares = 1
            [[group]]
            name = "c"
            parent = "b"
            shares = 1
            [[group]]
            name = "d"
            parent = "c"
            shares = 1
            match.comm = "x"
            [[group]]
            name = "e"
            parent = "b"
            shares = 1
            per_user = true
            match.comm = "y"
            """#,
        groups: [
            GroupPolicy(name: GroupName("a")!, shares: Shares(1)!, match: MatchRule(), line: 1),
            GroupPolicy(name: GroupName(path: "a/b")!, shares: Shares(1)!, match: MatchRule(), line: 4),
            GroupPolicy(name: GroupName(path: "a/b/c")!, shares: Shares(1)!, match: MatchRule(), line: 8),
            GroupPolicy(name: GroupName(path: "a/b/c/d")!, shares: Shares(1)!, match: MatchRule(comm: ["x"]), line: 12),
            GroupPolicy(name: GroupName(path: "a/b/e")!, shares: Shares(1)!, match: MatchRule(comm: ["y"]), line: 17, perUser: PerUserPolicy()),
        ]),
    ValidPolicyCase(
        name: "percentage mins: the 100% rule counts top-level groups; children within their parent's min",
        toml: #"""
            [[group]]
            name = "research"
            shares = 3
            min = "60%"
            [[group]]
            name = "lab-a"
            parent = "research"
            shares = 1
            min = "30%"
            match.comm = "a"
            [[group]]
            name = "lab-b"
            parent = "research"
            shares = 1
            min = "30%"
            match.comm = "b"
            [[group]]
            name = "other"
            shares = 1
            min = "40%"
            match.comm = "c"
            """#,
        groups: [
            GroupPolicy(name: GroupName("research")!, shares: Shares(3)!, match: MatchRule(), line: 1, floor: .percent(60)),
            GroupPolicy(name: GroupName(path: "research/lab-a")!, shares: Shares(1)!, match: MatchRule(comm: ["a"]), line: 5, floor: .percent(30)),
            GroupPolicy(name: GroupName(path: "research/lab-b")!, shares: Shares(1)!, match: MatchRule(comm: ["b"]), line: 11, floor: .percent(30)),
            GroupPolicy(name: GroupName("other")!, shares: Shares(1)!, match: MatchRule(comm: ["c"]), line: 17, floor: .percent(40)),
        ]),
    ValidPolicyCase(
        name: "metrics_users bounds",
        toml: "[agent]\nmetrics_users = 0\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n",
        agent: AgentSettings(metricsUsers: 0),
        groups: [GroupPolicy(name: GroupName("g")!, shares: Shares(1)!, match: MatchRule(comm: ["x"]), line: 3)]),
    ValidPolicyCase(
        name: "metrics_users at its maximum, max_users at both ends",
        toml: "[agent]\nmetrics_users = 10000\n[[group]]\nname = \"g\"\nshares = 1\nper_user = true\nmax_users = 1\nmatch.comm = \"x\"\n"
            + "[[group]]\nname = \"h\"\nshares = 1\nper_user = true\nmax_users = 65536\nmatch.comm = \"y\"\n",
        agent: AgentSettings(metricsUsers: 10000),
        groups: [
            GroupPolicy(name: GroupName("g")!, shares: Shares(1)!, match: MatchRule(comm: ["x"]), line: 3, perUser: PerUserPolicy(maxUsers: 1)),
            GroupPolicy(name: GroupName("h")!, shares: Shares(1)!, match: MatchRule(comm: ["y"]), line: 9, perUser: PerUserPolicy(maxUsers: 65536)),
        ]),
    ValidPolicyCase(
        name: "mode = observe",
        toml: "[agent]\nmode = \"observe\"\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n",
        agent: AgentSettings(mode: .observe),
        groups: [GroupPolicy(name: GroupName("g")!, shares: Shares(1)!, match: MatchRule(comm: ["x"]), line: 3)]),
    ValidPolicyCase(
        name: "mode = enforce, the default written out",
        toml: "[agent]\nmode = \"enforce\"\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n",
        agent: AgentSettings(),
        groups: [GroupPolicy(name: GroupName("g")!, shares: Shares(1)!, match: MatchRule(comm: ["x"]), line: 3)]),
]

@Test("valid trees and per_user groups parse to the expected model", arguments: treeValidPolicies)
func treeValidPolicy(_ c: ValidPolicyCase) throws {
    let policy = try PolicyParser.parse(c.toml, file: "valid.toml")
    #expect(policy.agent == c.agent)
    #expect(policy.groups == c.groups)
    #expect(policy.warnings.isEmpty, "\(policy.warnings)")
}

@Test func policyTreeHelpers() throws {
    let policy = try PolicyParser.parse(nestedToml, file: "p.toml")
    let research = try #require(policy.group(named: GroupName("research")!))
    let labA = try #require(policy.group(named: GroupName(path: "research/lab-a")!))
    #expect(policy.group(named: GroupName("lab-a")!) == nil)
    #expect(policy.children(of: nil).map(\.name.rawValue) == ["research", "batch"])
    #expect(policy.children(of: research.name).map(\.name.rawValue) == ["research/lab-a", "research/lab-b"])
    #expect(policy.children(of: labA.name).isEmpty)
    #expect(policy.isInterior(research))
    #expect(!policy.isInterior(labA))
    #expect(labA.parent == research.name)
    #expect(labA.shortName == "lab-a")

    let logins = try PolicyParser.parse("[[group]]\nname = \"logins\"\nshares = 1\nper_user = true\nmatch.comm = \"x\"\n", file: "p.toml")
    #expect(logins.isInterior(logins.groups[0]))
}

// MARK: - Bad policies

/// A `per_user` group named "logins" on line 1 whose `keys` start on line 5.
private func perUserGroup(_ keys: String) -> String {
    "[[group]]\nname = \"logins\"\nshares = 100\nper_user = true\n" + keys + "\nmatch.comm = \"x\"\n"
}

/// A group named "g" on line 1 whose `keys` start on line 4.
private func plainGroup(_ keys: String) -> String {
    "[[group]]\nname = \"g\"\nshares = 100\n" + keys + "\nmatch.comm = \"x\"\n"
}

/// A chain of groups a, b, c, ... each the parent of the next, 4 lines each from the second
/// (header on line 1, 4, 8, 12, ...; the parent key of the n-th group, n >= 2, on line 4n - 1);
/// `last` goes into the last group, which alone has a match table.
private func chain(_ names: [String], last: String = "") -> String {
    var text = ""
    for (i, name) in names.enumerated() {
        text += "[[group]]\nname = \"\(name)\"\nshares = 1\n"
        if i > 0 { text += "parent = \"\(names[i - 1])\"\n" }
        if i == names.count - 1 { text += last + "match.comm = \"x\"\n" }
    }
    return text
}

let treeBadPolicies: [BadPolicyCase] = [
    // parent
    BadPolicyCase(
        name: "a cycle of two",
        toml: "[[group]]\nname = \"a\"\nshares = 1\nparent = \"b\"\n\n[[group]]\nname = \"b\"\nshares = 1\nparent = \"a\"\nmatch.comm = \"x\"\n",
        line: 4, column: 1,
        message: "[[group]] 'a' is its own ancestor: the parents make a cycle, a -> b -> a (each group's parent after it); groups form a tree, so give one of them a parent outside the cycle, or none"),
    BadPolicyCase(
        name: "a cycle of three, named from its first group in the file, and a group beneath it",
        toml: #"""
            [[group]]
            name = "c"
            shares = 1
              parent = "a"
            [[group]]
            name = "a"
            shares = 1
            parent = "b"
            [[group]]
            name = "b"
            shares = 1
            parent = "c"
            [[group]]
            name = "d"
            shares = 1
            parent = "a"
            match.comm = "x"
            """#,
        line: 4, column: 3, message: "[[group]] 'c' is its own ancestor: the parents make a cycle, c -> a -> b -> c"),
    BadPolicyCase(
        name: "a group naming itself as parent", toml: "[[group]]\nname = \"a\"\nshares = 1\n  parent = \"a\"\nmatch.comm = \"x\"\n", line: 4, column: 3,
        message: "[[group]] 'a' names itself as its parent; expected the name of another [[group]], or no parent for a top-level group"),
    BadPolicyCase(
        name: "an unknown parent, close to a group's name",
        toml: "[[group]]\nname = \"research\"\nshares = 3\n\n[[group]]\nname = \"lab-a\"\nshares = 1\nparent = \"reserch\"\nmatch.comm = \"x\"\n",
        line: 8, column: 1, message: "unknown parent 'reserch' in [[group]] 'lab-a': no [[group]] has that name; did you mean 'research'?"),
    BadPolicyCase(
        name: "an unknown parent, like nothing", toml: plainGroup("parent = \"nobody\""), line: 4, column: 1,
        message: "unknown parent 'nobody' in [[group]] 'g': no [[group]] has that name; expected the name of another [[group]] in this policy"),
    BadPolicyCase(
        name: "a path as parent",
        toml: "[[group]]\nname = \"research\"\nshares = 3\n\n[[group]]\nname = \"lab-a\"\nshares = 1\nparent = \"top/research\"\nmatch.comm = \"x\"\n",
        line: 8, column: 1,
        message: "parent 'top/research' of [[group]] 'lab-a' is a path; expected just the name of the parent [[group]] (names are unique in a policy): parent = \"research\""),
    BadPolicyCase(
        name: "parent: a number", toml: plainGroup("parent = 1"), line: 4, column: 1,
        message: "parent must be a string, the name of another [[group]] like \"research\", got an integer"),
    BadPolicyCase(name: "parent: empty", toml: plainGroup("parent = \"\""), line: 4, column: 1, message: "parent is an empty string"),
    BadPolicyCase(
        name: "a parent whose name is invalid: reported once, at the name",
        toml: "[[group]]\nname = \"Research\"\nshares = 3\n\n[[group]]\nname = \"lab-a\"\nshares = 1\nparent = \"Research\"\nmatch.comm = \"x\"\n",
        line: 2, column: 1, message: "invalid group name 'Research'"),
    BadPolicyCase(
        name: "a parent with a match table, reported at the table",
        toml: #"""
            [[group]]
            name = "research"
            shares = 3
            [group.match]
            comm = "x"

            [[group]]
            name = "lab-a"
            parent = "research"
            shares = 1
            match.comm = "y"

            [[group]]
            name = "lab-b"
            parent = "research"
            shares = 2
            match.comm = "z"
            """#,
        line: 4, column: 1,
        message: "[[group]] 'research' has a match table, but it is the parent of [[group]] 'lab-a' (line 7) and [[group]] 'lab-b' (line 13): a group with child groups holds no processes itself (cgroup v2 keeps processes in leaf groups only), so its match could place none; move the match rules into a child group, or remove match from [[group]] 'research'"),
    BadPolicyCase(
        name: "a parent with an empty inline match table",
        toml: "[[group]]\nname = \"research\"\nshares = 3\n  match = {}\n[[group]]\nname = \"lab-a\"\nparent = \"research\"\nshares = 1\nmatch.comm = \"y\"\n",
        line: 4, column: 3, message: "[[group]] 'research' has a match table, but it is the parent of [[group]] 'lab-a' (line 5)"),
    BadPolicyCase(
        name: "a unit-backed group as parent",
        toml: "[[group]]\nname = \"db\"\nshares = 2\nmatch.units = [\"postgresql.service\"]\n\n[[group]]\nname = \"child\"\nshares = 1\nparent = \"db\"\nmatch.comm = \"x\"\n",
        line: 9, column: 1,
        message: "parent 'db' of [[group]] 'child' is unit-backed (units in its match table): its processes stay in their systemd units, and the agent makes no groups beneath them; choose another parent, or make [[group]] 'child' a top-level group"),
    BadPolicyCase(
        name: "a unit-backed group as child",
        toml: "[[group]]\nname = \"research\"\nshares = 3\n\n[[group]]\nname = \"db\"\nshares = 2\nparent = \"research\"\nmatch.units = [\"postgresql.service\"]\n",
        line: 8, column: 1,
        message: "parent can not be set on [[group]] 'db': it is unit-backed (units in its match table), and its processes stay in their units' cgroups, outside the agent's groups; remove parent (a unit-backed group is always top-level)"),
    BadPolicyCase(
        name: "five levels", toml: chain(["a", "b", "c", "d", "e"]), line: 19, column: 1,
        message: "[[group]] 'e' is at level 5 (a/b/c/d/e), but groups nest at most 4 levels deep; give it a parent higher up, or remove a level above it"),
    BadPolicyCase(name: "six levels: reported once, at the first group too deep", toml: chain(["a", "b", "c", "d", "e", "f"]), line: 19, column: 1, message: "[[group]] 'e' is at level 5"),
    BadPolicyCase(
        name: "a per_user group at level 4", toml: chain(["a", "b", "c", "d"], last: "per_user = true\n"), line: 16, column: 1,
        message: "per_user can not be set on [[group]] 'd': it is at level 4 (a/b/c/d), so its users' subgroups would be at level 5, but groups nest at most 4 levels deep, a per_user group's users counting as one; expected a per_user group at level 3 at most"),
    BadPolicyCase(
        name: "a per_user group as parent",
        toml: "[[group]]\nname = \"logins\"\nshares = 4\nper_user = true\nmatch.cgroup = \"/user.slice/*\"\n\n[[group]]\nname = \"x\"\nshares = 1\nparent = \"logins\"\nmatch.comm = \"x\"\n",
        line: 10, column: 1,
        message: "parent 'logins' of [[group]] 'x' is a per_user group: its children are the subgroups the agent makes for its users, so it can have no child groups; choose another parent, or remove per_user from [[group]] 'logins'"),
    BadPolicyCase(name: "group: misspelt parent", toml: plainGroup("parnet = \"a\""), line: 4, column: 1, message: "unknown key 'parnet' in [[group]] 'g'; did you mean 'parent'?"),
    BadPolicyCase(name: "parent at the top level", toml: "parent = \"a\"\n", line: 1, column: 1, message: "unknown top-level key 'parent'; 'parent' belongs in a [[group]] table"),

    // Floors within floors.
    BadPolicyCase(
        name: "children's min above their parent's min, reported at the child that tips it over",
        toml: #"""
            [[group]]
            name = "research"
            shares = 3
            min = "2"

            [[group]]
            name = "lab-a"
            parent = "research"
            shares = 1
            min = "1"
            match.comm = "a"

            [[group]]
            name = "lab-b"
            parent = "research"
            shares = 2
              min = "1.5"
            match.comm = "b"

            [[group]]
            name = "lab-c"
            parent = "research"
            shares = 2
            min = "1"
            match.comm = "c"
            """#,
        line: 17, column: 3,
        message: "the min of the groups in [[group]] 'research' add up to 2.5 CPUs with [[group]] 'lab-b' (lab-a 1 CPU + lab-b 1.5 CPUs), more than the min of [[group]] 'research' (2 CPUs); expected at most their parent's min in all: a child's guarantee is part of its parent's"),
    BadPolicyCase(
        name: "children's percentage min above their parent's max when it has no min",
        toml: "[[group]]\nname = \"research\"\nshares = 3\nmax = \"50%\"\n[[group]]\nname = \"lab-a\"\nparent = \"research\"\nshares = 1\nmin = \"30%\"\nmatch.comm = \"a\"\n"
            + "[[group]]\nname = \"lab-b\"\nparent = \"research\"\nshares = 1\nmin = \"30%\"\nmatch.comm = \"b\"\n",
        line: 15, column: 1,
        message: "add up to 60% with [[group]] 'lab-b' (lab-a 30% + lab-b 30%), more than the max of [[group]] 'research' (50%), which has no min; expected at most their parent's max in all"),
    BadPolicyCase(
        name: "top-level percentage mins above 100%, children not counted",
        toml: "[[group]]\nname = \"research\"\nshares = 3\nmin = \"60%\"\n[[group]]\nname = \"lab-a\"\nparent = \"research\"\nshares = 1\nmin = \"50%\"\nmatch.comm = \"a\"\n"
            + "[[group]]\nname = \"other\"\nshares = 1\nmin = \"50%\"\nmatch.comm = \"b\"\n",
        line: 14, column: 1,
        message: "the groups' percentage min add up to 110% with [[group]] 'other' ([[group]] 'research' 60% + [[group]] 'other' 50%)"),

    // per_user and its keys.
    BadPolicyCase(name: "per_user: a string", toml: plainGroup("per_user = \"yes\""), line: 4, column: 1, message: "per_user must be true or false, got a string"),
    BadPolicyCase(
        name: "per_user on a unit-backed group", toml: "[[group]]\nname = \"db\"\nshares = 2\nper_user = true\nuser_max = \"1\"\nmatch.units = [\"postgresql.service\"]\n",
        line: 4, column: 1,
        message: "per_user can not be set on [[group]] 'db': it is unit-backed (units in its match table), and its processes stay in their units' cgroups, which the agent never divides"),
    BadPolicyCase(name: "group: misspelt per_user", toml: plainGroup("per-user = true"), line: 4, column: 1, message: "did you mean 'per_user'?"),
    BadPolicyCase(name: "group: misspelt user_max", toml: perUserGroup("user_maxx = \"1\""), line: 5, column: 1, message: "did you mean 'user_max'?"),
    BadPolicyCase(name: "group: misspelt max_users", toml: perUserGroup("max_user = 10"), line: 5, column: 1, message: "did you mean 'max_users'?"),
    BadPolicyCase(
        name: "user_max without per_user", toml: plainGroup("user_max = \"1\""), line: 4, column: 1,
        message: "user_max in [[group]] 'g' applies only with per_user = true (it caps each user's subgroup), but it has no per_user; add per_user = true or remove user_max"),
    BadPolicyCase(
        name: "user_shares with per_user = false", toml: plainGroup("per_user = false\nuser_shares = { alice = 2 }"), line: 5, column: 1,
        message: "user_shares in [[group]] 'g' applies only with per_user = true (it weights the group's users against each other), but its per_user is false"),
    BadPolicyCase(name: "user_min without per_user", toml: plainGroup("user_min = \"1\""), line: 4, column: 1, message: "user_min in [[group]] 'g' applies only with per_user = true (it guarantees CPU to each user's subgroup)"),
    BadPolicyCase(name: "user_borrow without per_user", toml: plainGroup("user_borrow = true"), line: 4, column: 1, message: "user_borrow in [[group]] 'g' applies only with per_user = true"),
    BadPolicyCase(name: "user_burst without per_user", toml: plainGroup("user_burst = \"2\""), line: 4, column: 1, message: "user_burst in [[group]] 'g' applies only with per_user = true"),
    BadPolicyCase(name: "max_users without per_user", toml: plainGroup("max_users = 5"), line: 4, column: 1, message: "max_users in [[group]] 'g' applies only with per_user = true (it bounds how many users' subgroups the agent makes)"),
    BadPolicyCase(name: "per_user not a boolean: the user keys are not judged", toml: plainGroup("per_user = 1\nuser_max = \"1\""), line: 4, column: 1, message: "per_user must be true or false, got an integer"),

    // user_shares
    BadPolicyCase(
        name: "user_shares: not a table", toml: perUserGroup("user_shares = 3"), line: 5, column: 1,
        message: "user_shares must be a table of user names or uids and their shares, like user_shares = { alice = 3, \"1005\" = 2 }, got an integer"),
    BadPolicyCase(name: "user_shares: an array", toml: perUserGroup("user_shares = [\"alice\"]"), line: 5, column: 1, message: "got an array"),
    BadPolicyCase(
        name: "user_shares: an invalid user name", toml: perUserGroup("user_shares = { alice = 1, Bob = 3 }"), line: 5, column: 28,
        message: "invalid user name 'Bob' in user_shares; expected a user name (1..32 lowercase letters, digits, '_', '.' or '-', starting with a letter or '_', with an optional '$' at the end) or a uid as a quoted key, like \"1005\" = 2"),
    BadPolicyCase(name: "user_shares: a name starting with a digit", toml: perUserGroup("user_shares = { \"1abc\" = 3 }"), line: 5, column: 17, message: "invalid user name '1abc' in user_shares"),
    BadPolicyCase(name: "user_shares: a name of 33 characters", toml: perUserGroup("user_shares = { \(String(repeating: "a", count: 33)) = 3 }"), line: 5, column: 17, message: "invalid user name"),
    BadPolicyCase(name: "user_shares: '$' inside a name", toml: perUserGroup("user_shares = { \"a$b\" = 3 }"), line: 5, column: 17, message: "invalid user name 'a$b'"),
    BadPolicyCase(
        name: "user_shares: (uid_t)-1", toml: perUserGroup("user_shares = { \"4294967295\" = 1 }"), line: 5, column: 17,
        message: "uid 4294967295 in user_shares is out of range; expected 0..4294967294"),
    BadPolicyCase(name: "user_shares: a uid of 20 digits", toml: perUserGroup("user_shares = { \"99999999999999999999\" = 1 }"), line: 5, column: 17, message: "uid 99999999999999999999 in user_shares is out of range"),
    BadPolicyCase(
        name: "user_shares: a uid with a leading zero", toml: perUserGroup("user_shares = { \"01005\" = 1 }"), line: 5, column: 17,
        message: "uid '01005' in user_shares has a leading zero; expected a decimal uid without one, like \"1005\""),
    BadPolicyCase(name: "user_shares: zero shares", toml: perUserGroup("user_shares = { alice = 0 }"), line: 5, column: 17, message: "user_shares for 'alice' must be an integer 1..10000, got 0"),
    BadPolicyCase(name: "user_shares: too many shares", toml: perUserGroup("user_shares = { \"1005\" = 10001 }"), line: 5, column: 17, message: "user_shares for '1005' must be an integer 1..10000, got 10001"),
    BadPolicyCase(name: "user_shares: shares as a string", toml: perUserGroup("user_shares = { alice = \"3\" }"), line: 5, column: 17, message: "user_shares for 'alice' must be an integer 1..10000, got a string"),
    BadPolicyCase(
        name: "user_shares: in a table of its own", toml: "[[group]]\nname = \"logins\"\nshares = 100\nper_user = true\nmatch.comm = \"x\"\n[group.user_shares]\nalice = 1\n  bob = -2\n",
        line: 8, column: 3, message: "user_shares for 'bob' must be an integer 1..10000, got -2"),

    // max_users, metrics_users
    BadPolicyCase(
        name: "max_users: zero", toml: perUserGroup("max_users = 0"), line: 5, column: 1,
        message: "max_users must be an integer 1..65536 (the most users' subgroups the agent makes in the group at once), got 0"),
    BadPolicyCase(name: "max_users: too many", toml: perUserGroup("max_users = 65537"), line: 5, column: 1, message: "max_users must be an integer 1..65536"),
    BadPolicyCase(name: "max_users: a string", toml: perUserGroup("max_users = \"100\""), line: 5, column: 1, message: "max_users must be an integer 1..65536 (the most users' subgroups the agent makes in the group at once), got a string"),
    BadPolicyCase(name: "max_users: a float", toml: perUserGroup("max_users = 10.0"), line: 5, column: 1, message: "got a floating-point number"),
    BadPolicyCase(
        name: "metrics_users: negative", toml: "[agent]\n  metrics_users = -1\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 3,
        message: "metrics_users must be an integer 0..10000 (how many users' series of per_user groups the metrics carry, the busiest first; 0 for none), got -1"),
    BadPolicyCase(name: "metrics_users: too many", toml: "[agent]\nmetrics_users = 10001\n", line: 2, column: 1, message: "metrics_users must be an integer 0..10000"),
    BadPolicyCase(name: "metrics_users: a boolean", toml: "[agent]\nmetrics_users = true\n", line: 2, column: 1, message: "got a boolean"),
    BadPolicyCase(name: "agent: misspelt metrics_users", toml: "[agent]\nmetrics_user = 5\n", line: 2, column: 1, message: "did you mean 'metrics_users'?"),

    // The per-user limits follow the rules of the group's own.
    BadPolicyCase(
        name: "user_burst without user_borrow", toml: perUserGroup("user_max = \"1\"\nuser_burst = \"2\""), line: 6, column: 1,
        message: "user_burst in [[group]] 'logins' applies only with user_borrow = true (it bounds how far a borrowing user may go above their user_max), but it has no user_borrow; add user_borrow = true or remove user_burst"),
    BadPolicyCase(name: "user_burst with user_borrow = false", toml: perUserGroup("user_max = \"1\"\nuser_borrow = false\nuser_burst = \"2\""), line: 7, column: 1, message: "but its user_borrow is false"),
    BadPolicyCase(
        name: "user_borrow without user_max", toml: perUserGroup("user_borrow = true"), line: 5, column: 1,
        message: "user_borrow = true in [[group]] 'logins' needs a user_max: borrowing lets each user use idle capacity above their user_max, and it has no user_max to go beyond; add user_max = \"...\" or remove user_borrow"),
    BadPolicyCase(name: "user_borrow: a string", toml: perUserGroup("user_max = 1\nuser_borrow = \"yes\""), line: 6, column: 1, message: "user_borrow must be true or false, got a string"),
    BadPolicyCase(
        name: "user_min above user_max", toml: perUserGroup("user_max = 1\nuser_min = \"2\""), line: 6, column: 1,
        message: "user_min (2 CPUs) is larger than user_max (1 CPU) in [[group]] 'logins'; expected user_min <= user_max"),
    BadPolicyCase(
        name: "user_max above user_burst", toml: perUserGroup("user_max = \"50%\"\nuser_borrow = true\nuser_burst = \"40%\""), line: 5, column: 1,
        message: "user_max (50%) is larger than user_burst (40%) in [[group]] 'logins'; expected user_max <= user_burst (user_burst is how far each user may borrow above user_max)"),
    BadPolicyCase(
        name: "user_min above the group's max", toml: perUserGroup("max = \"1\"\nuser_min = \"2\""), line: 6, column: 1,
        message: "user_min (2 CPUs) is larger than the group's max (1 CPU) in [[group]] 'logins'; each user's subgroup is within the group, expected user_min <= max"),
    BadPolicyCase(name: "user_min: zero", toml: perUserGroup("user_min = \"0\""), line: 5, column: 1, message: "user_min must be more than zero, got '0'"),
    BadPolicyCase(name: "user_max: above 100%", toml: perUserGroup("user_max = \"150%\""), line: 5, column: 1, message: "user_max '150%' is more than 100% of the root's capacity"),
    BadPolicyCase(name: "user_burst: a word", toml: perUserGroup("user_max = 1\nuser_borrow = true\nuser_burst = \"lots\""), line: 7, column: 1, message: "invalid CPU amount 'lots' for user_burst"),
    BadPolicyCase(
        name: "user_min in an idle group", toml: "[[group]]\nname = \"scav\"\nidle = true\nper_user = true\nuser_min = \"1\"\nmatch.comm = \"x\"\n", line: 5, column: 1,
        message: "user_min can not be set on [[group]] 'scav': it is idle (idle = true) and runs only on CPU time no other group wants, so nothing can be guaranteed to it; remove user_min"),
    BadPolicyCase(
        name: "mode: an unknown word", toml: "[agent]\nmode = \"watch\"\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 1,
        message: "unknown mode 'watch'; expected \"enforce\" or \"observe\""),
    BadPolicyCase(
        name: "mode: not a string", toml: "[agent]\nmode = true\n[[group]]\nname = \"g\"\nshares = 1\nmatch.comm = \"x\"\n", line: 2, column: 1,
        message: "mode must be a string, \"enforce\" or \"observe\", got a boolean"),
]

@Test("bad trees and per_user groups report one problem, located, saying what is expected", arguments: treeBadPolicies)
func treeBadPolicy(_ c: BadPolicyCase) {
    c.expectOneLocatedProblem()
}

@Test func everyTreeProblemIsReportedInSourceOrder() {
    let toml = #"""
        [[group]]
        name = "a"
        shares = 1
        parent = "a"

        [[group]]
        name = "b"
        shares = 1
        parent = "c"

        [[group]]
        name = "c"
        shares = 1
        parent = "b"

        [[group]]
        name = "d"
        shares = 1
        parent = "nowhere"
        user_max = "1"
        match.comm = "x"

        [[group]]
        name = "e"
        shares = 1
        per_user = true
        user_shares = { Eve = 1, "-1" = 2, bob = 0 }
        match.comm = "y"
        """#
    do {
        _ = try PolicyParser.parse(toml, file: "tree.toml")
        Issue.record("expected an error")
    } catch {
        let expected = [
            ExpectedNote(line: 4, column: 1, message: "[[group]] 'a' names itself as its parent"),
            ExpectedNote(line: 9, column: 1, message: "[[group]] 'b' is its own ancestor: the parents make a cycle, b -> c -> b"),
            ExpectedNote(line: 19, column: 1, message: "unknown parent 'nowhere' in [[group]] 'd'"),
            ExpectedNote(line: 20, column: 1, message: "user_max in [[group]] 'd' applies only with per_user = true"),
            ExpectedNote(line: 27, column: 17, message: "invalid user name 'Eve' in user_shares"),
            ExpectedNote(line: 27, column: 26, message: "invalid user name '-1' in user_shares"),
            ExpectedNote(line: 27, column: 36, message: "user_shares for 'bob' must be an integer 1..10000, got 0"),
        ]
        #expect(error.problems.count == expected.count, "\(error)")
        for (got, want) in zip(error.problems, expected) {
            #expect((got.location.line, got.location.column) == (want.line, want.column), "\(got)")
            #expect(got.message.hasPrefix(want.message), "\(got)")
        }
        #expect(error.problems.allSatisfy { $0.location.file == "tree.toml" })
    }
}

// MARK: - Unknown user names

@Test func unknownUserNamesAreWarningsWhenTheCallerCanResolveThem() throws {
    let toml = #"""
        [[group]]
        name = "logins"
        shares = 1
        per_user = true
        user_shares = { alice = 3, bob = 2, "1005" = 1 }
        [group.match]
        users = ["carol", "alice", 1001]
        """#
    let known: [String: UInt32] = ["alice": 1000]
    let policy = try PolicyParser.parse(toml, file: "w.toml", resolveUser: { known[$0] })
    #expect(policy.groups.count == 1)
    #expect(policy.warnings.map(\.location) == [SourceLocation(file: "w.toml", line: 5, column: 28), SourceLocation(file: "w.toml", line: 7, column: 10)])
    #expect(policy.warnings.first?.message == "user 'bob' in user_shares does not exist on this host, so its entry applies to no one")
    #expect(policy.warnings.last?.message == "user 'carol' in users does not exist on this host, so it matches no process")

    // Without a way to resolve names (the default), names are not judged.
    #expect(try PolicyParser.parse(toml, file: "w.toml").warnings.isEmpty)
    #expect(try PolicyParser.validate(toml, file: "w.toml", capacity: 1, resolveUser: { known[$0] }).warnings.count == 2)
}

// MARK: - capacityProblems

let treeCapacityCases: [CapacityCase] = [
    CapacityCase(
        name: "mixed units: children's min above their parent's percentage min",
        toml: "[[group]]\nname = \"research\"\nshares = 3\nmin = \"50%\"\n[[group]]\nname = \"lab-a\"\nparent = \"research\"\nshares = 1\nmin = 1\nmatch.comm = \"a\"\n"
            + "[[group]]\nname = \"lab-b\"\nparent = \"research\"\nshares = 1\nmin = 1.5\nmatch.comm = \"b\"\n",
        capacity: 4,
        problems: [(11, "the min of the groups in [[group]] 'research' add up to 2.5 CPUs (lab-a 1 CPU + lab-b 1.5 CPUs), more than its min 50% (2 CPUs of 4) on a root with 4 CPUs; expected at most their parent's min in all, from [[group]] 'research/lab-b' on they do not fit")]),
    CapacityCase(
        name: "mixed units: the same fits 8 CPUs",
        toml: "[[group]]\nname = \"research\"\nshares = 3\nmin = \"50%\"\n[[group]]\nname = \"lab-a\"\nparent = \"research\"\nshares = 1\nmin = 1\nmatch.comm = \"a\"\n"
            + "[[group]]\nname = \"lab-b\"\nparent = \"research\"\nshares = 1\nmin = 1.5\nmatch.comm = \"b\"\n",
        capacity: 8),
    CapacityCase(
        name: "a parent without min counts its children's min against the root",
        toml: "[[group]]\nname = \"research\"\nshares = 3\n[[group]]\nname = \"lab-a\"\nparent = \"research\"\nshares = 1\nmin = 1\nmatch.comm = \"a\"\n"
            + "[[group]]\nname = \"lab-b\"\nparent = \"research\"\nshares = 1\nmin = \"25%\"\nmatch.comm = \"b\"\n"
            + "[[group]]\nname = \"other\"\nshares = 1\nmin = 1\nmatch.comm = \"c\"\n",
        capacity: 2,
        problems: [(16, "the groups' min add up to 2.5 CPUs but the root has 2"), (16, "(research 1.5 CPUs (its groups' min) + other 1 CPU)")]),
    CapacityCase(
        name: "mixed units: children's min above their parent's max",
        toml: "[[group]]\nname = \"research\"\nshares = 3\nmax = 1\n[[group]]\nname = \"lab-a\"\nparent = \"research\"\nshares = 1\nmin = \"50%\"\nmatch.comm = \"a\"\n",
        capacity: 4, problems: [(5, "add up to 2 CPUs (lab-a 50% (2 CPUs of 4)), more than its max 1 CPU on a root with 4 CPUs")]),
    CapacityCase(
        name: "mixed units: user_min above the group's max",
        toml: "[[group]]\nname = \"logins\"\nshares = 1\nmax = \"25%\"\nper_user = true\nuser_min = 2\nmatch.comm = \"x\"\n", capacity: 4,
        problems: [(1, "in [[group]] 'logins', user_min 2 CPUs is larger than max 25% (1 CPU of 4) on a root with 4 CPUs; expected user_min <= max")]),
    CapacityCase(
        name: "mixed units: user_max above user_burst",
        toml: "[[group]]\nname = \"logins\"\nshares = 1\nper_user = true\nuser_max = 2\nuser_borrow = true\nuser_burst = \"25%\"\nmatch.comm = \"x\"\n", capacity: 4,
        problems: [(1, "in [[group]] 'logins', user_max 2 CPUs is larger than user_burst 25% (1 CPU of 4) on a root with 4 CPUs; expected user_max <= user_burst")]),
]

@Test("capacityProblems of trees and per_user groups", arguments: treeCapacityCases)
func treeCapacity(_ c: CapacityCase) throws {
    let policy = try PolicyParser.parse(c.toml, file: "/etc/fairshare/policy.toml")
    let problems = PolicyParser.capacityProblems(policy, capacity: c.capacity)
    // Several expected entries on one line may be pieces of one problem.
    #expect(Set(problems.map(\.location.line)) == Set(c.problems.map(\.line)), "\(problems)")
    for want in c.problems {
        #expect(problems.contains { $0.location.line == want.line && $0.location.column == 1 && $0.message.contains(want.message) }, "\(want.message) in \(problems)")
    }
}

// MARK: - The shipped policy's examples

/// The commented-out groups in the default policy written "#   [[group]]" (each line behind
/// "#   ") are valid when uncommented.
@Test func defaultPolicyTreeExamplesAreValid() throws {
    let text = try String(contentsOf: configDirectory.appending(path: "policy.toml"), encoding: .utf8)
    var inExample = false
    let uncommented = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
        if line == "#   [[group]]" { inExample = true }
        guard inExample, line.hasPrefix("#   ") else {
            inExample = false
            return String(line)
        }
        return String(line.dropFirst(4))
    }.joined(separator: "\n")
    let policy = try PolicyParser.parse(uncommented, file: "policy.toml")
    #expect(policy.warnings.isEmpty, "\(policy.warnings)")
    let logins = try #require(policy.group(named: GroupName("logins")!))
    #expect(logins.perUser == PerUserPolicy(ceiling: .cpus(1), borrow: true, burst: .percent(75)))
    let research = try #require(policy.group(named: GroupName("research")!))
    #expect(policy.isInterior(research))
    #expect(policy.children(of: research.name).map(\.shortName) == ["lab-a", "lab-b"])
    #expect(policy.children(of: research.name).map(\.shares.value) == [100, 200])
    #expect(research.shares == Shares(300))
    // user_max "1" above user_burst "75%" needs 2 CPUs (the comment above the example says so).
    #expect(PolicyParser.capacityProblems(policy, capacity: 2).isEmpty)
    #expect(PolicyParser.capacityProblems(policy, capacity: 1).map(\.message) == [
        "in [[group]] 'logins', user_max 1 CPU is larger than user_burst 75% (0.75 CPUs of 1) on a root with 1 CPU; expected user_max <= user_burst"
    ])
}
