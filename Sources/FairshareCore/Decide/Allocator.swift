/// Weighted max-min fair allocation of the root's CPU capacity among groups (water-filling),
/// with floors, ceilings and borrowing. Pure and deterministic; O(n log n) in the groups.
///
/// Invariants (checked by randomized tests):
/// 1. Allocations add up to at most the capacity.
/// 2. No group gets less than min(floor, demand) (floors fit the capacity: validated).
/// 3. No group gets more than its demand, nor more than its ceiling unless it borrows, and a
///    borrower never more than its burst.
/// 4. Capacity left after every group's owned allocation is borrowed only when no non-borrowing
///    group wants more; among groups that want more, capacity goes in proportion to weight.
public enum Allocator {
    public struct Claim: Sendable, Equatable {
        public var group: GroupName
        /// Effective weight (shares times the fairness factor), > 0.
        public var weight: Double
        /// CPUs guaranteed whenever the group wants them.
        public var floor: Double
        /// Hard limit without borrowing (CPUs); .infinity for none.
        public var ceiling: Double
        /// Limit while borrowing (CPUs); equal to `ceiling` when the group does not borrow.
        public var burst: Double
        /// CPUs the group would use if it could (.infinity: hungry, wants all it can get).
        public var demand: Double

        public init(group: GroupName, weight: Double, floor: Double = 0, ceiling: Double = .infinity, burst: Double? = nil, demand: Double) {
            self.group = group
            self.weight = weight
            self.floor = floor
            self.ceiling = ceiling
            self.burst = Swift.max(burst ?? ceiling, ceiling)
            self.demand = demand
        }

        public var borrows: Bool { burst > ceiling }
    }

    public enum Limit: String, Sendable, Equatable, Codable {
        /// Got its weighted share of what was contested.
        case share
        /// Held up by its floor (more than its weighted share).
        case floor
        /// Wants no more than it got.
        case demand
        /// Stopped at its ceiling (max).
        case ceiling
        /// Above its ceiling on idle capacity.
        case borrowing
        /// Borrowing, stopped at its burst.
        case burst
        /// An idle group (cpu.idle = 1) that wants more than the other groups leave it.
        case idle
    }

    public struct Share: Sendable, Equatable {
        public var group: GroupName
        /// CPUs.
        public var allocation: Double
        /// The part above the ceiling, from idle capacity.
        public var borrowed: Double
        public var limit: Limit
    }

    public struct Result: Sendable, Equatable {
        public var shares: [Share]
        /// The water level of the contested phase: a hungry group at its weighted share gets
        /// weight x level CPUs. Used to turn floors into weights.
        public var level: Double
        /// Capacity nobody wants.
        public var idle: Double

        public func share(of g: GroupName) -> Share? { shares.first { $0.group == g } }
    }

    public static func allocate(_ claims: [Claim], capacity: Double) -> Result {
        let n = claims.count
        guard n > 0, capacity > 0 else {
            return Result(shares: claims.map { Share(group: $0.group, allocation: 0, borrowed: 0, limit: .demand) }, level: 0, idle: Swift.max(capacity, 0))
        }
        // 1. Floors, as far as wanted. Should they exceed the capacity (validation prevents
        //    it), they are scaled down alike.
        var base = claims.map { Swift.min($0.floor, $0.demand, $0.burst) }
        let floorSum = base.reduce(0, +)
        if floorSum > capacity { base = base.map { $0 * capacity / floorSum } }

        // 2. Owned capacity: each group up to min(demand, ceiling), by weight, above its floor.
        let owned = claims.map { Swift.min($0.demand, $0.ceiling) }
        let upper1 = zip(owned, base).map { Swift.max($0, $1) }
        let (level, afterOwned) = waterFill(weights: claims.map(\.weight), lower: base, upper: upper1, total: capacity)

        // 3. What is left goes to borrowers that want more, by weight, up to their burst.
        var alloc = afterOwned
        var left = capacity - alloc.reduce(0, +)
        if left > epsilon {
            let upper2 = claims.indices.map { i in claims[i].borrows ? Swift.max(alloc[i], Swift.min(claims[i].demand, claims[i].burst)) : alloc[i] }
            let total = Swift.min(capacity, upper2.reduce(0, +))
            (_, alloc) = waterFill(weights: claims.map(\.weight), lower: alloc, upper: upper2, total: total)
            left = capacity - alloc.reduce(0, +)
        }

        let shares = claims.indices.map { i -> Share in
            let c = claims[i]
            let a = alloc[i]
            let borrowed = Swift.max(0, a - c.ceiling)
            let limit: Limit
            if borrowed > epsilon {
                limit = a >= c.burst - epsilon ? .burst : (a >= c.demand - epsilon ? .demand : .borrowing)
            } else if base[i] > epsilon && a <= base[i] + epsilon && c.weight * level < base[i] - epsilon {
                // Held up by its floor (even if that is all it wants: without the floor it would
                // get less).
                limit = .floor
            } else if a >= c.demand - epsilon {
                limit = .demand
            } else if a >= c.ceiling - epsilon {
                limit = .ceiling
            } else {
                limit = .share
            }
            return Share(group: c.group, allocation: a, borrowed: borrowed, limit: limit)
        }
        return Result(shares: shares, level: level, idle: Swift.max(0, left))
    }

    static let epsilon = 1e-9

    /// a_i = clamp(w_i x level, lower_i, upper_i) with the level chosen so the a_i add up to
    /// `total` (or every a_i = upper_i if even that is less). Sorting the breakpoints makes it
    /// O(n log n). Requires lower_i <= upper_i and sum(lower) <= total.
    static func waterFill(weights: [Double], lower: [Double], upper: [Double], total: Double) -> (level: Double, allocation: [Double]) {
        let n = weights.count
        let upperSum = upper.reduce(0, +)
        if upperSum <= total + epsilon { return (.infinity, upper) }
        // f(level) = sum clamp(w*level, lo, hi) is piecewise linear and non-decreasing; its
        // breakpoints are lo/w (starts rising) and hi/w (stops rising).
        var points: [(at: Double, slope: Double)] = []
        points.reserveCapacity(2 * n)
        for i in 0..<n where weights[i] > 0 && upper[i] > lower[i] {
            points.append((lower[i] / weights[i], weights[i]))
            points.append((upper[i] / weights[i], -weights[i]))
        }
        points.sort { $0.at < $1.at }
        var value = lower.reduce(0, +)  // f at level 0 (every group at its lower bound)
        var slope = 0.0
        var level = 0.0
        for p in points {
            let next = value + slope * (p.at - level)
            if next >= total - epsilon {
                break
            }
            value = next
            level = p.at
            slope += p.slope
        }
        if slope > 0 { level += (total - value) / slope }
        let alloc = (0..<n).map { i in Swift.min(upper[i], Swift.max(lower[i], weights[i] * level)) }
        return (level, alloc)
    }
}
