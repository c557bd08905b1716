/// A limit on how many requests may be worked on at once, shared by every ``Worker`` that holds the same gate.
///
/// ``InFlightGate`` is the in-process implementation (`COURIER_MAX_INFLIGHT`). A gate held in a shared store
/// (for example a Redis semaphore whose slots are leased, `COURIER_GLOBAL_INFLIGHT`) can conform too, so the
/// limit spans processes and hosts; the worker only calls ``acquire()`` and ``release(_:)``.
///
/// Implementations must be safe to call from any task and must never block a thread of the cooperative pool.
public protocol ConcurrencyGate: Sendable {
    /// Waits until a slot is free and takes it.
    /// - Returns: The permit to hand back to ``release(_:)`` when the work is done.
    /// - Throws: `CancellationError` when the waiting task is cancelled (no slot is taken); a gate held in a
    ///   store may throw ``CourierError`` with code ``CourierError/Code/backendUnavailable``.
    func acquire() async throws -> GatePermit

    /// Gives a slot back. Releasing a permit twice, or one this gate did not issue, does nothing.
    func release(_ permit: GatePermit) async
}

/// Proof that a slot of a ``ConcurrencyGate`` was taken; opaque to callers.
public struct GatePermit: Sendable, Hashable {
    /// An identifier the issuing gate chooses, unique among its outstanding permits.
    public let token: String

    /// Creates a permit. Gates call this.
    public init(token: String) { self.token = token }
}
