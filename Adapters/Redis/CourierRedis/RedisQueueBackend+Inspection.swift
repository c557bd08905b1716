import Courier

extension RedisQueueBackend: QueueDepthReporting {
    /// Counts the requests waiting for a consumer, plus those waiting out a retry delay, as every process using
    /// the queue sees them (`LLEN` and `ZCARD`, pipelined; redis-streams: the counts script). See ``QueueDepthReporting/pendingRequestCount()``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func pendingRequestCount() async throws -> Int {
        try checkOpen()
        if wakeMode == .streams { return try await requestCounts().pending }
        async let queued = commands.send(RedisCommand(["LLEN", .string(store.keys.pending)]))
        async let delayed = commands.send(RedisCommand(["ZCARD", .string(store.keys.prefix + "delayed")]))
        return try await (queued.integer ?? 0) + (delayed.integer ?? 0)
    }
}

extension RedisQueueBackend {
    /// Counts this queue's requests by state, as every process using the queue sees them, in one script call.
    /// See ``QueueBackend/requestCounts()``.
    /// - Throws: ``CourierError`` with code `backendUnavailable`, `storageFailure` or `shutDown`.
    public func requestCounts() async throws -> RequestCounts {
        try checkOpen()
        return try await store.counts(on: commands)
    }

    /// Lists the newest requests of this queue: one script call picks them from the capped `recent` list, then
    /// one status report each, sent together. See ``QueueBackend/recentRequests(limit:matching:)``.
    /// - Throws: ``CourierError`` with code `invalidConfiguration`, `backendUnavailable`, `storageFailure` or
    ///   `shutDown`.
    public func recentRequests(limit: Int, matching filter: RequestStateFilter) async throws -> [RequestSummary] {
        try Self.checkListingLimit(limit)
        try checkOpen()
        let ids = try await store.recentIDs(limit: limit, matching: filter, on: commands)
        let reports = try await withThrowingTaskGroup(of: (Int, RequestStatusReport).self) { group in
            for (index, id) in ids.enumerated() {
                group.addTask { [store, commands] in (index, try await store.statusReport(id, on: commands)) }
            }
            var reports = [RequestStatusReport?](repeating: nil, count: ids.count)
            for try await (index, report) in group { reports[index] = report }
            return reports
        }
        // A request may have moved on between the pick and its report; the report decides.
        return zip(ids, reports).compactMap { id, report in
            guard let report, filter.matches(report.state) else { return nil }
            return RequestSummary(correlationID: id, report: report)
        }
    }
}
