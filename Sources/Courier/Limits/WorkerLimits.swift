/// The limits a ``Worker`` applies before it runs its handler: a shared in-flight gate and a rate limit.
///
/// Both are optional and both are shared by reference: hand the same ``InFlightGate`` to every worker of a
/// process to bound the process as a whole (`COURIER_MAX_INFLIGHT`), and the same ``TokenBucket`` to every
/// worker of a queue to bound its request rate (`COURIER_RATE_LIMIT`). A worker waits for them after it has
/// claimed a delivery, with the lease kept alive while it waits, so a slow gate never loses a request; a
/// worker never holds more deliveries than its ``WorkerConfiguration/concurrency``.
public struct WorkerLimits: Sendable {
    /// Bounds how many handlers run at once across everyone sharing it; `nil` for no bound beyond
    /// ``WorkerConfiguration/concurrency``.
    public var gate: (any ConcurrencyGate)?
    /// Bounds how many handlers start per second; `nil` for no rate limit.
    public var rateLimit: TokenBucket?

    /// Creates limits; by default there are none.
    public init(gate: (any ConcurrencyGate)? = nil, rateLimit: TokenBucket? = nil) {
        self.gate = gate
        self.rateLimit = rateLimit
    }

    /// Whether neither limit is set.
    public var isUnlimited: Bool { gate == nil && rateLimit == nil }

    /// Runs `body` once a gate slot and a rate token are available, then gives the slot back.
    /// - Throws: `CancellationError` when cancelled while waiting, an error from the gate, or what `body` throws.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if isUnlimited { return try await body() }
        let permit = try await gate?.acquire()
        do {
            try await rateLimit?.acquire()
            let result = try await body()
            if let permit { await gate?.release(permit) }
            return result
        } catch {
            if let permit { await gate?.release(permit) }
            throw error
        }
    }
}
