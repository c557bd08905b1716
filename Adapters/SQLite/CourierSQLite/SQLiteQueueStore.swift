import Courier
import Foundation

/// The queue's SQL: every function runs inside a transaction the caller opened on the database's thread.
struct SQLiteQueueStore: Sendable {
    static let consumersKey = "\u{1}consumers"

    let configuration: QueueConfiguration
    private var queue: SQLiteValue { .text(configuration.queueName) }
    private var now: Double { Date().timeIntervalSince1970 }

    // MARK: Requests

    func insert(_ request: QueueRequest, _ db: SQLiteConnection) throws {
        let id = request.correlationID
        if try response(id, db) != nil
            || !(try db.query(
                "SELECT 1 FROM courier_requests WHERE queue = ? AND id = ?", [queue, .text(id.rawValue)]
            ).isEmpty)
        {
            throw CourierError(.duplicateRequest, "a request with correlation id \(id) already exists")
        }
        try forgetEvents(of: id, db)
        try db.query(
            """
            INSERT INTO courier_requests
                (queue, id, payload, headers, created_at, deadline, deadline_exact, attempt, available_at,
                 submitted_at, fingerprint)
            VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
            """,
            [
                queue, .text(id.rawValue), .blob(request.payload), .text(encode(request.headers)),
                .real(request.createdAt.timeIntervalSinceReferenceDate),
                request.deadline.map { .real($0.timeIntervalSince1970) } ?? .null,
                request.deadline.map { .real($0.timeIntervalSinceReferenceDate) } ?? .null, .real(now), .real(now),
                request.fingerprint.map { .text($0) } ?? .null,
            ])
    }

    /// Whether a claim could find anything: a ready request, an expired lease or a passed deadline. A read,
    /// so idle consumers do not take the write lock just to find nothing.
    func hasClaimableWork(_ db: SQLiteConnection) throws -> Bool {
        let time = SQLiteValue.real(now)
        let rows = try db.query(
            """
            SELECT EXISTS (SELECT 1 FROM courier_requests WHERE queue = ? AND leased = 0 AND available_at <= ?)
                OR EXISTS (SELECT 1 FROM courier_requests WHERE queue = ? AND leased = 1 AND lease_expires <= ?)
                OR EXISTS (SELECT 1 FROM courier_requests WHERE queue = ? AND leased = 0 AND deadline <= ?)
            """, [queue, time, queue, time, queue, time])
        return rows.first?.first?.integer == 1
    }

    /// When something next becomes due (seconds from now), if anything is queued.
    func secondsUntilNextDue(_ db: SQLiteConnection) throws -> Double? {
        try db.query(
            """
            SELECT min(t) FROM (
                SELECT min(available_at) AS t FROM courier_requests WHERE queue = ? AND leased = 0
                UNION ALL SELECT min(lease_expires) FROM courier_requests WHERE queue = ? AND leased = 1
                UNION ALL SELECT min(deadline) FROM courier_requests WHERE queue = ? AND leased = 0)
            """, [queue, queue, queue]
        ).first?.first?.real.map { $0 - now }
    }

    /// Reaps, then leases the oldest available request; otherwise says when something next becomes due.
    func claim(_ db: SQLiteConnection) throws -> ClaimResult {
        let reaped = try reap(db)
        let token = Int64.random(in: 1...Int64.max)
        let time = now
        let expires = time + configuration.leaseDuration.inSeconds
        let rows = try db.query(
            """
            UPDATE courier_requests
            SET leased = 1, lease_token = ?, lease_expires = ?, started_at = ?, started_attempt = attempt
            WHERE seq = (SELECT seq FROM courier_requests WHERE queue = ? AND leased = 0 AND available_at <= ?
                         ORDER BY seq LIMIT 1)
            RETURNING id, payload, headers, created_at, deadline_exact, attempt
            """, [.integer(token), .real(expires), .real(time), queue, .real(time)])
        guard let row = rows.first else {
            return ClaimResult(answered: reaped.ids, secondsUntilDue: try secondsUntilNextDue(db))
        }
        let id = try CorrelationID(row[0].text ?? "")
        let request = QueueRequest(
            correlationID: id, payload: row[1].blob ?? Data(), headers: try decode(row[2].text),
            createdAt: Date(timeIntervalSinceReferenceDate: row[3].real ?? 0),
            deadline: row[4].real.map { Date(timeIntervalSinceReferenceDate: $0) })
        let attempt = Int(row[5].integer ?? 1)
        let lease = Lease(
            correlationID: id, attempt: attempt, token: String(token), expiresAt: Date(timeIntervalSince1970: expires))
        let remaining =
            try db.query(
                """
                SELECT count(*) FROM (SELECT 1 FROM courier_requests WHERE queue = ? AND leased = 0 AND available_at <= ?
                                      LIMIT 8)
                """, [queue, .real(now)]
            ).first?.first?.integer ?? 0
        return ClaimResult(
            delivery: Delivery(request: request, lease: lease, maxAttempts: configuration.maxAttempts),
            answered: reaped.ids, remaining: Int(remaining))
    }

    /// Whether ``reap(_:)`` would find anything: an expired lease or a pending request past its deadline.
    func needsReaping(_ db: SQLiteConnection) throws -> Bool {
        let time = SQLiteValue.real(now)
        let rows = try db.query(
            """
            SELECT EXISTS (SELECT 1 FROM courier_requests WHERE queue = ? AND leased = 1 AND lease_expires <= ?)
                OR EXISTS (SELECT 1 FROM courier_requests WHERE queue = ? AND leased = 0 AND deadline <= ?)
            """, [queue, time, queue, time])
        return rows.first?.first?.integer == 1
    }

    /// Puts expired leases back (or dead-letters them) and times out pending requests past their deadline.
    func reap(_ db: SQLiteConnection) throws -> (ids: [CorrelationID], requeued: Bool) {
        let time = now
        var answered: [CorrelationID] = []
        let expired = try db.query(
            "SELECT id, attempt FROM courier_requests WHERE queue = ? AND leased = 1 AND lease_expires <= ?",
            [queue, .real(time)])
        var requeued = false
        for row in expired {
            let id = try CorrelationID(row[0].text ?? "")
            let attempt = Int(row[1].integer ?? 1)
            if attempt >= configuration.maxAttempts {
                let reason = "dead-lettered after \(attempt) attempt(s): the lease expired"
                try store(.failure(id, status: .deadLettered, error: reason), db)
                answered.append(id)
            } else {
                try db.query(
                    """
                    UPDATE courier_requests SET leased = 0, attempt = attempt + 1, available_at = ?
                    WHERE queue = ? AND id = ?
                    """, [.real(time), queue, .text(id.rawValue)])
                requeued = true
            }
        }
        let late = try db.query(
            "SELECT id FROM courier_requests WHERE queue = ? AND leased = 0 AND deadline IS NOT NULL AND deadline <= ?",
            [queue, .real(time)])
        for row in late {
            let id = try CorrelationID(row[0].text ?? "")
            let reason = "the request's deadline passed before a worker took it"
            try store(.failure(id, status: .timedOut, error: reason), db)
            answered.append(id)
        }
        return (answered, requeued)
    }

    func sweep(_ db: SQLiteConnection) throws {
        let time = SQLiteValue.real(now)
        // Event logs go with their response.
        for table in ["courier_events", "courier_event_logs"] {
            try db.query(
                """
                DELETE FROM \(table) WHERE (queue, id) IN
                    (SELECT queue, id FROM courier_responses WHERE expires_at <= ?)
                """, [time])
        }
        try db.query("DELETE FROM courier_responses WHERE expires_at <= ?", [time])
    }

    // MARK: Leases

    func currentLease(_ lease: Lease, _ db: SQLiteConnection) throws -> (leased: Bool, attempt: Int) {
        let row = try db.query(
            "SELECT leased, lease_token, attempt FROM courier_requests WHERE queue = ? AND id = ?",
            [queue, .text(lease.correlationID.rawValue)]
        ).first
        guard let row, let token = Int64(lease.token), row[1].integer == token else {
            throw CourierError(.leaseLost, "the lease on \(lease.correlationID) (attempt \(lease.attempt)) was lost")
        }
        return (row[0].integer == 1, Int(row[2].integer ?? 1))
    }

    func extend(_ lease: Lease, _ db: SQLiteConnection) throws -> (Result<Lease, CourierError>, [CorrelationID]) {
        let reaped = try reap(db)
        if try response(lease.correlationID, db)?.status == .cancelled {
            return (
                .failure(CourierError(.requestCancelled, "request \(lease.correlationID) was cancelled")), reaped.ids
            )
        }
        do {
            guard try currentLease(lease, db).leased else {
                throw CourierError(.leaseLost, "the lease on \(lease.correlationID) (attempt \(lease.attempt)) expired")
            }
        } catch let error as CourierError {
            return (.failure(error), reaped.ids)
        }
        let expires = now + configuration.leaseDuration.inSeconds
        try db.query(
            "UPDATE courier_requests SET lease_expires = ? WHERE queue = ? AND id = ?",
            [.real(expires), queue, .text(lease.correlationID.rawValue)])
        let extended = Lease(
            correlationID: lease.correlationID, attempt: lease.attempt, token: lease.token,
            expiresAt: Date(timeIntervalSince1970: expires))
        return (.success(extended), reaped.ids)
    }

    func release(_ lease: Lease, after delay: Double, reason: String, _ db: SQLiteConnection) throws -> [CorrelationID]
    {
        if try response(lease.correlationID, db) != nil { return [] }
        let attempt = try currentLease(lease, db).attempt
        if attempt >= configuration.maxAttempts {
            let text = "dead-lettered after \(attempt) attempt(s): \(reason)"
            try store(.failure(lease.correlationID, status: .deadLettered, error: text), db)
            return [lease.correlationID]
        }
        try db.query(
            """
            UPDATE courier_requests SET leased = 0, attempt = attempt + 1, available_at = ?
            WHERE queue = ? AND id = ?
            """, [.real(now + max(0, delay)), queue, .text(lease.correlationID.rawValue)])
        return []
    }

    /// Makes a delivered request available again at once (or after `delay` seconds), keeping its attempt number
    /// and its place in line.
    func giveBack(_ lease: Lease, after delay: Double = 0, _ db: SQLiteConnection) throws {
        if try response(lease.correlationID, db) != nil { return }
        guard try currentLease(lease, db).leased else {
            throw CourierError(.leaseLost, "the lease on \(lease.correlationID) (attempt \(lease.attempt)) was lost")
        }
        try db.query(
            "UPDATE courier_requests SET leased = 0, available_at = ? WHERE queue = ? AND id = ?",
            [.real(now + max(0, delay)), queue, .text(lease.correlationID.rawValue)])
    }

    // MARK: Responses

    func answer(_ response: QueueResponse, lease: Lease?, _ db: SQLiteConnection) throws -> PublishResponseResult {
        if let existing = try self.response(response.correlationID, db) { return .alreadyAnswered(existing: existing) }
        if let lease { _ = try currentLease(lease, db) }
        try store(response, db)
        return .stored
    }

    /// Stores a response (none is stored) and forgets its request, keeping its submission and latest start.
    private func store(_ response: QueueResponse, _ db: SQLiteConnection) throws {
        let id = SQLiteValue.text(response.correlationID.rawValue)
        let request = try db.query(
            "DELETE FROM courier_requests WHERE queue = ? AND id = ? RETURNING submitted_at, started_at, started_attempt, fingerprint",
            [queue, id]
        ).first
        let time = now
        try db.query(
            """
            INSERT OR REPLACE INTO courier_responses
                (queue, id, status, payload, error, headers, finished_at, expires_at, submitted_at, started_at,
                 started_attempt, stored_at, fingerprint)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                queue, id, .text(response.status.rawValue), .blob(response.payload),
                response.error.map { .text($0) } ?? .null,
                .text(encode(response.headers)), .real(response.finishedAt.timeIntervalSinceReferenceDate),
                .real(time + configuration.responseTTL.inSeconds), request?[0] ?? .null, request?[1] ?? .null,
                request?[2] ?? .null, .real(time), request?[3] ?? .null,
            ])
    }

    /// Which of `ids` have an unexpired response, without reading the responses.
    func answered(_ ids: [CorrelationID], _ db: SQLiteConnection) throws -> [CorrelationID] {
        let time = SQLiteValue.real(now)
        return try ids.filter { id in
            try !db.query(
                "SELECT 1 FROM courier_responses WHERE queue = ? AND id = ? AND expires_at > ?",
                [queue, .text(id.rawValue), time]
            ).isEmpty
        }
    }

    func response(_ id: CorrelationID, _ db: SQLiteConnection) throws -> QueueResponse? {
        guard
            let row = try db.query(
                """
                SELECT status, payload, error, headers, finished_at FROM courier_responses
                WHERE queue = ? AND id = ? AND expires_at > ?
                """, [queue, .text(id.rawValue), .real(now)]
            ).first
        else { return nil }
        return QueueResponse(
            correlationID: id, status: ResponseStatus(rawValue: row[0].text ?? ""), payload: row[1].blob ?? Data(),
            error: row[2].text, headers: try decode(row[3].text),
            finishedAt: Date(timeIntervalSinceReferenceDate: row[4].real ?? 0))
    }

    // MARK: Status and cancel

    func status(_ id: CorrelationID, _ db: SQLiteConnection) throws -> RequestState {
        if let row = try db.query(
            "SELECT leased, attempt FROM courier_requests WHERE queue = ? AND id = ?", [queue, .text(id.rawValue)]
        ).first {
            let attempt = Int(row[1].integer ?? 1)
            return row[0].integer == 1 ? .running(attempt: attempt) : .pending(attempt: attempt)
        }
        if let response = try response(id, db) { return .finished(response.status) }
        return .unknown
    }

    func cancel(_ id: CorrelationID, _ db: SQLiteConnection) throws -> CancelResult {
        if try response(id, db) != nil {
            throw CourierError(.alreadyFinished, "request \(id) already has a response")
        }
        guard
            let row = try db.query(
                "SELECT leased FROM courier_requests WHERE queue = ? AND id = ?", [queue, .text(id.rawValue)]
            ).first
        else { throw CourierError(.notFound, "no request with correlation id \(id)") }
        try store(.failure(id, status: .cancelled, error: "cancelled"), db)
        return row[0].integer == 1 ? .cancelledRunning : .removedPending
    }

    // MARK: Encoding

    private func encode(_ headers: [String: String]) -> String {
        String(decoding: HeaderFieldsJSON.encode(headers), as: UTF8.self)
    }

    private func decode(_ text: String?) throws -> [String: String] {
        try HeaderFieldsJSON.decode(Data((text ?? "").utf8))
    }
}
