/// An adapter that can say how many requests wait in its queue, so ``InstrumentedQueueBackend`` can sample the
/// `courier_queue_depth` gauge.
///
/// This is a proposed extension of the contract, kept outside ``QueueBackend`` so that no adapter has to change:
/// adapters that can count cheaply (`LLEN`, `SELECT count(*)`) adopt it; for the others the gauge is absent.
public protocol QueueDepthReporting: Sendable {
    /// Counts the requests that are pending (waiting for a consumer, including those waiting for a retry).
    /// - Throws: ``CourierError`` with code ``CourierError/Code/backendUnavailable`` or
    ///   ``CourierError/Code/shutDown``.
    func pendingRequestCount() async throws -> Int
}

extension MemoryQueueBackend: QueueDepthReporting {
    /// Counts the requests held but not leased. See ``QueueDepthReporting/pendingRequestCount()``.
    public func pendingRequestCount() async throws -> Int {
        let counts = diagnostics()
        return counts.requests - counts.leased
    }
}
