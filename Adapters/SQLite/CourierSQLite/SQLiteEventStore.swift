import Courier
import Foundation

/// The SQL of streamed events. Like the rest of ``SQLiteQueueStore``, every function runs inside a transaction
/// the caller opened on the database's thread.
extension SQLiteQueueStore {
    /// The wake-board key of a request's event waiters (a control character keeps it apart from ids).
    static func eventsKey(_ id: CorrelationID) -> String { "\u{2}" + id.rawValue }

    /// The id whose events a wake-board key stands for, if it is an events key.
    static func id(ofEventsKey key: String) -> CorrelationID? {
        guard key.hasPrefix("\u{2}") else { return nil }
        return try? CorrelationID(String(key.dropFirst()))
    }

    private var queueValue: SQLiteValue { .text(configuration.queueName) }

    /// Appends for the holder of `lease`: refused after a final response or for a stale lease.
    func appendEvents(_ events: [RequestEvent], holding lease: Lease, _ db: SQLiteConnection) throws -> UInt64 {
        let id = lease.correlationID
        if let response = try response(id, db) { throw CourierError.requestFinished(id, response.status) }
        _ = try currentLease(lease, db)
        let key: [SQLiteValue] = [queueValue, .text(id.rawValue)]
        let row = try db.query(
            "SELECT last_seq, trimmed_through, token FROM courier_event_logs WHERE queue = ? AND id = ?", key
        ).first
        var last = row?[0].integer ?? 0
        var trimmed = row?[1].integer ?? 0
        if events.isEmpty { return UInt64(last) }
        // The first append of a delivery starts with its attempt boundary.
        let events = row?[2].text == lease.token ? events : [.attemptStarted(attempt: lease.attempt)] + events
        let time = SQLiteValue.real(Date().timeIntervalSince1970)
        for event in events {
            last += 1
            try db.query(
                """
                INSERT INTO courier_events (queue, id, seq, kind, name, data, fraction, counter, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, key + [.integer(last)] + Self.columns(of: event) + [time])
        }
        let keep = Int64(configuration.maxEventsPerRequest)
        if last - keep > trimmed {
            trimmed = last - keep
            try db.query(
                "DELETE FROM courier_events WHERE queue = ? AND id = ? AND seq <= ?", key + [.integer(trimmed)])
        }
        try db.query(
            """
            INSERT INTO courier_event_logs (queue, id, last_seq, trimmed_through, token, updated_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (queue, id) DO UPDATE SET
                last_seq = excluded.last_seq, trimmed_through = excluded.trimmed_through, token = excluded.token,
                updated_at = excluded.updated_at
            """, key + [.integer(last), .integer(trimmed), .text(lease.token), time])
        for case .progress(let progress) in events.reversed() {
            try db.query(
                """
                UPDATE courier_event_logs
                SET progress_attempt = ?, progress_fraction = ?, progress_message = ?, progress_counter = ?
                WHERE queue = ? AND id = ?
                """,
                [
                    .integer(Int64(lease.attempt)), progress.fraction.map { .real($0) } ?? .null,
                    progress.message.map { .text($0) } ?? .null, progress.counter.map { .integer(Int64($0)) } ?? .null,
                ] + key)
            break
        }
        return UInt64(last)
    }

    /// Removes what an earlier request of this id left (its response expired but was not swept yet).
    func forgetEvents(of id: CorrelationID, _ db: SQLiteConnection) throws {
        let key: [SQLiteValue] = [queueValue, .text(id.rawValue)]
        let removed = try db.query("DELETE FROM courier_event_logs WHERE queue = ? AND id = ? RETURNING 1", key)
        if !removed.isEmpty { try db.query("DELETE FROM courier_events WHERE queue = ? AND id = ?", key) }
    }

    /// Up to `limit` events after `sequence`, or `nil` for an id with neither a request nor a response.
    func eventPage(
        _ id: CorrelationID, after sequence: UInt64, limit: Int, _ db: SQLiteConnection
    ) throws
        -> RequestEventPage?
    {
        let key: [SQLiteValue] = [queueValue, .text(id.rawValue)]
        let response = try response(id, db)
        if response == nil {
            let pending = try db.query("SELECT 1 FROM courier_requests WHERE queue = ? AND id = ?", key)
            if pending.isEmpty { return nil }
        }
        let log = try db.query(
            "SELECT last_seq, trimmed_through FROM courier_event_logs WHERE queue = ? AND id = ?", key
        ).first
        let rows = try db.query(
            """
            SELECT seq, kind, name, data, fraction, counter, created_at FROM courier_events
            WHERE queue = ? AND id = ? AND seq > ? ORDER BY seq LIMIT ?
            """, key + [.integer(Int64(clamping: sequence)), .integer(Int64(max(0, limit)))])
        let events = try rows.map { row in
            RequestEventRecord(
                sequence: UInt64(row[0].integer ?? 0), event: try Self.event(from: row),
                time: Date(timeIntervalSince1970: row[6].real ?? 0))
        }
        return RequestEventPage(
            events: events, trimmedThrough: UInt64(log?[1].integer ?? 0), lastSequence: UInt64(log?[0].integer ?? 0),
            finalResponse: response)
    }

    /// The newest sequence number of each of `ids` that has a log.
    func lastSequences(_ ids: [CorrelationID], _ db: SQLiteConnection) throws -> [CorrelationID: UInt64] {
        var result: [CorrelationID: UInt64] = [:]
        for id in ids {
            if let last = try db.query(
                "SELECT last_seq FROM courier_event_logs WHERE queue = ? AND id = ?", [queueValue, .text(id.rawValue)]
            ).first?[0].integer {
                result[id] = UInt64(last)
            }
        }
        return result
    }

    // MARK: Encoding

    /// `kind, name, data, fraction, counter` of an event.
    private static func columns(of event: RequestEvent) -> [SQLiteValue] {
        switch event {
        case .chunk(let data): [.text("chunk"), .null, .blob(data), .null, .null]
        case .custom(let name, let data): [.text("custom"), .text(name), .blob(data), .null, .null]
        case .attemptStarted(let attempt): [.text("attempt"), .null, .null, .null, .integer(Int64(attempt))]
        case .progress(let progress):
            [
                .text("progress"), progress.message.map { .text($0) } ?? .null, .null,
                progress.fraction.map { .real($0) } ?? .null, progress.counter.map { .integer(Int64($0)) } ?? .null,
            ]
        }
    }

    private static func event(from row: [SQLiteValue]) throws -> RequestEvent {
        switch row[1].text {
        case "chunk": return .chunk(row[3].blob ?? Data())
        case "custom": return .custom(name: row[2].text ?? "", data: row[3].blob ?? Data())
        case "attempt": return .attemptStarted(attempt: Int(row[5].integer ?? 0))
        case "progress":
            return .progress(
                RequestProgress(fraction: row[4].real, message: row[2].text, counter: row[5].integer.map { Int($0) }))
        default:
            throw CourierError(.decodingFailed, "a stored event has the unknown kind '\(row[1].text ?? "")'")
        }
    }
}
