import Courier
import CourierHTTP
import CourierRedis
import CourierSQLite
import CourierTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The gateway over every queue type: memory, SQLite (a real file) and the three Redis modes (a real server the
/// tests start), with a worker in the same application that streams progress and chunks.
@Suite("HTTP gateway over every queue type")
struct GatewayQueueTypeTests {
    enum Kind: String, CaseIterable, Sendable {
        case memory, sqlite, redisList = "redis-list", redisPubSub = "redis-pubsub", redisStreams = "redis-streams"
    }

    static func backend(_ kind: Kind) async throws -> any QueueBackend {
        let configuration = QueueConfiguration(queueName: "gateway-\(UUID().uuidString.prefix(8))")
        switch kind {
        case .memory:
            return try MemoryQueueBackend(configuration: configuration)
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try await SQLiteQueueBackend(
                path: directory.appendingPathComponent("queue.sqlite3").path, configuration: configuration)
        case .redisList, .redisPubSub, .redisStreams:
            let server = try await RedisTestServer.shared()
            return try await RedisQueueBackend(
                url: server.url, wakeMode: RedisWakeMode(rawValue: kind.rawValue)!, configuration: configuration,
                options: .init(namespace: "gateway-\(UUID().uuidString.prefix(8))"))
        }
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test(arguments: Kind.allCases)
    func aTaskGoesThroughEveryRoute(_ kind: Kind) async throws {
        let backend = try await Self.backend(kind)
        let worker = Worker(backend: backend, configuration: .init(concurrency: 2, gracePeriod: .zero)) {
            request, events in
            try await events.progress(fraction: 0.5, message: "half way", counter: 1)
            try await events.write("Hel")
            try await events.write("lo")
            return request.payload
        }
        let router = Router()
        CourierGateway(backend: backend, configuration: .init(maxWait: .seconds(30))).addRoutes(to: router)
        let app = Application(router: router, services: [worker])
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/tasks/submit?wait=30", method: .post,
                headers: [.contentType: "application/json", .init("Idempotency-Key")!: "\(kind)-1"],
                body: ByteBuffer(string: #"{"message": "hi"}"#)
            ) { response in
                #expect(response.status == .ok, "\(kind)")
                let task = try Self.json(response)
                #expect((task["result"] as? [String: Any])?["message"] as? String == "hi", "\(kind): \(task)")
            }
            try await client.execute(uri: "/v1/tasks/\(kind)-1/status", method: .get) { response in
                let task = try Self.json(response)
                #expect(task["status"] as? String == "completed", "\(kind): \(task)")
                #expect((task["progress"] as? [String: Any])?["message"] as? String == "half way", "\(kind): \(task)")
                #expect(task["finished_at"] is String && task["submitted_at"] is String, "\(kind): \(task)")
            }
            try await client.execute(uri: "/v1/tasks/\(kind)-1/events", method: .get) { response in
                let stream = String(buffer: response.body)
                #expect(response.headers[.contentType] == "text/event-stream", "\(kind)")
                #expect(stream.contains("event: attempt") && stream.contains("event: progress"), "\(kind): \(stream)")
                #expect(
                    stream.contains(#"{"text":"Hello"}"#) || stream.contains(#"{"text":"Hel"}"#), "\(kind): \(stream)")
                #expect(stream.hasSuffix("\n\n") && stream.contains("event: result"), "\(kind): \(stream)")
            }
            try await client.execute(
                uri: "/v1/tasks/\(kind)-1/events", method: .get, headers: [.init("Last-Event-ID")!: "100"]
            ) { response in
                let stream = String(buffer: response.body)
                #expect(!stream.contains("event: chunk") && stream.contains("event: result"), "\(kind): \(stream)")
            }
            try await client.execute(uri: "/v1/tasks/\(kind)-1/cancel", method: .post) { response in
                #expect(response.status == .conflict, "\(kind)")
            }
            try await client.execute(uri: "/v1/tasks/\(kind)-none/wait?timeout=1", method: .get) { response in
                #expect(response.status == .notFound, "\(kind)")
            }
            try await client.execute(uri: "/v1/tasks?status=completed", method: .get) { response in
                let tasks = try #require(try Self.json(response)["tasks"] as? [[String: Any]], "\(kind)")
                #expect(tasks.map { $0["task_id"] as? String } == ["\(kind)-1"], "\(kind): \(tasks)")
                #expect((tasks.first?["progress"] as? [String: Any])?["message"] as? String == "half way", "\(kind)")
            }
            try await client.execute(uri: "/v1/queue", method: .get) { response in
                let counts = try Self.json(response)
                #expect(counts["pending"] as? Int == 0 && counts["running"] as? Int == 0, "\(kind): \(counts)")
                #expect(counts["finished"] as? [String: Int] == ["completed": 1], "\(kind): \(counts)")
            }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok, "\(kind)") }
        }
        await backend.shutdown()
    }
}
