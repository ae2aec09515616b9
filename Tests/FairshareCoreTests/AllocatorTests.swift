import FairshareCore
import FairshareTestSupport
import Testing

func g(_ s: String) -> GroupName { GroupName(s)! }

@Suite struct AllocatorTests {
    func alloc(_ claims: [Allocator.Claim], _ capacity: Double = 2) -> [String: Double] {
        let r = Allocator.allocate(claims, capacity: capacity)
        return Dictionary(uniqueKeysWithValues: r.shares.map { ($0.group.rawValue, ($0.allocation * 1e6).rounded() / 1e6) })
    }

    @Test func allHungryGetCapacityByWeight() {
        let r = alloc([
            .init(group: g("a"), weight: 1, demand: .infinity),
            .init(group: g("b"), weight: 2, demand: .infinity),
            .init(group: g("c"), weight: 5, demand: .infinity),
        ])
        #expect(r == ["a": 0.25, "b": 0.5, "c": 1.25])
    }

    @Test func anIdleGroupsShareGoesToTheHungryByWeight() {
        let r = alloc([
            .init(group: g("a"), weight: 1, demand: .infinity),
            .init(group: g("b"), weight: 2, demand: .infinity),
            .init(group: g("c"), weight: 5, demand: 0.1),
        ])
        // c takes 0.1; a and b split the other 1.9 as 1 : 2.
        #expect(r == ["a": 0.633333, "b": 1.266667, "c": 0.1])
    }

    @Test func floorHoldsAmongHeavierGroups() {
        let result = Allocator.allocate([
            .init(group: g("small"), weight: 1, floor: 1, demand: .infinity),
            .init(group: g("big1"), weight: 10, demand: .infinity),
            .init(group: g("big2"), weight: 10, demand: .infinity),
        ], capacity: 2)
        #expect(result.share(of: g("small"))?.allocation == 1)
        #expect(result.share(of: g("small"))?.limit == .floor)
        #expect(abs(result.share(of: g("big1"))!.allocation - 0.5) < 1e-9)
        // The level turns the floor into a weight: small needs 1 / level.
        #expect(abs(result.level - 0.05) < 1e-9)
    }

    @Test func floorIsNotGivenToAGroupThatDoesNotWantIt() {
        let r = alloc([
            .init(group: g("small"), weight: 1, floor: 1, demand: 0.2),
            .init(group: g("big"), weight: 10, demand: .infinity),
        ])
        #expect(r == ["small": 0.2, "big": 1.8])
    }

    @Test func ceilingWithoutBorrowingLeavesCapacityIdle() {
        let result = Allocator.allocate([
            .init(group: g("capped"), weight: 10, ceiling: 0.5, demand: .infinity),
            .init(group: g("other"), weight: 1, demand: 0.3),
        ], capacity: 2)
        #expect(result.share(of: g("capped"))?.allocation == 0.5)
        #expect(result.share(of: g("capped"))?.limit == .ceiling)
        #expect(abs(result.idle - 1.2) < 1e-9)
    }

    @Test func borrowerTakesIdleCapacityUpToBurstAndGivesItBack() {
        let idleOwner = Allocator.allocate([
            .init(group: g("capped"), weight: 1, ceiling: 0.5, burst: 1.5, demand: .infinity),
            .init(group: g("owner"), weight: 1, demand: 0.2),
        ], capacity: 2)
        #expect(idleOwner.share(of: g("capped"))?.allocation == 1.5)
        #expect(idleOwner.share(of: g("capped"))?.borrowed == 1.0)
        #expect(idleOwner.share(of: g("capped"))?.limit == .burst)
        // The owner is hungry again: the borrowed capacity is reclaimed.
        let hungryOwner = Allocator.allocate([
            .init(group: g("capped"), weight: 1, ceiling: 0.5, burst: 1.5, demand: .infinity),
            .init(group: g("owner"), weight: 1, demand: .infinity),
        ], capacity: 2)
        #expect(hungryOwner.share(of: g("capped"))?.allocation == 0.5)
        #expect(hungryOwner.share(of: g("owner"))?.allocation == 1.5)
    }

    @Test func borrowersShareIdleCapacityByWeight() {
        let r = alloc([
            .init(group: g("x"), weight: 1, ceiling: 0.25, burst: 2, demand: .infinity),
            .init(group: g("y"), weight: 3, ceiling: 0.25, burst: 2, demand: .infinity),
        ])
        #expect(r == ["x": 0.5, "y": 1.5])
    }

    @Test func degenerateInputs() {
        #expect(Allocator.allocate([], capacity: 2).idle == 2)
        let r = Allocator.allocate([.init(group: g("a"), weight: 1, demand: .infinity)], capacity: 0)
        #expect(r.shares.first?.allocation == 0)
    }

    /// Invariants on random claims (deterministic seed so a failure can be replayed).
    @Test func randomizedInvariants() {
        var rng = SplitMix64(seed: 0x5eed)
        for round in 0..<3000 {
            let capacity = Double(Int.random(in: 1...64, using: &rng))
            let n = Int.random(in: 1...12, using: &rng)
            var floorBudget = capacity
            let claims = (0..<n).map { i -> Allocator.Claim in
                let floor = Bool.random(using: &rng) ? Double.random(in: 0...(floorBudget / 2), using: &rng) : 0
                floorBudget -= floor
                let ceiling = Bool.random(using: &rng) ? floor + Double.random(in: 0...capacity, using: &rng) : .infinity
                let burst: Double? = ceiling.isFinite && Bool.random(using: &rng) ? ceiling + Double.random(in: 0...capacity, using: &rng) : nil
                let demand = Bool.random(using: &rng) ? .infinity : Double.random(in: 0...capacity, using: &rng)
                return .init(group: GroupName("g\(i)")!, weight: Double(Int.random(in: 1...10000, using: &rng)), floor: floor,
                             ceiling: ceiling, burst: burst, demand: demand)
            }
            let r = Allocator.allocate(claims, capacity: capacity)
            let total = r.shares.reduce(0) { $0 + $1.allocation }
            let tol = 1e-6 * capacity
            #expect(total <= capacity + tol, "round \(round): total \(total) > capacity \(capacity)")
            for (c, s) in zip(claims, r.shares) {
                #expect(s.allocation >= Swift.min(c.floor, c.demand) - tol, "round \(round): \(c.group) below its floor")
                #expect(s.allocation <= c.demand + tol, "round \(round): \(c.group) above its demand")
                #expect(s.allocation <= c.burst + tol, "round \(round): \(c.group) above its burst")
                if !c.borrows { #expect(s.allocation <= c.ceiling + tol, "round \(round): \(c.group) above its ceiling") }
            }
            // Work conservation: capacity is idle only if every group has all it may have.
            if r.idle > tol {
                for (c, s) in zip(claims, r.shares) {
                    #expect(s.allocation >= Swift.min(c.demand, c.burst) - tol, "round \(round): \(c.group) wants more while \(r.idle) is idle")
                }
            }
            // Proportionality: two groups at their weighted share (limit .share) got capacity in
            // proportion to their weights.
            let atShare = zip(claims, r.shares).filter { $0.1.limit == .share }
            if atShare.count >= 2, let first = atShare.first {
                for other in atShare.dropFirst() {
                    let lhs = first.1.allocation * other.0.weight
                    let rhs = other.1.allocation * first.0.weight
                    #expect(abs(lhs - rhs) <= 1e-6 * Swift.max(lhs, rhs, 1), "round \(round): shares not proportional")
                }
            }
            // Borrowing only when no non-borrower wants more than it got within its ceiling.
            if r.shares.contains(where: { $0.borrowed > tol }) {
                for (c, s) in zip(claims, r.shares) {
                    #expect(s.allocation >= Swift.min(c.demand, c.ceiling) - tol, "round \(round): \(c.group) short while others borrow")
                }
            }
        }
    }
}

