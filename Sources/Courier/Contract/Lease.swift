import Foundation

/// The right to work on one delivered request until ``expiresAt``.
///
/// Leases fence: once a lease is lost (it expired and the request was delivered again, or the request was
/// settled or cancelled), every operation presenting it fails with ``CourierError/Code/leaseLost`` or
/// ``CourierError/Code/requestCancelled``, so a stale worker can never overwrite the result.
public struct Lease: Sendable, Hashable {
    /// The request this lease is for.
    public let correlationID: CorrelationID
    /// Which delivery this is: 1 for the first, 2 after one expiry or release, and so on.
    public let attempt: Int
    /// An adapter-defined fencing token, unique per delivery. Opaque to callers.
    public let token: String
    /// When the lease runs out unless extended. Computed from the adapter's clock.
    public let expiresAt: Date

    /// Creates a lease. Adapters call this; callers receive leases inside a ``Delivery``.
    public init(correlationID: CorrelationID, attempt: Int, token: String, expiresAt: Date) {
        self.correlationID = correlationID
        self.attempt = attempt
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// One request handed to one consumer, with the lease that makes it that consumer's alone.
public struct Delivery: Sendable {
    /// The request to work on.
    public let request: QueueRequest
    /// The lease to present when extending, releasing or answering.
    public let lease: Lease
    /// How many deliveries the adapter allows before it dead-letters the request.
    public let maxAttempts: Int

    /// Creates a delivery. Adapters call this.
    public init(request: QueueRequest, lease: Lease, maxAttempts: Int) {
        self.request = request
        self.lease = lease
        self.maxAttempts = maxAttempts
    }

    /// Which delivery this is: 1 for the first.
    public var attempt: Int { lease.attempt }
    /// Whether this is the last delivery the adapter will make.
    public var isLastAttempt: Bool { lease.attempt >= maxAttempts }
}
