/// The status's groups as a tree, for reading: each group followed by its children (nested
/// groups in policy order, then its users by usage, busiest first), with its depth; beyond
/// `foldUsersBeyond` users of a group, one row says how many more there are.
public enum StatusTree {
    public struct Row: Sendable, Equatable {
        public var group: GroupStatus
        public var depth: Int
        /// A row standing for this many users left out (its `group` is the last one shown's parent's).
        public var foldedUsers: Int?
    }

    public static func rows(_ groups: [GroupStatus], foldUsersBeyond limit: Int?) -> [Row] {
        let children = Dictionary(grouping: groups, by: \.parent)
        var out: [Row] = []
        func visit(_ parent: String?, _ depth: Int) {
            let kids = children[parent] ?? []
            for g in kids where g.uid == nil {
                out.append(Row(group: g, depth: depth))
                visit(g.name, depth + 1)
            }
            let users = kids.filter { $0.uid != nil }.sorted { ($0.cpuUsageCPUs ?? 0, $1.name) > ($1.cpuUsageCPUs ?? 0, $0.name) }
            let shown = limit.map { users.prefix($0) } ?? users[...]
            out += shown.map { Row(group: $0, depth: depth) }
            if shown.count < users.count, let last = shown.last ?? users.first {
                out.append(Row(group: last, depth: depth, foldedUsers: users.count - shown.count))
            }
        }
        visit(nil, 0)
        return out
    }
}
