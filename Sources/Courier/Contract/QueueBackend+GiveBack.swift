extension QueueBackend {
    /// Gives a delivery back at once when `delay` is zero; adapters that can delay implement this themselves.
    /// See ``QueueBackend/giveBack(_:after:)``.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/unsupportedOperation`` for a positive delay.
    public func giveBack(_ lease: Lease, after delay: Duration) async throws {
        guard delay > .zero else { return try await giveBack(lease) }
        throw CourierError(.unsupportedOperation, "this adapter cannot give a delivery back after a delay")
    }
}
