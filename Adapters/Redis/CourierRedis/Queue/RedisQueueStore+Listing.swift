import Courier

/// Counts and listings (see ``RedisScripts/countsBody`` and ``RedisScripts/recentBody``).
extension RedisQueueStore {
    func counts(on connection: RedisConnection) async throws -> RequestCounts {
        let parts = try await run(scripts.counts, connection, []).array ?? []
        guard parts.count >= 2, parts.count % 2 == 0 else {
            throw CourierError(.storageFailure, "unexpected reply to a count of requests: \(parts)")
        }
        var counts = RequestCounts(pending: parts[0].integer ?? 0, running: parts[1].integer ?? 0)
        for index in stride(from: 2, to: parts.count, by: 2) {
            counts.finished[ResponseStatus(rawValue: parts[index].string ?? "")] = parts[index + 1].integer ?? 0
        }
        return counts
    }

    /// The ids the listing script picked, newest first.
    func recentIDs(
        limit: Int, matching filter: RequestStateFilter, on connection: RedisConnection
    ) async throws
        -> [CorrelationID]
    {
        let (kind, status): (String, String) =
            switch filter {
            case .any: ("any", "")
            case .pending: ("pending", "")
            case .running: ("running", "")
            case .finished(let status): ("finished", status?.rawValue ?? "")
            }
        let reply = try await run(scripts.recent, connection, [.integer(limit), .string(kind), .string(status)])
        return (reply.array ?? []).compactMap { $0.string.flatMap { try? CorrelationID($0) } }
    }
}
