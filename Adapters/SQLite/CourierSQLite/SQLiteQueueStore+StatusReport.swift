import Courier
import Foundation

/// The SQL of ``SQLiteQueueBackend/statusReport(of:)``. Runs inside a read transaction the caller opened.
extension SQLiteQueueStore {
    private var queueName: SQLiteValue { .text(configuration.queueName) }

    /// The status report of `id`: its state, times and the newest progress of its latest delivery.
    func statusReport(_ id: CorrelationID, _ db: SQLiteConnection) throws -> RequestStatusReport {
        let key: [SQLiteValue] = [queueName, .text(id.rawValue)]
        // One row read gives the state and the times: the request's while it runs, then its response's.
        let state: RequestState
        let times: [SQLiteValue]
        if let row = try db.query(
            """
            SELECT leased, attempt, submitted_at, started_at, started_attempt, NULL, fingerprint FROM courier_requests
            WHERE queue = ? AND id = ?
            """, key
        ).first {
            let attempt = Int(row[1].integer ?? 1)
            state = row[0].integer == 1 ? .running(attempt: attempt) : .pending(attempt: attempt)
            times = Array(row[2...])
        } else if let row = try db.query(
            """
            SELECT status, submitted_at, started_at, started_attempt, stored_at, fingerprint FROM courier_responses
            WHERE queue = ? AND id = ? AND expires_at > ?
            """, key + [.real(Date().timeIntervalSince1970)]
        ).first {
            state = .finished(ResponseStatus(rawValue: row[0].text ?? ""))
            times = Array(row[1...])
        } else {
            return .unknown
        }
        let log = try db.query(
            """
            SELECT updated_at, progress_attempt, progress_fraction, progress_message, progress_counter
            FROM courier_event_logs WHERE queue = ? AND id = ?
            """, key
        ).first
        func date(_ value: SQLiteValue?) -> Date? { value?.real.map { Date(timeIntervalSince1970: $0) } }
        let attempt = times.count > 2 ? times[2].integer.map { Int($0) } : nil
        var progress: RequestProgress?
        if let log, let progressAttempt = log[1].integer, attempt == Int(progressAttempt) {
            progress = RequestProgress(
                fraction: log[2].real, message: log[3].text, counter: log[4].integer.map { Int($0) })
        }
        let submitted = date(times.first)
        let started = date(times.count > 1 ? times[1] : nil)
        let finished = date(times.count > 3 ? times[3] : nil)
        let fingerprint = times.count > 4 ? times[4].text : nil
        let updated = [submitted, started, date(log?[0]), finished].compactMap { $0 }.max()
        return RequestStatusReport(
            state: state, attempt: attempt, progress: progress, submittedAt: submitted, startedAt: started,
            updatedAt: updated, finishedAt: finished, fingerprint: fingerprint)
    }
}
