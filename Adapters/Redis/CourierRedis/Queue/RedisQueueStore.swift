import Courier
import Foundation

/// The queue's operations as script calls: arguments in, typed results out. Shared by both wake modes.
struct RedisQueueStore: Sendable {
    let keys: RedisKeys
    let scripts: RedisScripts
    let configuration: QueueConfiguration

    private var leaseMilliseconds: Int { Int(configuration.leaseDuration.inSeconds * 1000) }
    private var ttlMilliseconds: Int { max(1, Int(configuration.responseTTL.inSeconds * 1000)) }

    func run(
        _ script: RedisScript, _ connection: RedisConnection, _ arguments: [RedisArgument]
    )
        async throws -> RedisValue
    {
        try await script.run(on: connection, prefix: keys.prefix, arguments)
    }

    // MARK: Requests

    func publish(_ request: QueueRequest, replyChannel: String? = nil, on connection: RedisConnection) async throws {
        let headers = HeaderFieldsJSON.encode(request.headers)
        let deadline = request.deadline
        let reply = try await run(
            scripts.publish, connection,
            [
                .string(request.correlationID.rawValue), .bytes(request.payload), .bytes(headers),
                .string(String(request.createdAt.timeIntervalSinceReferenceDate)),
                .string(deadline.map { String(Int($0.timeIntervalSince1970 * 1000)) } ?? ""),
                .string(deadline.map { String($0.timeIntervalSinceReferenceDate) } ?? ""),
                .integer(ttlMilliseconds), .integer(RequestSummary.listingLimit), .string(request.fingerprint ?? ""),
                .integer(leaseMilliseconds), .string(replyChannel ?? ""),
            ])
        if reply.integer != 1 {
            throw CourierError(
                .duplicateRequest, "a request with correlation id \(request.correlationID) already exists")
        }
    }

    /// Reaps due leases, retries and deadlines, then leases up to `count` requests in publish order: in
    /// redis-streams, as `consumer`, first the entries it read already (`given`). A consumer given fewer than
    /// `count` is about to block for at most `longestBlock` (redis-streams records it among the sleepers).
    /// - Returns: the deliveries, and how long until something next falls due (nil when nothing is scheduled).
    func claim(
        _ count: Int, consumer: String = "", given: [RedisStreamEntry] = [],
        longestBlock: Duration = RedisConsumerLoop.longestBlock, on connection: RedisConnection
    ) async throws -> ([Delivery], Duration?) {
        let tokenBase = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        // The server starts the lease when the script runs; counting from before the call, the Lease never says
        // it lasts longer than it does.
        let expiresAt = Date(timeIntervalSinceNow: configuration.leaseDuration.inSeconds)
        let reply = try await run(
            scripts.claim, connection,
            [
                .integer(count), .integer(leaseMilliseconds), .integer(configuration.maxAttempts),
                .integer(ttlMilliseconds), .string(tokenBase), .string(consumer),
                .integer(Int(longestBlock.inSeconds * 1000)),
            ] + given.flatMap { [RedisArgument.string($0.entry), .string($0.id)] })
        guard let parts = reply.array, parts.count == 2, let rows = parts[0].array else {
            throw CourierError(.storageFailure, "unexpected reply to a claim: \(reply)")
        }
        var deliveries: [Delivery] = []
        for row in rows {
            guard let fields = row.array, fields.count == 7, let idText = fields[0].string,
                let attempt = fields[5].integer, let token = fields[6].string
            else { throw CourierError(.storageFailure, "unexpected claimed row: \(row)") }
            let id = try CorrelationID(idText)
            let headers: [String: String]
            do {
                headers = try HeaderFieldsJSON.decode(fields[2].data ?? Data())
            } catch {
                throw CourierError(.decodingFailed, "request \(id) has malformed headers in Redis")
            }
            let request = QueueRequest(
                correlationID: id, payload: fields[1].data ?? Data(), headers: headers,
                createdAt: Date(timeIntervalSinceReferenceDate: fields[3].string.flatMap(Double.init) ?? 0),
                deadline: fields[4].string.flatMap(Double.init).map { Date(timeIntervalSinceReferenceDate: $0) })
            let lease = Lease(correlationID: id, attempt: attempt, token: token, expiresAt: expiresAt)
            deliveries.append(Delivery(request: request, lease: lease, maxAttempts: configuration.maxAttempts))
        }
        let due = parts[1].integer ?? -1
        return (deliveries, due < 0 ? nil : .milliseconds(due))
    }

    /// Puts back, unchanged, a delivery that was claimed for a consumer that stopped waiting.
    func unclaim(_ delivery: Delivery, on connection: RedisConnection) async throws {
        _ = try await run(
            scripts.unclaim, connection,
            [
                .string(delivery.lease.correlationID.rawValue), .string(delivery.lease.token),
                .integer(ttlMilliseconds),
            ])
    }

    /// Puts a delivery back at the head of the queue with the same attempt.
    /// - Throws: ``CourierError`` with code `leaseLost` when the lease is no longer current.
    func giveBack(_ lease: Lease, after delay: Duration = .zero, on connection: RedisConnection) async throws {
        let reply = try await run(
            scripts.unclaim, connection,
            [
                .string(lease.correlationID.rawValue), .string(lease.token), .integer(ttlMilliseconds),
                .integer(max(0, Int((delay.inSeconds * 1000).rounded(.up)))),
            ])
        if reply.integer != 1 { throw lost(lease) }
    }

    // MARK: Leases

    func extend(_ lease: Lease, on connection: RedisConnection) async throws -> Lease {
        let expiresAt = Date(timeIntervalSinceNow: configuration.leaseDuration.inSeconds)
        let reply = try await run(
            scripts.extend, connection,
            [.string(lease.correlationID.rawValue), .string(lease.token), .integer(leaseMilliseconds)])
        switch reply.string {
        case "cancelled":
            throw CourierError(.requestCancelled, "request \(lease.correlationID) was cancelled")
        case "lost", nil:
            throw lost(lease)
        default:
            return Lease(
                correlationID: lease.correlationID, attempt: lease.attempt, token: lease.token, expiresAt: expiresAt)
        }
    }

    func release(
        _ lease: Lease, after delay: Duration, reason: String, on connection: RedisConnection
    )
        async throws
    {
        let reply = try await run(
            scripts.release, connection,
            [
                .string(lease.correlationID.rawValue), .string(lease.token),
                .integer(max(0, Int(delay.inSeconds * 1000))), .string(reason),
                .integer(configuration.maxAttempts), .integer(ttlMilliseconds),
            ])
        if reply.integer != 1 { throw lost(lease) }
    }

    private func lost(_ lease: Lease) -> CourierError {
        CourierError(.leaseLost, "the lease on \(lease.correlationID) (attempt \(lease.attempt)) was lost")
    }

    // MARK: Responses

    func respond(
        _ response: QueueResponse, settling lease: Lease?, on connection: RedisConnection
    ) async throws
        -> PublishResponseResult
    {
        let reply = try await run(
            scripts.respond, connection,
            [
                .string(response.correlationID.rawValue), .bytes(RedisResponseCodec.encode(response)),
                .string(lease?.token ?? ""), .integer(ttlMilliseconds),
            ])
        let parts = reply.array ?? []
        switch parts.first?.integer {
        case 1:
            return .stored
        case 2:
            guard let data = parts.count > 1 ? parts[1].data : nil else { fallthrough }
            return .alreadyAnswered(existing: try RedisResponseCodec.decode(data))
        case 3:
            throw lost(lease!)
        default:
            throw CourierError(.storageFailure, "unexpected reply to a response: \(reply)")
        }
    }

    func response(_ id: CorrelationID, on connection: RedisConnection) async throws -> QueueResponse? {
        try await storedForm(id, on: connection).map(RedisResponseCodec.decode)
    }

    /// The stored response with the status report its stored form carries (one `GET`).
    func storedResponse(_ id: CorrelationID, on connection: RedisConnection) async throws -> RedisStoredResponse? {
        try await storedForm(id, on: connection).map(Self.stored)
    }

    private func storedForm(_ id: CorrelationID, on connection: RedisConnection) async throws -> Data? {
        let reply = try await connection.send(RedisCommand(["GET", .string(keys.response(id))]))
        if case .error(let message) = reply { throw CourierError(.storageFailure, "GET failed: \(message)") }
        return reply.data
    }

    /// A stored form as a waiter receives it: the response, with its report when the form carries the timeline.
    static func stored(_ data: Data) throws(CourierError) -> RedisStoredResponse {
        let (response, timeline) = try RedisResponseCodec.decodeWithTimeline(data)
        return RedisStoredResponse(response, report: finishedReport(response, timeline: timeline))
    }

    /// The stored responses among `ids`, each with the report its stored form carries (one `MGET`).
    func storedResponses(_ ids: [CorrelationID], on connection: RedisConnection) async throws -> [RedisStoredResponse] {
        if ids.isEmpty { return [] }
        let reply = try await connection.send(RedisCommand(["MGET"] + ids.map { .string(keys.response($0)) }))
        return (reply.array ?? []).compactMap { $0.data.flatMap { try? Self.stored($0) } }
    }

    // MARK: Status and cancel

    func status(_ id: CorrelationID, on connection: RedisConnection) async throws -> RequestState {
        let parts = try await run(scripts.status, connection, [.string(id.rawValue)]).array ?? []
        let attempt = parts.count > 1 ? parts[1].integer ?? 1 : 1
        switch parts.first?.string {
        case "q", "w": return .pending(attempt: attempt)
        case "l": return .running(attempt: attempt)
        case "done": return .finished(ResponseStatus(rawValue: parts[1].string ?? ""))
        default: return .unknown
        }
    }

    func statusReport(_ id: CorrelationID, on connection: RedisConnection) async throws -> RequestStatusReport {
        let reply = try await run(scripts.statusReport, connection, [.string(id.rawValue)]).array ?? []
        var parts = reply.map { $0.string ?? $0.integer.map(String.init) ?? "" }
        guard parts.count == 11 else {
            if parts.first == "unknown" { return .unknown }
            throw CourierError(.storageFailure, "unexpected reply to a status report: \(parts)")
        }
        if parts[0] == "done" {
            // The stored response, then the request's timeline.
            let (response, timeline) = try RedisResponseCodec.decodeWithTimeline(reply[1].data ?? Data())
            // Submitted, started, started attempt, fingerprint: parts 2 to 5, as for a live request.
            for (offset, value) in timeline.prefix(4).enumerated() { parts[2 + offset] = value }
            return Self.report(.finished(response.status), finishedAt: response.finishedAt, parts)
        }
        let attempt = Int(parts[1]) ?? 1
        return Self.report(parts[0] == "l" ? .running(attempt: attempt) : .pending(attempt: attempt), parts)
    }

    /// The status report a response stored with its whole timeline says (see ``RedisResponseCodec``), or nil for
    /// one stored without it: a waiter woken by the response needs no status report read.
    static func finishedReport(_ response: QueueResponse, timeline: [String]) -> RequestStatusReport? {
        guard timeline.count >= 9 else { return nil }
        return report(
            .finished(response.status), finishedAt: response.finishedAt, ["done", ""] + timeline.prefix(9))
    }

    /// A report from the status-report script's fields: 2 submitted, 3 started (server ms), 4 started attempt,
    /// 5 fingerprint, 6 the event log's last update, 7 to 10 its progress (attempt, fraction, `=message`,
    /// counter); each empty when unknown.
    private static func report(
        _ state: RequestState, finishedAt: Date? = nil, _ parts: [String]
    ) -> RequestStatusReport {
        func date(_ index: Int) -> Date? { Double(parts[index]).map { Date(timeIntervalSince1970: $0 / 1000) } }
        let startedAttempt = Int(parts[4])
        var progress: RequestProgress?
        if let startedAttempt, Int(parts[7]) == startedAttempt {
            progress = RequestProgress(
                fraction: Double(parts[8]), message: parts[9].isEmpty ? nil : String(parts[9].dropFirst()),
                counter: Int(parts[10]))
        }
        let times = [date(2), date(3), date(6), finishedAt].compactMap { $0 }
        return RequestStatusReport(
            state: state, attempt: startedAttempt, progress: progress, submittedAt: date(2), startedAt: date(3),
            updatedAt: times.max(), finishedAt: finishedAt, fingerprint: parts[5].isEmpty ? nil : parts[5])
    }

    func cancel(_ id: CorrelationID, on connection: RedisConnection) async throws -> CancelResult {
        let reply = try await run(scripts.cancel, connection, [.string(id.rawValue), .integer(ttlMilliseconds)])
        switch reply.string {
        case "pending": return .removedPending
        case "running": return .cancelledRunning
        case "finished": throw CourierError(.alreadyFinished, "request \(id) already has a response")
        default: throw CourierError(.notFound, "no request with correlation id \(id)")
        }
    }

    // MARK: Reply lists (redis-list)

    /// Returns the stored response (with its report), or registers `list` to receive it, atomically.
    func watch(
        _ id: CorrelationID, list: String, for time: Duration, on connection: RedisConnection
    ) async throws
        -> RedisStoredResponse?
    {
        let reply = try await run(
            scripts.watch, connection,
            [.string(id.rawValue), .string(list), .integer(Int(time.inSeconds * 1000) + 1000)])
        return try reply.data.map(Self.stored)
    }
}
