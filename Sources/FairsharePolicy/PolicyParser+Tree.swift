/// `parent`: groups nested in groups. Each `[[group]]` is first checked on its own (a
/// `GroupDraft`); once every group is known, `resolveTree` checks the tree they make (parents
/// that exist, no cycles, depth, what a parent may be, floors within floors) and names each group
/// by its path.
extension PolicyValidator {
    /// The `parent` key as written.
    enum ParentKey: Equatable {
        case absent
        /// Given but not a usable string (reported).
        case invalid
        case named(String)
    }

    /// One `[[group]]` checked on its own, with what the tree's checks need of it.
    struct GroupDraft {
        /// The `name` key, when it is a string.
        var rawName: String?
        /// The name, when valid and the first group to use it.
        var name: GroupName?
        var label: String
        var path: Path
        var header: Position
        var parent: ParentKey
        var unitBacked: Bool
        /// A `match` key is present (a table or not).
        var hasMatch: Bool
        /// `per_user` as written (nil: invalid).
        var perUser: Bool?
        /// `min` and `max` as parsed, also when something else in the group is wrong.
        var floor: CPUAmount?
        var ceiling: CPUAmount?
        /// The group, named by its short name; nil when anything in it is wrong.
        var group: GroupPolicy?
    }

    mutating func parentKey(_ table: TOMLTable, at path: Path) -> ParentKey {
        guard let v = table["parent"] else { return .absent }
        let keyPath = path + [.key("parent")]
        guard let s = v.string else {
            error(at: keyPath, "parent must be a string, the name of another [[group]] like \"research\", got \(Self.describe(v))")
            return .invalid
        }
        guard !s.isEmpty else {
            error(at: keyPath, "parent is an empty string; expected the name of another [[group]], or no parent for a top-level group")
            return .invalid
        }
        return .named(s)
    }

    /// Checks the tree the drafts make and returns the valid groups in file order, each named
    /// by its path (`research/lab-a`) and knowing its parent's path.
    mutating func resolveTree(_ drafts: [GroupDraft]) -> [GroupPolicy] {
        let count = drafts.count
        var byName: [String: Int] = [:]
        var writtenNames: Set<String> = []
        for (i, d) in drafts.enumerated() {
            if let raw = d.rawName { writtenNames.insert(raw) }
            if let name = d.name { byName[name.rawValue] = i }
        }
        let knownNames = drafts.compactMap { $0.name?.rawValue }

        // parentOf[i]: the draft that is group i's parent. placed[i] is false when its parent key
        // is wrong (reported), so where it sits in the tree is unknown.
        var parentOf = [Int?](repeating: nil, count: count)
        var placed = [Bool](repeating: true, count: count)
        for (i, d) in drafts.enumerated() {
            switch d.parent {
            case .absent: continue
            case .invalid: placed[i] = false
            case .named(let p):
                parentOf[i] = link(d, to: p, byName: byName, writtenNames: writtenNames, knownNames: knownNames, drafts: drafts)
                placed[i] = parentOf[i] != nil
            }
        }

        let inCycle = reportCycles(drafts, parentOf: parentOf)

        // Levels: 1 at the top; nil where unknowable (in or beneath a cycle, or beneath a group
        // whose parent key is wrong).
        var level = [Int?](repeating: nil, count: count)
        var known = [Bool](repeating: false, count: count)
        for i in 0..<count where !known[i] {
            var chain: [Int] = []
            var above: Int?  // the level of the group above the chain (0: none); nil: unknowable
            var k = i
            while true {
                if known[k] {
                    above = level[k]
                    break
                }
                chain.append(k)
                if inCycle[k] || !placed[k] {
                    above = nil
                    break
                }
                guard let p = parentOf[k] else {
                    above = 0
                    break
                }
                k = p
            }
            for m in chain.reversed() {
                level[m] = above.map { $0 + 1 }
                known[m] = true
                above = level[m]
            }
        }
        func pathText(_ i: Int) -> String {
            var names: [String] = []
            var k: Int? = i
            while let m = k, names.count <= count {
                names.append(drafts[m].rawName ?? "?")
                k = parentOf[m]
            }
            return names.reversed().joined(separator: "/")
        }
        for (i, d) in drafts.enumerated() {
            guard let l = level[i] else { continue }
            // Only the first group too deep on its branch: the ones beneath it move with it.
            if l == Policy.maxDepth + 1 {
                error(
                    at: d.path + [.key("parent")],
                    "\(d.label) is at level \(l) (\(pathText(i))), but groups nest at most \(Policy.maxDepth) levels deep; give it a parent higher up, or remove a level above it")
            } else if l == Policy.maxDepth && d.perUser == true {
                error(
                    at: d.path + [.key("per_user")],
                    "per_user can not be set on \(d.label): it is at level \(l) (\(pathText(i))), so its users' subgroups would be at level \(l + 1), but groups nest at most \(Policy.maxDepth) levels deep, a per_user group's users counting as one; expected a per_user group at level \(Policy.maxDepth - 1) at most")
            }
        }

        var children = [[Int]](repeating: [], count: count)
        for i in 0..<count {
            if let p = parentOf[i], !inCycle[p] { children[p].append(i) }
        }
        for (j, d) in drafts.enumerated() where !children[j].isEmpty {
            if d.hasMatch {
                let kids = children[j].map { "\(drafts[$0].label) (line \(drafts[$0].header.line))" }
                error(
                    at: d.path + [.key("match")],
                    "\(d.label) has a match table, but it is the parent of \(Self.list(kids)): a group with child groups holds no processes itself (cgroup v2 keeps processes in leaf groups only), so its match could place none; move the match rules into a child group, or remove match from \(d.label)")
            }
            checkChildFloors(of: j, children[j], drafts)
        }

        var groups: [GroupPolicy] = []
        for (i, d) in drafts.enumerated() {
            guard var group = d.group, level[i] != nil, let name = GroupName(path: pathText(i)) else { continue }
            group.name = name
            group.parent = name.parent
            groups.append(group)
        }
        return groups
    }

    /// The draft `d`'s parent named `p`, or nil (reported) when it can not be that.
    private mutating func link(
        _ d: GroupDraft, to p: String, byName: [String: Int], writtenNames: Set<String>, knownNames: [String], drafts: [GroupDraft]
    ) -> Int? {
        let at = d.path + [.key("parent")]
        if p == d.rawName {
            error(at: at, "\(d.label) names itself as its parent; expected the name of another [[group]], or no parent for a top-level group")
            return nil
        }
        if d.unitBacked {
            error(
                at: at,
                "parent can not be set on \(d.label): it is unit-backed (units in its match table), and its processes stay in their units' cgroups, outside the agent's groups; remove parent (a unit-backed group is always top-level)")
            return nil
        }
        guard let j = byName[p] else {
            // A group with that name whose name is invalid or taken: reported there.
            if writtenNames.contains(p) { return nil }
            if p.contains("/"), let last = p.split(separator: "/").last.map(String.init), byName[last] != nil {
                error(at: at, "parent '\(Self.excerpt(p))' of \(d.label) is a path; expected just the name of the parent [[group]] (names are unique in a policy): parent = \"\(last)\"")
                return nil
            }
            var message = "unknown parent '\(Self.excerpt(p))' in \(d.label): no [[group]] has that name"
            if let suggestion = KeySuggestion.closest(to: p, in: knownNames.filter { $0 != d.rawName }) {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += "; expected the name of another [[group]] in this policy"
            }
            error(at: at, message)
            return nil
        }
        let parent = drafts[j]
        if parent.unitBacked {
            error(
                at: at,
                "parent '\(p)' of \(d.label) is unit-backed (units in its match table): its processes stay in their systemd units, and the agent makes no groups beneath them; choose another parent, or make \(d.label) a top-level group")
            return nil
        }
        if parent.perUser == true {
            error(
                at: at,
                "parent '\(p)' of \(d.label) is a per_user group: its children are the subgroups the agent makes for its users, so it can have no child groups; choose another parent, or remove per_user from \(parent.label)")
            return nil
        }
        return j
    }

    /// Reports each cycle of parents once, at the `parent` key of its first group in the file;
    /// true for each group in a cycle or beneath one (its place in the tree is unknown).
    private mutating func reportCycles(_ drafts: [GroupDraft], parentOf: [Int?]) -> [Bool] {
        let count = drafts.count
        // 0: not seen, 1: on the current walk, 2: done.
        var state = [UInt8](repeating: 0, count: count)
        var inCycle = [Bool](repeating: false, count: count)
        for start in 0..<count where state[start] == 0 {
            var walk: [Int] = []
            var next: Int? = start
            while let k = next, state[k] == 0 {
                state[k] = 1
                walk.append(k)
                next = parentOf[k]
            }
            if let k = next, state[k] == 1 {
                let cycle = walk[walk.firstIndex(of: k)!...]
                let first = cycle.min()!
                var names: [String] = []
                var m = first
                repeat {
                    names.append(drafts[m].rawName ?? "?")
                    m = parentOf[m]!
                } while m != first
                names.append(names[0])
                error(
                    at: drafts[first].path + [.key("parent")],
                    "\(drafts[first].label) is its own ancestor: the parents make a cycle, \(names.joined(separator: " -> ")) (each group's parent after it); groups form a tree, so give one of them a parent outside the cycle, or none")
                for w in walk { inCycle[w] = true }
            } else if let k = next, inCycle[k] {
                for w in walk { inCycle[w] = true }
            }
            for w in walk { state[w] = 2 }
        }
        return inCycle
    }

    /// The children's `min` add up to at most their parent's `min` (or, when it has none, its
    /// `max`): a child's guarantee is part of its parent's. Checked here when all are in the same
    /// unit; mixed units need the capacity (`capacityProblems`). Reported at the child's `min`
    /// that tips the sum over.
    private mutating func checkChildFloors(of j: Int, _ children: [Int], _ drafts: [GroupDraft]) {
        let parent = drafts[j]
        guard let bound = parent.floor ?? parent.ceiling else { return }
        let boundKey = parent.floor != nil ? "min" : "max"
        func value(_ a: CPUAmount) -> (isPercent: Bool, number: Double) {
            switch a {
            case .cpus(let c): (false, c)
            case .percent(let p): (true, p)
            }
        }
        let floors = children.compactMap { i in drafts[i].floor.map { (draft: drafts[i], amount: $0) } }
        let unit = value(bound).isPercent
        guard !floors.isEmpty, floors.allSatisfy({ value($0.amount).isPercent == unit }) else { return }
        let limit = value(bound).number
        var sum = 0.0
        for (n, floor) in floors.enumerated() {
            sum += value(floor.amount).number
            guard sum > limit + 1e-9 * max(1, limit) else { continue }
            let terms = floors[...n].map { "\($0.draft.rawName ?? "?") \(Self.describeAmount($0.amount))" }.joined(separator: " + ")
            let total = unit ? Self.formatNumber(sum) + "%" : Self.describeCPUs(sum)
            let which = "the \(boundKey) of \(parent.label) (\(Self.describeAmount(bound)))" + (boundKey == "max" ? ", which has no min" : "")
            error(
                at: floor.draft.path + [.key("min")],
                "the min of the groups in \(parent.label) add up to \(total) with \(floor.draft.label) (\(terms)), more than \(which); expected at most their parent's \(boundKey) in all: a child's guarantee is part of its parent's")
            return
        }
    }

    /// "a", "a and b", "a, b and c"
    static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }
}
