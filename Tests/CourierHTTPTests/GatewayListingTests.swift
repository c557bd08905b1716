import Courier
import CourierHTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET /v1/tasks`, `GET /v1/queue` and the rate limit, through Hummingbird's router test client.
@Suite("HTTP gateway listings and rate limit")
struct GatewayListingTests {
    static func application(
        _ configuration: GatewayConfiguration = .init(maxWait: .seconds(10))
    ) throws -> (some ApplicationProtocol, MemoryQueueBackend) {
        let backend = try MemoryQueueBackend(configuration: .init(queueName: "listing-\(UUID().uuidString.prefix(8))"))
        let router = Router()
        CourierGateway(backend: backend, configuration: configuration).addRoutes(to: router)
        return (Application(router: router), backend)
    }

    @Test func tasksAreListedNewestFirstFilteredAndCounted() async throws {
        let (app, backend) = try Self.application()
        try await app.test(.router) { client in
            for index in 0..<4 {
                try await client.execute(
                    uri: "/v1/tasks/submit", method: .post,
                    headers: [HTTPField.Name("Idempotency-Key")!: "task-\(index)"],
                    body: ByteBuffer(string: "\(index)")
                ) { #expect($0.status == .accepted) }
            }
            // task-0 completes, task-1 runs, task-3 is cancelled; task-2 waits.
            var consumer = backend.consumeRequests().makeAsyncIterator()
            let first = try #require(try await consumer.next())
            try await backend.publishResponse(
                .completed(first.request.correlationID, payload: Data("ok".utf8)), settling: first.lease)
            _ = try #require(try await consumer.next())
            try await client.execute(uri: "/v1/tasks/task-3/cancel", method: .post) { #expect($0.status == .ok) }

            try await client.execute(uri: "/v1/tasks", method: .get) { response in
                #expect(response.status == .ok)
                let tasks = try #require(try GatewayRouteTests.json(response)["tasks"] as? [[String: Any]])
                #expect(tasks.map { $0["task_id"] as? String } == ["task-3", "task-2", "task-1", "task-0"])
                #expect(tasks.map { $0["status"] as? String } == ["cancelled", "pending", "running", "completed"])
                #expect(tasks.allSatisfy { $0["submitted_at"] is String && $0["links"] is [String: String] })
            }
            for (query, expected) in [
                ("status=pending", ["task-2"]), ("status=running", ["task-1"]), ("status=completed", ["task-0"]),
                ("status=finished", ["task-3", "task-0"]), ("limit=2", ["task-3", "task-2"]), ("status=timeout", []),
            ] {
                try await client.execute(uri: "/v1/tasks?" + query, method: .get) { response in
                    let tasks = try #require(try GatewayRouteTests.json(response)["tasks"] as? [[String: Any]])
                    #expect(tasks.map { $0["task_id"] as? String } == expected, "\(query)")
                }
            }
            try await client.execute(uri: "/v1/queue", method: .get) { response in
                #expect(response.status == .ok)
                let counts = try GatewayRouteTests.json(response)
                #expect(counts["pending"] as? Int == 1)
                #expect(counts["running"] as? Int == 1)
                #expect(counts["finished"] as? [String: Int] == ["completed": 1, "cancelled": 1])
            }
            for query in ["status=done", "status=", "limit=0", "limit=1001", "limit=x"] {
                try await client.execute(uri: "/v1/tasks?" + query, method: .get) { response in
                    #expect(response.status == .badRequest, "\(query)")
                    let error = try #require(try GatewayRouteTests.json(response)["error"] as? [String: String])
                    #expect(error["code"] == "bad_request")
                }
            }
            try await client.execute(uri: "/v1/queue", method: .post) { #expect($0.status == .methodNotAllowed) }
        }
    }

    @Test func aClientOverTheRateLimitGets429WithRetryAfterAndOthersAreServed() async throws {
        let configuration = GatewayConfiguration(tokens: ["alpha", "beta"], rateLimit: 0.01, rateBurst: 2)
        let (app, backend) = try Self.application(configuration)
        try await app.test(.router) { client in
            let alpha: HTTPFields = [.authorization: "Bearer alpha"]
            for _ in 0..<2 {
                try await client.execute(uri: "/v1/queue", method: .get, headers: alpha) { #expect($0.status == .ok) }
            }
            try await client.execute(
                uri: "/v1/tasks/submit", method: .post, headers: alpha, body: ByteBuffer(string: "x")
            ) { response in
                #expect(response.status == .tooManyRequests)
                // A token every 100 s: the wait is just under that however slowly this test runs.
                let retryAfter = try #require(response.headers[.retryAfter].flatMap { Int($0) })
                #expect((60...100).contains(retryAfter), "Retry-After: \(retryAfter)")
                let error = try #require(try GatewayRouteTests.json(response)["error"] as? [String: String])
                #expect(error["code"] == "rate_limited")
            }
            // Nothing was submitted by the refused call; a made-up token is refused, not given a bucket of its own;
            // another client still gets through.
            #expect(try await backend.requestCounts() == RequestCounts())
            try await client.execute(
                uri: "/v1/queue", method: .get, headers: [.authorization: "Bearer made-up"]
            ) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/v1/queue", method: .get, headers: [.authorization: "Bearer beta"]
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }
}
