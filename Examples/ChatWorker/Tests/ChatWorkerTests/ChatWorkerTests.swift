import ChatWorkerCore
import Courier
import CourierRuntime
import CourierSQLite
import Foundation
import ServiceLifecycle
import Testing

/// The example worker, selected by `QUEUE_TYPE` through `CourierRuntime`, against a fake OpenAI-compatible server
/// on loopback: tokens stream through, a 429's `Retry-After` is honoured, a 400 fails at once, a 500 and a server
/// that hangs are retried.
@Suite("Chat worker example")
struct ChatWorkerTests {
    /// Runs the example's worker on a fresh SQLite queue with the model `model`, hands `body` a client of the
    /// same queue, then stops the worker.
    func withWorker(
        model: String, _ extra: [String: String] = [:], backoff: RetryPolicy? = nil,
        _ body: (SQLiteQueueBackend, FakeChatServer) async throws -> Void
    ) async throws {
        let fake = try await FakeChatServer.start()
        defer { fake.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("queue.sqlite3").path
        let environment = QueueEnvironment(
            values: [
                "QUEUE_TYPE": "sqlite", "SQLITE_PATH": path, "QUEUE_NAME": "chat", "LOG_LEVEL": "error",
                "OPENAI_BASE_URL": "http://127.0.0.1:\(fake.port)/v1", "OPENAI_API_KEY": "test-key",
                "OPENAI_MODEL": model, "COURIER_EVENT_FLUSH_SECONDS": "0",
            ].merging(extra) { $1 })
        let handler = ChatHandler(client: ChatModelClient(settings: try ChatModelSettings(environment: environment)))
        var application = try WorkerApplication(environment: environment, streamingHandler: handler.handle)
        if let backoff { application.configuration.retry = backoff }
        let group = ServiceGroup(services: [application.service], logger: application.logger)
        let running = Task { try await group.run() }
        let client = try await SQLiteQueueBackend(path: path, configuration: try environment.queueConfiguration())
        do {
            try await body(client, fake)
        } catch {
            await group.triggerGracefulShutdown()
            await client.shutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
        await client.shutdown()
    }

    static func ask(_ client: some QueueBackend) async throws -> CorrelationID {
        let request = try QueueRequest(json: ChatRequest(message: "What is Courier?", sessionID: "s-1"))
        try await client.publishRequest(request)
        return request.correlationID
    }

    @Test func tokensStreamThroughAndTheAnswerIsTheChatResponse() async throws {
        try await withWorker(model: "streams") { client, fake in
            let id = try await Self.ask(client)
            var streamed = ""
            var final: QueueResponse?
            for try await element in client.events(for: id) {
                if case .event(let record) = element, case .chunk(let bytes) = record.event {
                    streamed += String(decoding: bytes, as: UTF8.self)
                }
                if case .final(let response) = element { final = response }
            }
            let response = try #require(final)
            #expect(response.status == .completed, "\(response.error ?? "")")
            let answer = try response.decode(ChatResponse.self)
            #expect(answer.status == "ok")
            #expect(answer.message == FakeChatServer.tokens.joined())
            #expect(streamed == answer.message, "the chunks the client followed are the answer")
            #expect(answer.thinkingLog?.contains("streamed \(FakeChatServer.tokens.count) tokens") == true)
            #expect(fake.calls.map(\.authorization) == ["Bearer test-key"])
        }
    }

    @Test func aRateLimitIsRetriedAfterItsRetryAfterNotTheBackoff() async throws {
        let slow = RetryPolicy(initialDelay: .seconds(120), maximumDelay: .seconds(120), jitter: 0)
        try await withWorker(model: "rate-limited", backoff: slow) { client, fake in
            let response = try await client.response(for: try await Self.ask(client), timeout: .seconds(60))
            #expect(response.status == .completed, "\(response.error ?? "")")
            let times = fake.calls.map(\.at)
            #expect(times.count == 3)
            for index in 1..<times.count { #expect(times[index] - times[index - 1] >= .milliseconds(900)) }
        }
    }

    @Test func aRejectedRequestFailsAtOnce() async throws {
        try await withWorker(model: "invalid") { client, fake in
            let response = try await client.response(for: try await Self.ask(client), timeout: .seconds(60))
            #expect(response.status == .failed)
            #expect(response.error?.contains("HTTP 400") == true, "\(response.error ?? "")")
            #expect(response.error?.contains("unknown model") == true)
            #expect(fake.calls.count == 1)
        }
    }

    @Test func aServerErrorAndAHungServerAreRetriedThenFail() async throws {
        let fast = RetryPolicy(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(50))
        for (model, extra) in [("broken", [:]), ("hangs", ["OPENAI_TIMEOUT_SECONDS": "1"])] {
            try await withWorker(model: model, extra.merging(["COURIER_MAX_ATTEMPTS": "2"]) { $1 }, backoff: fast) {
                client, fake in
                let response = try await client.response(for: try await Self.ask(client), timeout: .seconds(60))
                #expect(response.status == .failed, "\(model)")
                #expect(fake.calls.count == 2, "\(model): one retry")
                if model == "broken" { #expect(response.error?.contains("HTTP 500") == true) }
            }
        }
    }

    @Test func settingsAreCheckedAtStart() {
        #expect(throws: CourierError.self) {
            try ChatModelSettings(environment: QueueEnvironment(values: ["OPENAI_BASE_URL": "ftp://nope"]))
        }
        #expect(throws: CourierError.self) {
            try ChatModelSettings(environment: QueueEnvironment(values: ["OPENAI_TIMEOUT_SECONDS": "0"]))
        }
    }
}
