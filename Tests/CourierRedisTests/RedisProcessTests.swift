import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Testing

/// `courier worker` processes against a real Redis: one killed with `kill -9` mid-request loses nothing.
@Suite("courier over Redis, across processes")
struct RedisProcessTests {
    @Test(arguments: [RedisWakeMode.pubSub, .list])
    func aWorkerKilledMidRequestIsRedeliveredAndAnsweredOnce(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.shared()
        let queue = "kill-\(UUID().uuidString.prefix(8))"
        let environment = [
            "QUEUE_TYPE": mode.rawValue, "REDIS_URL": server.url, "QUEUE_NAME": queue,
            "COURIER_LEASE_SECONDS": "1", "LOG_LEVEL": "warning",
        ]
        let stuck = try CourierExecutable.start(
            ["worker", "--handler", "exec", "--", "sh", "-c", "sleep 60"], environment: environment)
        defer { kill(stuck, SIGKILL) }
        let submitted = try await CourierExecutable.run(
            ["submit", "--id", "crash-1", "survive"], environment: environment)
        #expect(submitted.exitCode == 0, "\(submitted.standardError)")
        try await eventually {
            try await CourierExecutable.run(["status", "crash-1"], environment: environment).standardOutput
                .hasPrefix("running")
        }
        kill(stuck, SIGKILL)
        #expect(try await CourierExecutable.waitForExit(stuck, within: .seconds(10)))

        let healthy = try CourierExecutable.start(["worker", "--handler", "echo"], environment: environment)
        defer { kill(healthy, SIGKILL) }
        let answer = try await CourierExecutable.run(["wait", "crash-1", "--timeout", "60"], environment: environment)
        #expect(answer.exitCode == 0, "\(answer.standardError)")
        #expect(answer.standardOutput == "survive")

        // Answered once: the stored response came from the second attempt, and it is the only one.
        let backend = try await RedisQueueBackend(
            url: server.url, wakeMode: mode, configuration: QueueConfiguration(queueName: queue))
        let response = try #require(try await backend.getResponse(for: try CorrelationID("crash-1")))
        #expect(response.status == .completed)
        #expect(try await backend.status(of: try CorrelationID("crash-1")) == .finished(.completed))
        await backend.shutdown()
    }

    @Test func benchRunsUnderTheGlobalLimit() async throws {
        let server = try await RedisTestServer.shared()
        let outcome = try await CourierExecutable.run(
            ["bench", "--requests", "300", "--inflight", "16", "--json"],
            environment: [
                "QUEUE_TYPE": "redis-pubsub", "REDIS_URL": server.url,
                "QUEUE_NAME": "bench-\(UUID().uuidString.prefix(8))",
                "COURIER_GLOBAL_INFLIGHT": "3", "LOG_LEVEL": "warning",
            ])
        #expect(outcome.exitCode == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("\"failures\": 0"))
    }
}
