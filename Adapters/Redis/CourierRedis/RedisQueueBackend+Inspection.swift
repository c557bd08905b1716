import Courier

extension RedisQueueBackend: QueueDepthReporting {
    /// Counts the requests waiting for a consumer, plus those waiting out a retry delay, as every process using
    /// the queue sees them (`LLEN` and `ZCARD`, pipelined). See ``QueueDepthReporting/pendingRequestCount()``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func pendingRequestCount() async throws -> Int {
        try checkOpen()
        async let queued = commands.send(RedisCommand(["LLEN", .string(store.keys.pending)]))
        async let delayed = commands.send(RedisCommand(["ZCARD", .string(store.keys.prefix + "delayed")]))
        return try await (queued.integer ?? 0) + (delayed.integer ?? 0)
    }
}
