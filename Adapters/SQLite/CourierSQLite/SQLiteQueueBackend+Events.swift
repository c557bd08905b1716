import Courier
import Foundation

extension SQLiteQueueBackend {
    /// Appends events to a running request's log. See ``QueueBackend/appendEvents(_:holding:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `requestCancelled`, `alreadyFinished`, `payloadTooLarge`,
    ///   `invalidConfiguration` (also when the backend was opened ``Access/readOnly``), `backendUnavailable` or
    ///   `shutDown`.
    @discardableResult
    public func appendEvents(_ events: [RequestEvent], holding lease: Lease) async throws -> UInt64 {
        try checkWritable()
        try configuration.checkEvents(events)
        try checkOpen()
        let last = try await transaction { [store] in try store.appendEvents(events, holding: lease, $0) }
        if !events.isEmpty { board.notify(SQLiteQueueStore.eventsKey(lease.correlationID)) }
        return last
    }

    /// Reads a request's retained events. See ``QueueBackend/readEvents(of:after:limit:)``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func readEvents(
        of correlationID: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws
        -> RequestEventPage?
    {
        try checkOpen()
        // One snapshot: otherwise an answer committed between reading the response and the request row would
        // make a running request look unknown.
        return try await read { [store] connection in
            try connection.readTransaction {
                try store.eventPage(correlationID, after: sequence, limit: limit, connection)
            }
        }
    }

    /// Waits for a new event or the final response. See ``QueueBackend/waitForEvents(of:after:timeout:)``.
    ///
    /// Appends and answers in this process wake the wait at once; another process's are noticed by the same
    /// `PRAGMA data_version` check that wakes response waiters, without reading the events table.
    /// - Throws: ``CourierError`` with code `shutDown`, or `CancellationError`.
    public func waitForEvents(
        of correlationID: CorrelationID, after sequence: UInt64, timeout: Duration
    )
        async throws -> Bool
    {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let key = SQLiteQueueStore.eventsKey(correlationID)
        while true {
            try checkOpen()
            try Task.checkCancellation()
            let generation = board.generation(key)
            let page = try await readEvents(of: correlationID, after: sequence, limit: 1)
            if page == nil || page?.finalResponse != nil || (page?.lastSequence ?? 0) > sequence { return true }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return false }
            await board.wait(for: key, since: generation, timeout: min(remaining, .seconds(5)))
        }
    }
}
