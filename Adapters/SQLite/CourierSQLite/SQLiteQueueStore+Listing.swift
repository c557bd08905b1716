import Courier
import Foundation

/// The SQL of ``SQLiteQueueBackend/requestCounts()`` and ``SQLiteQueueBackend/recentRequests(limit:matching:)``.
/// Each runs inside a read transaction the caller opened and reads only indexes of this queue's rows.
extension SQLiteQueueStore {
    /// Pending and running requests, and unexpired responses by status.
    func counts(_ db: SQLiteConnection) throws -> RequestCounts {
        let queue = SQLiteValue.text(configuration.queueName)
        var counts = RequestCounts()
        for row in try db.query(
            "SELECT leased, count(*) FROM courier_requests WHERE queue = ? GROUP BY leased", [queue])
        {
            let count = Int(row[1].integer ?? 0)
            if row[0].integer == 1 { counts.running = count } else { counts.pending = count }
        }
        for row in try db.query(
            "SELECT status, count(*) FROM courier_responses WHERE queue = ? AND expires_at > ? GROUP BY status",
            [queue, .real(Date().timeIntervalSince1970)])
        {
            counts.finished[ResponseStatus(rawValue: row[0].text ?? "")] = Int(row[1].integer ?? 0)
        }
        return counts
    }

    /// The newest known requests that `filter` passes, newest first by submission, at most `limit`.
    func recent(limit: Int, matching filter: RequestStateFilter, _ db: SQLiteConnection) throws -> [RequestSummary] {
        let queue = SQLiteValue.text(configuration.queueName)
        var candidates: [(id: String, submitted: Double)] = []
        func collect(_ sql: String, _ arguments: [SQLiteValue]) throws {
            for row in try db.query(sql, arguments + [.integer(Int64(limit))]) {
                if let id = row[0].text { candidates.append((id, row[1].real ?? 0)) }
            }
        }
        let requests = "SELECT id, submitted_at FROM courier_requests WHERE queue = ?"
        let responses = "SELECT id, submitted_at FROM courier_responses WHERE queue = ? AND expires_at > ?"
        let order = " ORDER BY submitted_at DESC LIMIT ?"
        let now = SQLiteValue.real(Date().timeIntervalSince1970)
        switch filter {
        case .any:
            try collect(requests + order, [queue])
            try collect(responses + order, [queue, now])
        case .pending: try collect(requests + " AND leased = 0" + order, [queue])
        case .running: try collect(requests + " AND leased = 1" + order, [queue])
        case .finished(nil): try collect(responses + order, [queue, now])
        case .finished(let status?):
            try collect(responses + " AND status = ?" + order, [queue, now, .text(status.rawValue)])
        }
        var listed: [RequestSummary] = []
        var seen: Set<String> = []
        for candidate in candidates.sorted(by: { $0.submitted > $1.submitted }) where seen.insert(candidate.id).inserted
        {
            guard let id = try? CorrelationID(candidate.id) else { continue }
            let report = try statusReport(id, db)
            if filter.matches(report.state) { listed.append(RequestSummary(correlationID: id, report: report)) }
            if listed.count == limit { break }
        }
        return listed
    }
}
