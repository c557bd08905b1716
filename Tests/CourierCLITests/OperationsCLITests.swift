import CourierTestSupport
import Testing

@Suite("courier operations settings")
struct OperationsCLITests {
    @Test func benchHonoursTheProcessLimits() async throws {
        let outcome = try await CourierExecutable.run(
            ["bench", "--requests", "200", "--inflight", "8", "--json"],
            environment: ["COURIER_MAX_INFLIGHT": "2", "COURIER_RATE_LIMIT": "100000"])
        #expect(outcome.exitCode == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("\"failures\": 0"))
    }

    @Test func badLimitsAndMetricsPortsExitTwo() async throws {
        let badGate = try await CourierExecutable.run(
            ["bench", "--requests", "1"], environment: ["COURIER_MAX_INFLIGHT": "0"])
        #expect(badGate.exitCode == 2)
        #expect(badGate.standardError.contains("COURIER_MAX_INFLIGHT"))
        let badRate = try await CourierExecutable.run(
            ["bench", "--requests", "1"], environment: ["COURIER_RATE_LIMIT": "fast"])
        #expect(badRate.exitCode == 2)
        let globalWithoutRedis = try await CourierExecutable.run(
            ["bench", "--requests", "1"], environment: ["COURIER_GLOBAL_INFLIGHT": "4"])
        #expect(globalWithoutRedis.exitCode == 2)
        #expect(globalWithoutRedis.standardError.contains("redis-pubsub"))
        let badPort = try await CourierExecutable.run(["worker", "--metrics-port", "70000"])
        #expect(badPort.exitCode == 2)
    }
}
