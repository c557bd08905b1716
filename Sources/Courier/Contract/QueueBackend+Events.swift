extension QueueBackend {
    /// Follows a request's events: the retained ones after `sequence` first, then live ones, and the final
    /// response as the last element (completed, failed, cancelled, timed out or dead-lettered). Trimmed events
    /// show as one ``RequestEventElement/gap(after:through:)``, never as a silent hole. Any number of readers may
    /// follow one request. Needs ``QueueCapabilities/eventStreams``.
    public func events(for correlationID: CorrelationID, after sequence: UInt64 = 0) -> RequestEventSequence {
        RequestEventSequence(backend: self, correlationID: correlationID, after: sequence)
    }

    /// Throws ``CourierError/Code/unsupportedOperation``: the adapter has no ``QueueCapabilities/eventStreams``.
    public func appendEvents(_ events: [RequestEvent], holding lease: Lease) async throws -> UInt64 {
        throw Self.eventStreamsUnsupported
    }

    /// Throws ``CourierError/Code/unsupportedOperation``: the adapter has no ``QueueCapabilities/eventStreams``.
    public func readEvents(
        of correlationID: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws
        -> RequestEventPage?
    {
        throw Self.eventStreamsUnsupported
    }

    /// Throws ``CourierError/Code/unsupportedOperation``: the adapter has no ``QueueCapabilities/eventStreams``.
    public func waitForEvents(
        of correlationID: CorrelationID, after sequence: UInt64, timeout: Duration
    )
        async throws -> Bool
    {
        throw Self.eventStreamsUnsupported
    }

    private static var eventStreamsUnsupported: CourierError {
        CourierError(.unsupportedOperation, "this adapter does not stream request events")
    }
}
