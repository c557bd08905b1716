import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Testing

/// `courier worker` processes against a real Redis: one killed with `kill -9` mid-request loses nothing.
@Suite("courier over Redis, across processes")
struct RedisProcessTests {
    @Test(arguments: RedisWakeMode.allCases)
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

    /// Every command on every Redis mode: submit, status, follow, cancel and bench.
    @Test(arguments: RedisWakeMode.allCases)
    func everyCommandWorksOnEveryMode(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.shared()
        let environment = [
            "QUEUE_TYPE": mode.rawValue, "REDIS_URL": server.url,
            "QUEUE_NAME": "commands-\(UUID().uuidString.prefix(8))",
            "LOG_LEVEL": "warning",
        ]
        let submitted = try await CourierExecutable.run(["submit", "--id", "held", "q"], environment: environment)
        #expect(submitted.exitCode == 0, "\(submitted.standardError)")
        let pending = try await CourierExecutable.run(["status", "held"], environment: environment)
        #expect(pending.standardOutput.hasPrefix("pending"), "\(pending.standardOutput)")
        let cancelled = try await CourierExecutable.run(["cancel", "held"], environment: environment)
        #expect(cancelled.exitCode == 0, "\(cancelled.standardError)")
        let followed = try await CourierExecutable.run(["follow", "held"], environment: environment)
        #expect(followed.exitCode == 1, "a cancelled request's follow ends with its status: \(followed.standardError)")
        #expect(
            try await CourierExecutable.run(["status", "held"], environment: environment).standardOutput
                .hasPrefix("cancelled"))
        let bench = try await CourierExecutable.run(
            ["bench", "--requests", "300", "--inflight", "16", "--json"], environment: environment)
        #expect(bench.exitCode == 0, "\(bench.standardError)")
        #expect(bench.standardOutput.contains("\"queue_type\": \"\(mode.rawValue)\""))
        #expect(bench.standardOutput.contains("\"failures\": 0"))
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

    /// Workers and Redis start in any order: a worker whose server is down waits, says so, and serves once the
    /// server is up; SIGTERM stops it while it waits.
    @Test func aWorkerStartedBeforeRedisWaitsForIt() async throws {
        let server = try await RedisTestServer.start()
        await server.stop()
        let environment = [
            "QUEUE_TYPE": "redis-pubsub", "REDIS_URL": server.url, "QUEUE_NAME": "late-\(UUID().uuidString.prefix(8))",
            "LOG_LEVEL": "info",
        ]
        let log = server.directory.appendingPathComponent("worker.log").path
        let worker = try CourierExecutable.start(["worker"], environment: environment, standardErrorPath: log)
        defer { kill(worker, SIGKILL) }
        try await eventually {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("cannot reach the queue; retrying")
        }
        #expect(!(try await CourierExecutable.waitForExit(worker, within: .milliseconds(500))), "the worker gave up")
        try await server.start()
        let answer = try await CourierExecutable.run(
            ["submit", "--wait", "--timeout", "60", "late"], environment: environment)
        #expect(answer.exitCode == 0, "\(answer.standardError)")
        #expect(answer.standardOutput == "late")
        kill(worker, SIGTERM)
        #expect(try await CourierExecutable.waitForExit(worker, within: .seconds(30)))
        await server.stop()
    }

    @Test func aWorkerWaitingForRedisStopsOnSIGTERM() async throws {
        let server = try await RedisTestServer.start()
        await server.stop()
        let log = server.directory.appendingPathComponent("worker.log").path
        let worker = try CourierExecutable.start(
            ["worker"], environment: ["QUEUE_TYPE": "redis-list", "REDIS_URL": server.url, "LOG_LEVEL": "info"],
            standardErrorPath: log)
        defer { kill(worker, SIGKILL) }
        try await eventually {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("cannot reach the queue; retrying")
        }
        kill(worker, SIGTERM)
        #expect(try await CourierExecutable.waitForExit(worker, within: .seconds(10)))
    }
}
