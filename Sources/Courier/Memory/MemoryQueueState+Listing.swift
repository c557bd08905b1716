/// What ``MemoryQueueBackend``'s status reports, counts and listings read, under its lock.
extension MemoryQueueState {
    /// The status report of `id` as the state holds it at `now`.
    func report(of id: CorrelationID, now: Instant) -> RequestStatusReport {
        if let record = records[id] {
            if case .leased = record.phase {
                return record.timeline.report(.running(attempt: record.attempt), events: record.events)
            }
            return record.timeline.report(.pending(attempt: record.attempt), events: record.events)
        }
        guard let stored = responses[id], stored.expiresAt > now else { return .unknown }
        let finished = RequestState.finished(stored.response.status)
        return stored.timeline?.report(finished, events: stored.events) ?? RequestStatusReport(state: finished)
    }

    /// The counts of requests by state; the caller has applied everything due by now.
    var counts: RequestCounts {
        RequestCounts(
            pending: records.count - leasedIDs.count, running: leasedIDs.count, finished: finishedCounts)
    }

    /// The newest known requests that `filter` passes, newest first, at most `limit`.
    func recent(limit: Int, matching filter: RequestStateFilter, now: Instant) -> [RequestSummary] {
        var listed: [RequestSummary] = []
        var seen: Set<CorrelationID> = []
        for id in recentIDs.reversed() where seen.insert(id).inserted {
            let report = report(of: id, now: now)
            if filter.matches(report.state) { listed.append(RequestSummary(correlationID: id, report: report)) }
            if listed.count == limit { break }
        }
        return listed
    }
}
