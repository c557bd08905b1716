import Courier
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Courier's HTTP routes over any ``QueueBackend``, for a Hummingbird application: submit a task, read its
/// status, wait for it (a long poll that is a `subscribe`, not a poll), follow its events as Server-Sent Events,
/// cancel it; and `/healthz` and `/readyz` for probes.
///
/// | route | answer |
/// |---|---|
/// | `POST /v1/tasks/submit[?wait=S]` | 202 `{"task_id", "status", "links"}`, or 200 with the finished task when it finishes within S seconds |
/// | `GET /v1/tasks/{task_id}/status` | 200 with the task (404 unknown) |
/// | `GET /v1/tasks/{task_id}/wait?timeout=S` | 200 with the finished task, or 202 with the task still pending or running at the timeout |
/// | `GET /v1/tasks/{task_id}/events` | an event stream (see the gateway docs); `Last-Event-ID` or `?after=N` resumes |
/// | `POST /v1/tasks/{task_id}/cancel` | 200 (404 unknown, 409 already finished) |
/// | `GET /v1/tasks?status=&limit=` | 200 `{"tasks": [...]}`, the newest first (501 without ``QueueCapabilities/requestListing``) |
/// | `GET /v1/queue` | 200 `{"queue", "pending", "running", "finished": {status: count}}` |
/// | `GET /` | the dashboard: an HTML page with no external assets that shows the counts, the recent tasks, and a selected task's progress and output live |
/// | `GET /healthz`, `GET /readyz` | 200 while the process runs / while the store answers (503 otherwise) |
///
/// The submit body is the request payload, kept byte for byte (a body sent as JSON must be valid JSON); an
/// `Idempotency-Key` header becomes the task id, so a retried submit returns the existing task and never runs it
/// twice. Errors are `{"error": {"code", "message"}}` (``GatewayError``). With tokens configured, the task routes
/// need `Authorization: Bearer <token>`.
public struct CourierGateway: Sendable {
    /// The queue the routes serve.
    public let backend: any QueueBackend
    /// How the routes wait and who may call them.
    public let configuration: GatewayConfiguration

    /// Creates the routes for `backend`.
    public init(backend: any QueueBackend, configuration: GatewayConfiguration = .init()) {
        self.backend = backend
        self.configuration = configuration
    }

    /// Adds every route to `router`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in Self.dashboard() }
        router.get("healthz") { _, _ in TaskDocument.response(Self.status("ok")) }
        router.get("readyz") { _, _ in try await ready() }
        // One rate limit for both groups, so a client's requests to either count against one bucket. It runs after
        // the token check, so only valid tokens name clients.
        let rateLimit = configuration.rateLimit.map {
            RateLimitMiddleware<Context>(
                rate: $0, burst: configuration.rateBurst, byToken: !configuration.tokens.isEmpty)
        }
        let tasks = guardedGroup(router, "v1/tasks", rateLimit)
        tasks.post("submit") { request, context in try await guarded { try await submit(request, context) } }
        tasks.get("{task_id}/status") { _, context in try await guarded { try await status(context) } }
        tasks.get("{task_id}/wait") { request, context in try await guarded { try await wait(request, context) } }
        tasks.get("{task_id}/events") { request, context in try await guarded { try await events(request, context) } }
        tasks.post("{task_id}/cancel") { _, context in try await guarded { try await cancel(context) } }
        tasks.get { request, _ in try await guarded { try await listTasks(request) } }
        guardedGroup(router, "v1/queue", rateLimit).get { _, _ in try await guarded { try await queueCounts() } }
        router.add(middleware: MethodNotAllowedMiddleware<Context>(routes: Self.routes))
    }

    /// A group of routes behind the bearer tokens, then the rate limit (when configured).
    private func guardedGroup<Context: RequestContext>(
        _ router: Router<Context>, _ path: RouterPath, _ rateLimit: RateLimitMiddleware<Context>?
    ) -> RouterGroup<Context> {
        let group = router.group(path).add(middleware: BearerTokenMiddleware<Context>(tokens: configuration.tokens))
        if let rateLimit { group.add(middleware: rateLimit) }
        return group
    }

    /// Every route's path pattern and methods (`GET /metrics` too, which `courier serve` adds).
    public static let routes: [String: [HTTPRequest.Method]] = [
        "/": [.get, .head], "/healthz": [.get, .head], "/readyz": [.get, .head], "/metrics": [.get, .head],
        "/v1/tasks/submit": [.post], "/v1/tasks/*/status": [.get, .head], "/v1/tasks/*/wait": [.get, .head],
        "/v1/tasks/*/events": [.get, .head], "/v1/tasks/*/cancel": [.post], "/v1/tasks": [.get, .head],
        "/v1/queue": [.get, .head],
    ]

    // MARK: Routes

    private func submit(_ request: Request, _ context: some RequestContext) async throws -> Response {
        var request = request
        let limit = backend.configuration.maxPayloadBytes
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch {
            // Hummingbird's router says so with an HTTPError, its server with NIO's error for too many bytes.
            let tooLarge =
                (error as? any HTTPResponseError)?.status == .contentTooLarge || error is NIOTooManyBytesError
            guard tooLarge else { throw error }
            throw GatewayError(
                .contentTooLarge, code: "payload_too_large",
                "the body is larger than the queue's limit of \(limit) bytes")
        }
        let payload = Data(buffer: body)
        var headers: [String: String] = [:]
        if let type = request.headers[.contentType] {
            headers["content-type"] = type
            if type.lowercased().hasPrefix("application/json"), !JSONSyntax.isValid(payload) {
                throw GatewayError(.badRequest, code: "bad_json", "the body is sent as JSON but is not valid JSON")
            }
        }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        if let key, key.isEmpty || key.utf8.count > 256 || !key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) {
            throw GatewayError(
                .badRequest, code: "invalid_id", "an Idempotency-Key is 1 to 256 visible ASCII characters")
        }
        let id = try key.map { try CorrelationID($0) } ?? .generate()
        let wait = try seconds(request, "wait")
        // A keyed task carries a digest of what was asked, so a retry can be told from a different request.
        let fingerprint = key.map { _ in Self.fingerprint(payload, contentType: headers["content-type"]) }
        let queued = QueueRequest(correlationID: id, payload: payload, headers: headers, fingerprint: fingerprint)
        do {
            if let wait, wait > .zero {
                // Published once the wait is in place: an adapter can then skip looking for an earlier answer.
                return try await taskResponse(id) {
                    try await backend.publishRequestAndWait(queued, timeout: min(wait, configuration.maxWait))
                }
            }
            try await backend.publishRequest(queued)
        } catch let error as CourierError where error.code == .duplicateRequest && key != nil {
            // A retried submit: the existing task, never a second run; the same key with another body is a conflict.
            if let existing = try await backend.statusReport(of: id).fingerprint, existing != fingerprint {
                throw GatewayError(
                    .conflict, code: "idempotency_key_reused",
                    "the Idempotency-Key '\(id)' was already used for a request with a different body")
            }
            return try await taskResponse(id, waiting: wait)
        }
        return try await taskResponse(id, waiting: wait)
    }

    private func status(_ context: some RequestContext) async throws -> Response {
        let id = try taskID(context)
        let report = try await backend.statusReport(of: id)
        if report.state == .unknown { throw unknown(id) }
        var response: QueueResponse?
        if case .finished = report.state { response = try await backend.getResponse(for: id) }
        return TaskDocument.response(TaskDocument.object(id, report: report, response: response))
    }

    private func wait(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let id = try taskID(context)
        if try await statusReportBeforeHolding(id).state == .unknown { throw unknown(id) }
        return try await taskResponse(id, waiting: try seconds(request, "timeout") ?? configuration.defaultWait)
    }

    private func events(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let id = try taskID(context)
        // An empty Last-Event-ID means "from the start" (the SSE specification's reset); `?after=` needs a number.
        // Both are checked when both are sent; the header wins.
        var after: UInt64 = 0
        if let query = request.uri.queryParameters.get("after") {
            guard query.count <= 20, let value = Self.eventID(query) else {
                throw GatewayError(.badRequest, code: "bad_request", "?after= must be an event id (a number)")
            }
            after = value
        }
        if let header = request.headers[HTTPField.Name("Last-Event-ID")!], !header.isEmpty {
            guard header.count <= 20, let value = Self.eventID(header) else {
                throw GatewayError(.badRequest, code: "bad_request", "Last-Event-ID must be an event id (a number)")
            }
            after = value
        }
        // Refused before the stream starts: once it has, the status is already 200.
        if try await statusReportBeforeHolding(id).state == .unknown { throw unknown(id) }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream", .cacheControl: "no-cache",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: ServerSentEvents.body(
                backend: backend, id: id, after: after, heartbeat: configuration.heartbeatInterval))
    }

    private func cancel(_ context: some RequestContext) async throws -> Response {
        let id = try taskID(context)
        let result = try await backend.cancel(id)
        let report = try await backend.statusReport(of: id)
        var object = TaskDocument.object(id, report: report, response: try await backend.getResponse(for: id))
        object.set("cancelled", result == .removedPending ? "pending" : "running")
        return TaskDocument.response(object)
    }

    /// The dashboard page: public (it holds no data; its own requests carry the token), never cached, and allowed
    /// to load nothing but itself and this gateway's routes.
    private static func dashboard() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-cache",
                HTTPField.Name("Content-Security-Policy")!:
                    "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                    + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
    }

    private static func status(_ text: String) -> JSONObject {
        var object = JSONObject()
        object.set("status", text)
        return object
    }

    private func ready() async throws -> Response {
        do {
            _ = try await backend.getResponse(for: CorrelationID("courier-readiness-probe"))
        } catch {
            throw GatewayError(.serviceUnavailable, code: "unavailable", "the queue's store does not answer")
        }
        return TaskDocument.response(Self.status("ready"))
    }

    // MARK: Helpers

    /// The status report of `id`, read in a task of its own, for a route that then holds its connection open (a
    /// long poll, an event stream). A task keeps the deepest stack it ever had (in slabs) for its whole life:
    /// read in the request's task, 10,000 open connections would keep 10,000 copies of a store call's stack.
    private func statusReportBeforeHolding(_ id: CorrelationID) async throws -> RequestStatusReport {
        let backend = backend
        return try await Task { try await backend.statusReport(of: id) }.value
    }

    /// The task after waiting up to `wait` for it to finish: 200 when finished, 202 while it runs.
    ///
    /// A long poll waits in here for up to its timeout, and its task keeps the memory of the deepest point it
    /// reached for the connection's whole life. So the wait is called directly (not through a closure, as in
    /// `taskResponse(_:waitingWith:)`), and building the answer and reading the task's state are kept out of line:
    /// 10,000 open polls do not each hold room for them (`scripts/bench-gateway-idle 10000 poll`: 311 → 289 MB with
    /// the boxed early result of `RedisWaiterRegistry`).
    private func taskResponse(_ id: CorrelationID, waiting wait: Duration?) async throws -> Response {
        if let wait, wait > .zero {
            do {
                // The response and its report from one wait: on Redis the wake-up carries both.
                let finished = try await backend.subscribeWithStatusReport(
                    to: id, timeout: min(wait, configuration.maxWait))
                return Self.finishedResponse(id, finished)
            } catch let error as CourierError where error.code == .timedOut {
            }
        }
        return try await currentTaskResponse(id)
    }

    /// The task after `waiting` (a wait that throws `timedOut` when it runs out): 200 when finished, 202 while it
    /// runs.
    private func taskResponse(
        _ id: CorrelationID, waitingWith waiting: () async throws -> FinishedRequest
    ) async throws -> Response {
        do {
            // The response and its report from one wait: on Redis the wake-up carries both.
            return Self.finishedResponse(id, try await waiting())
        } catch let error as CourierError where error.code == .timedOut {
            return try await currentTaskResponse(id)
        }
    }

    /// The answer for a finished task.
    @inline(never)
    private static func finishedResponse(_ id: CorrelationID, _ finished: FinishedRequest) -> Response {
        TaskDocument.response(TaskDocument.object(id, report: finished.report, response: finished.response))
    }

    /// The task as it is now: 200 when finished, 202 while it runs.
    @inline(never)
    private func currentTaskResponse(_ id: CorrelationID) async throws -> Response {
        let final = try await backend.getResponse(for: id)
        let report = try await backend.statusReport(of: id)
        let object = TaskDocument.object(id, report: report, response: final)
        return TaskDocument.response(object, status: final == nil ? .accepted : .ok)
    }

    /// `sha256:` and the hex SHA-256 of the content type and the body.
    static func fingerprint(_ payload: Data, contentType: String?) -> String {
        var hash = SHA256()
        hash.update(data: Data((contentType ?? "").utf8))
        hash.update(data: Data([0]))
        hash.update(data: payload)
        return "sha256:" + hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// An event id of up to 20 digits; one beyond the largest sequence number means "after everything".
    private static func eventID(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return UInt64(text) ?? .max
    }

    private func taskID(_ context: some RequestContext) throws -> CorrelationID {
        let raw = try context.parameters.require("task_id")
        do {
            return try CorrelationID(raw.removingPercentEncoding ?? raw)
        } catch {
            throw GatewayError(.badRequest, code: "invalid_id", "'\(raw.prefix(64))' is not a task id")
        }
    }

    private func unknown(_ id: CorrelationID) -> GatewayError {
        GatewayError(.notFound, code: "not_found", "no task with id \(id)")
    }

    /// A query parameter in seconds (0 or more, finite), or nil when absent.
    private func seconds(_ request: Request, _ name: String) throws -> Duration? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Double(text), value.isFinite, value >= 0 else {
            throw GatewayError(
                .badRequest, code: "bad_request", "?\(name)= must be a number of seconds, not '\(text.prefix(32))'")
        }
        return min(.milliseconds(Int64(min(value, 86_400) * 1000)), configuration.maxWait)
    }

    /// Runs a route, answering every error as JSON.
    func guarded(_ route: () async throws -> Response) async throws -> Response {
        do {
            return try await route()
        } catch {
            throw GatewayError(error)
        }
    }
}
