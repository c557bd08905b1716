import CourierTestSupport
import Foundation
import Testing

@Suite("courier CLI")
struct CourierCLITests {
    @Test func unknownQueueTypeNamesTheValidOnesAndExitsTwo() async throws {
        let outcome = try await CourierExecutable.run(["status", "some-id"], environment: ["QUEUE_TYPE": "bogus"])
        #expect(outcome.exitCode == 2)
        #expect(outcome.standardError.split(separator: "\n").count == 1)
        #expect(outcome.standardError.contains("memory, redis-list, redis-pubsub, redis-streams, sqlite"))
    }

    @Test(arguments: ["submit", "wait", "status", "cancel"])
    func memoryQueueFromAnotherProcessSaysSo(command: String) async throws {
        let arguments = command == "submit" ? [command, "payload"] : [command, "some-id"]
        let outcome = try await CourierExecutable.run(arguments, environment: ["QUEUE_TYPE": "memory"])
        #expect(outcome.exitCode == 2)
        #expect(outcome.standardError.contains("inside one process"))
    }

    @Test func badUsageExitsTwo() async throws {
        let outcome = try await CourierExecutable.run(["worker", "--handler", "exec"])
        #expect(outcome.exitCode == 2)
        let invalidID = try await CourierExecutable.run(
            ["status", "bad\tid"], environment: ["QUEUE_TYPE": "memory"])
        #expect(invalidID.exitCode == 2)
        let badNumber = try await CourierExecutable.run(
            ["bench", "--requests", "10"], environment: ["WORKER_CONCURRENCY": "lots"])
        #expect(badNumber.exitCode == 2)
        #expect(badNumber.standardError.contains("WORKER_CONCURRENCY"))
    }

    @Test func demoPrintsItsSummary() async throws {
        let outcome = try await CourierExecutable.run(["demo", "--requests", "300"])
        #expect(outcome.exitCode == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("300/300 round trips answered"))
        #expect(outcome.standardOutput.contains("round trips/s, p50"))
    }

    @Test func benchPrintsOneJSONObject() async throws {
        let outcome = try await CourierExecutable.run(["bench", "--requests", "2000", "--json"])
        #expect(outcome.exitCode == 0, "\(outcome.standardError)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
        for field in [
            "round_trips_per_second", "p50_ms", "p95_ms", "p99_ms", "max_ms", "peak_rss_bytes", "requests", "inflight",
            "queue_type",
        ] {
            #expect(object[field] != nil, "missing \(field)")
        }
        #expect(object["queue_type"] as? String == "memory")
        #expect(object["requests"] as? Int == 2000)
    }

    @Test func helpNamesEveryVariableWithItsDefaultAndEveryCommandNamesQUEUE_TYPE() async throws {
        let top = try await CourierExecutable.run(["--help"])
        #expect(top.exitCode == 0)
        for variable in [
            "QUEUE_TYPE", "QUEUE_NAME", "SQLITE_PATH", "SQLITE_SYNCHRONOUS", "REDIS_URL", "WORKER_CONCURRENCY",
            "COURIER_LEASE_SECONDS", "COURIER_MAX_ATTEMPTS", "COURIER_RESPONSE_TTL_SECONDS",
            "COURIER_HANDLER_TIMEOUT_SECONDS", "COURIER_MAX_INFLIGHT", "COURIER_GLOBAL_INFLIGHT",
            "COURIER_RATE_LIMIT", "COURIER_RATE_BURST", "LOG_LEVEL", "COURIER_EVENTS_KEPT",
            "COURIER_EVENT_FLUSH_SECONDS",
        ] {
            let line = top.standardOutput.split(separator: "\n").first { $0.hasPrefix("  \(variable) ") }
            #expect(line?.contains("[") == true, "\(variable) is missing from 'courier --help' or has no default")
        }
        for command in ["worker", "submit", "wait", "follow", "status", "cancel", "bench", "demo"] {
            let help = try await CourierExecutable.run([command, "--help"])
            #expect(
                help.standardOutput.contains("QUEUE_TYPE"), "'courier \(command) --help' does not mention QUEUE_TYPE")
        }
    }
}
