import Courier

extension SQLiteQueueBackend: QueueDepthReporting {
    /// Counts this queue's requests that are not leased (waiting for a consumer or for a retry), across every
    /// process using the file. See ``QueueDepthReporting/pendingRequestCount()``.
    /// - Throws: ``CourierError`` with code `backendUnavailable`, `storageFailure` or `shutDown`.
    public func pendingRequestCount() async throws -> Int {
        let queue = SQLiteValue.text(configuration.queueName)
        return try await read { connection in
            let rows = try connection.query(
                "SELECT count(*) FROM courier_requests WHERE queue = ? AND leased = 0", [queue])
            return Int(rows.first?.first?.integer ?? 0)
        }
    }
}

extension SQLiteQueueBackend {
    /// Runs SQLite's `PRAGMA integrity_check` over the whole file and returns its report: `ok` when the file is
    /// sound, otherwise SQLite's description of each problem.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `storageFailure` when the check cannot run.
    public func integrityCheck() async throws -> String {
        try await read { connection in
            try connection.query("PRAGMA integrity_check").compactMap { $0.first?.text }.joined(separator: "\n")
        }
    }
}

extension SQLiteQueueBackend {
    /// Counts this queue's requests by state, across every process using the file, from its indexes. See
    /// ``QueueBackend/requestCounts()``.
    /// - Throws: ``CourierError`` with code `backendUnavailable`, `storageFailure` or `shutDown`.
    public func requestCounts() async throws -> RequestCounts {
        try checkOpen()
        return try await read { [store] db in try db.readTransaction { try store.counts(db) } }
    }

    /// Lists the newest requests of this queue, in one read transaction. See
    /// ``QueueBackend/recentRequests(limit:matching:)``.
    /// - Throws: ``CourierError`` with code `invalidConfiguration`, `backendUnavailable`, `storageFailure` or
    ///   `shutDown`.
    public func recentRequests(limit: Int, matching filter: RequestStateFilter) async throws -> [RequestSummary] {
        try Self.checkListingLimit(limit)
        try checkOpen()
        return try await read { [store] db in
            try db.readTransaction { try store.recent(limit: limit, matching: filter, db) }
        }
    }
}
