/// The limits a ``Worker`` applies before it runs its handler: in-flight gates and a rate limit.
///
/// All are optional and all are shared by reference: hand the same ``InFlightGate`` to every worker of a
/// process to bound the process as a whole (`COURIER_MAX_INFLIGHT`), a gate held in a shared store (such as
/// `RedisConcurrencyGate`, `COURIER_GLOBAL_INFLIGHT`) to bound every process on every host, and the same
/// ``TokenBucket`` to every worker of a queue to bound its request rate (`COURIER_RATE_LIMIT`). A worker waits for them after it has
/// claimed a delivery, with the lease kept alive while it waits, so a slow gate never loses a request; a
/// worker never holds more deliveries than its ``WorkerConfiguration/concurrency``.
public struct WorkerLimits: Sendable {
    /// Bounds how many handlers run at once across everyone sharing it; `nil` for no bound beyond
    /// ``WorkerConfiguration/concurrency``.
    public var gate: (any ConcurrencyGate)?
    /// A second gate, taken after ``gate``: typically one held in a shared store, bounding every process that
    /// uses it (`COURIER_GLOBAL_INFLIGHT`); `nil` for none.
    public var sharedGate: (any ConcurrencyGate)?
    /// Bounds how many handlers start per second; `nil` for no rate limit.
    public var rateLimit: TokenBucket?

    /// Creates limits; by default there are none.
    public init(
        gate: (any ConcurrencyGate)? = nil, sharedGate: (any ConcurrencyGate)? = nil, rateLimit: TokenBucket? = nil
    ) {
        self.gate = gate
        self.sharedGate = sharedGate
        self.rateLimit = rateLimit
    }

    /// Whether no limit is set.
    public var isUnlimited: Bool { gate == nil && sharedGate == nil && rateLimit == nil }

    /// Runs `body` once a slot of each gate (``gate`` first, then ``sharedGate``) and a rate token are
    /// available, then gives the slots back, whether `body` returned or threw.
    /// - Throws: `CancellationError` when cancelled while waiting, an error from a gate, or what `body` throws.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if isUnlimited { return try await body() }
        let permit = try await gate?.acquire()
        var sharedPermit: GatePermit?
        do {
            sharedPermit = try await sharedGate?.acquire()
            try await rateLimit?.acquire()
            let result = try await body()
            await giveBack(permit, sharedPermit)
            return result
        } catch {
            await giveBack(permit, sharedPermit)
            throw error
        }
    }

    private func giveBack(_ permit: GatePermit?, _ sharedPermit: GatePermit?) async {
        if let sharedPermit { await sharedGate?.release(sharedPermit) }
        if let permit { await gate?.release(permit) }
    }
}
