extension MemoryQueueBackend {
    /// Counts this queue's requests by state. See ``QueueBackend/requestCounts()``.
    /// - Throws: ``CourierError`` with code `shutDown`.
    public func requestCounts() async throws -> RequestCounts {
        try mutate { state, now, effects in
            try state.checkOpen()
            state.expire(now: now, effects: &effects)
            return state.counts
        }
    }

    /// Lists the newest requests of this queue. See ``QueueBackend/recentRequests(limit:matching:)``.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` or `shutDown`.
    public func recentRequests(limit: Int, matching filter: RequestStateFilter) async throws -> [RequestSummary] {
        try Self.checkListingLimit(limit)
        return try mutate { state, now, _ in
            try state.checkOpen()
            return state.recent(limit: limit, matching: filter, now: now)
        }
    }
}
