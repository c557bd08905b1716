import Courier
import CourierHTTP
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// Every route of the gateway through Hummingbird's router test client, over the memory adapter with a worker
/// in the same process.
@Suite("HTTP gateway routes")
struct GatewayRouteTests {
    /// An application with the gateway over a fresh memory queue, a worker answering with `answer`, and a count of
    /// the deliveries the worker took.
    static func application(
        tokens: [String] = [], maxPayloadBytes: Int = 1 << 20,
        answer: @escaping @Sendable (QueueRequest) async throws -> Data = { $0.payload }
    ) throws -> (some ApplicationProtocol, MemoryQueueBackend, Counter) {
        let backend = try MemoryQueueBackend(
            configuration: .init(queueName: "gateway-\(UUID().uuidString.prefix(8))", maxPayloadBytes: maxPayloadBytes))
        let deliveries = Counter()
        let worker = Worker(backend: backend, configuration: .init(concurrency: 4, gracePeriod: .zero)) { request in
            deliveries.add()
            return try await answer(request)
        }
        let router = Router()
        CourierGateway(backend: backend, configuration: .init(maxWait: .seconds(10), tokens: tokens))
            .addRoutes(to: router)
        return (Application(router: router, services: [worker]), backend, deliveries)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test func submitAndWaitAnswersTheFinishedTaskWithItsJSONResult() async throws {
        let (app, _, _) = try Self.application()
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"message": "hello", "session_id": "s-1"}"#)
            try await client.execute(
                uri: "/v1/tasks/submit?wait=10", method: .post, headers: [.contentType: "application/json"],
                body: body
            ) { response in
                #expect(response.status == .ok)
                let task = try Self.json(response)
                #expect(task["status"] as? String == "completed")
                #expect((task["result"] as? [String: Any])?["message"] as? String == "hello")
                #expect(task["attempt"] as? Int == 1)
                for field in ["submitted_at", "started_at", "updated_at", "finished_at"] {
                    #expect(task[field] is String, "\(field)")
                }
            }
        }
    }

    @Test func submitWithoutWaitAnswers202AndStatusAndWaitFollowTheTask() async throws {
        let (app, _, _) = try Self.application { request in
            try await Task.sleep(for: .milliseconds(300))
            return request.payload
        }
        try await app.test(.router) { client in
            let id = try await client.execute(uri: "/v1/tasks/submit", method: .post, body: ByteBuffer(string: "x")) {
                response in
                #expect(response.status == .accepted)
                let task = try Self.json(response)
                #expect(["pending", "running"].contains(task["status"] as? String))
                #expect((task["links"] as? [String: String])?["events"]?.hasSuffix("/events") == true)
                return try #require(task["task_id"] as? String)
            }
            try await client.execute(uri: "/v1/tasks/\(id)/wait?timeout=10", method: .get) { response in
                #expect(response.status == .ok)
                let task = try Self.json(response)
                #expect(task["result"] as? String == "x")
            }
            try await client.execute(uri: "/v1/tasks/\(id)/status", method: .get) { response in
                let task = try Self.json(response)
                #expect(task["status"] as? String == "completed")
            }
        }
    }

    @Test func aWaitThatTimesOutSaysTheTaskStillRuns() async throws {
        let (app, _, _) = try Self.application { request in
            try await Task.sleep(for: .seconds(5))
            return request.payload
        }
        try await app.test(.router) { client in
            let id = try await client.execute(
                uri: "/v1/tasks/submit", method: .post, headers: [.init("Idempotency-Key")!: "slow-1"],
                body: ByteBuffer(string: "x")
            ) { try Self.json($0)["task_id"] as? String }
            #expect(id == "slow-1")
            try await client.execute(uri: "/v1/tasks/slow-1/wait?timeout=0.2", method: .get) { response in
                #expect(response.status == .accepted)
                let task = try Self.json(response)
                #expect(["pending", "running"].contains(task["status"] as? String))
            }
        }
    }

    @Test func aRetriedSubmitWithTheSameKeyNeverRunsTwice() async throws {
        let (app, _, deliveries) = try Self.application()
        try await app.test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(
                    uri: "/v1/tasks/submit?wait=10", method: .post, headers: [.init("Idempotency-Key")!: "once"],
                    body: ByteBuffer(string: "same")
                ) { response in
                    #expect(response.status == .ok)
                    let task = try Self.json(response)
                    #expect(task["result"] as? String == "same")
                }
            }
            #expect(deliveries.value == 1)
            // The same key with another body, or the same body sent as another content type, is a conflict.
            for (body, type) in [("different", "text/plain"), ("same", "application/octet-stream")] {
                try await client.execute(
                    uri: "/v1/tasks/submit", method: .post,
                    headers: [.init("Idempotency-Key")!: "once", .contentType: type], body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .conflict, "\(body) as \(type)")
                    let error = try #require(try Self.json(response)["error"] as? [String: String])
                    #expect(error["code"] == "idempotency_key_reused")
                }
            }
            #expect(deliveries.value == 1)
        }
    }

    @Test func errorsAreJSONWithTheirStatus() async throws {
        let (app, _, _) = try Self.application(maxPayloadBytes: 1024)
        try await app.test(.router) { client in
            func expectError(
                _ uri: String, _ method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
                status: HTTPResponse.Status, code: String
            ) async throws {
                try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
                    #expect(response.status == status, "\(method) \(uri)")
                    let error = try Self.json(response)["error"] as? [String: Any]
                    #expect(error?["code"] as? String == code, "\(method) \(uri): \(String(describing: error))")
                    #expect((error?["message"] as? String)?.isEmpty == false)
                }
            }
            try await expectError("/v1/tasks/nope/status", .get, status: .notFound, code: "not_found")
            try await expectError("/v1/tasks/nope/wait", .get, status: .notFound, code: "not_found")
            try await expectError("/v1/tasks/nope/events", .get, status: .notFound, code: "not_found")
            try await expectError("/v1/tasks/nope/cancel", .post, status: .notFound, code: "not_found")
            try await expectError(
                "/v1/tasks/submit", .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{oops"),
                status: .badRequest, code: "bad_json")
            try await expectError(
                "/v1/tasks/submit", .post, body: ByteBuffer(repeating: 0x61, count: 2048), status: .contentTooLarge,
                code: "payload_too_large")
            try await expectError(
                "/v1/tasks/submit?wait=soon", .post, body: ByteBuffer(string: "x"), status: .badRequest,
                code: "bad_request")
            try await expectError(
                "/v1/tasks/submit", .post, headers: [.init("Idempotency-Key")!: "bad\tkey"],
                body: ByteBuffer(string: "x"),
                status: .badRequest, code: "invalid_id")
            try await expectError(
                "/v1/tasks/x/events", .get, headers: [.init("Last-Event-ID")!: "abc"], status: .badRequest,
                code: "bad_request")
        }
    }

    @Test func cancelStopsAPendingTaskAndRefusesAFinishedOne() async throws {
        let (app, backend, _) = try Self.application { request in
            try await Task.sleep(for: .seconds(30))
            return request.payload
        }
        // A task that no worker will take: published to the queue while the worker is busy is enough, but the
        // simplest pending task is one published after the worker's four slots are full.
        try await app.test(.router) { client in
            for index in 0..<5 {
                try await client.execute(
                    uri: "/v1/tasks/submit", method: .post, headers: [.init("Idempotency-Key")!: "c\(index)"],
                    body: ByteBuffer(string: "x"))
            }
            try await client.execute(uri: "/v1/tasks/c4/cancel", method: .post) { response in
                #expect(response.status == .ok)
                let task = try Self.json(response)
                #expect(task["status"] as? String == "cancelled")
            }
            let state = try await backend.status(of: CorrelationID("c4"))
            #expect(state == .finished(.cancelled))
            try await client.execute(uri: "/v1/tasks/c4/cancel", method: .post) { response in
                #expect(response.status == .conflict)
            }
        }
    }

    @Test func tokensAreRequiredWhenConfiguredAndProbesStayOpen() async throws {
        let (app, _, _) = try Self.application(tokens: ["first-secret", "second-secret"])
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/tasks/x/status", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                #expect(!String(buffer: response.body).contains("secret"))
            }
            try await client.execute(
                uri: "/v1/tasks/x/status", method: .get, headers: [.authorization: "Bearer first-secre"]
            ) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/v1/tasks/x/status", method: .get, headers: [.authorization: "Bearer second-secret"]
            ) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func readyzSays503WhenTheStoreIsGone() async throws {
        let (app, backend, _) = try Self.application()
        await backend.shutdown()
        try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }
}

/// How many deliveries a test's worker took.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
