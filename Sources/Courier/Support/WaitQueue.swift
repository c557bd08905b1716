import DequeModule

/// Waiters (consumers, gate entrants) served in arrival order, each under a token, where one that stops
/// waiting is removed in constant time: N waiters that all give up cost O(N), not O(N²).
///
/// A value type with no locking of its own; keep it inside the state your lock guards.
public struct WaitQueue<Waiter> {
    /// Arrival order; may still hold tokens of waiters that left, skipped when reached.
    private var order: Deque<UInt64> = []
    private var waiters: [UInt64: Waiter] = [:]

    /// An empty queue.
    public init() {}

    /// How many waiters wait.
    public var count: Int { waiters.count }
    /// Whether nobody waits.
    public var isEmpty: Bool { waiters.isEmpty }

    /// Adds a waiter at the back under `token`, which must be unique among waiting tokens.
    public mutating func append(_ token: UInt64, _ waiter: Waiter) {
        order.append(token)
        waiters[token] = waiter
    }

    /// Removes and returns the waiter that has waited longest, or nil when nobody waits.
    public mutating func popFirst() -> Waiter? {
        while let token = order.popFirst() {
            if let waiter = waiters.removeValue(forKey: token) { return waiter }
        }
        return nil
    }

    /// Removes and returns the waiter with `token`, or nil when it no longer waits.
    public mutating func remove(_ token: UInt64) -> Waiter? {
        guard let waiter = waiters.removeValue(forKey: token) else { return nil }
        if order.count > 2 * waiters.count + 64 {
            order = Deque(order.filter { waiters[$0] != nil })
        }
        return waiter
    }

    /// Removes and returns every waiter, longest-waiting first.
    public mutating func removeAll() -> [Waiter] {
        var all: [Waiter] = []
        all.reserveCapacity(waiters.count)
        while let waiter = popFirst() { all.append(waiter) }
        order.removeAll()
        return all
    }
}

extension WaitQueue: Sendable where Waiter: Sendable {}
