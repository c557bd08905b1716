import Courier
import CourierConformance
import CourierRedis
import CourierTestSupport
import Foundation
import Testing

/// Certifies a Redis adapter with the conformance kit against a real `redis-server` started by the tests. Every
/// harness uses a fresh key namespace; the restart case gets a server of its own so restarting it cannot
/// disturb cases running beside it.
struct RedisHarness: ConformanceHarness {
    /// Nil only in the harness used to list the cases.
    let server: RedisTestServer?
    let wakeMode: RedisWakeMode
    let namespace = "test-\(UUID().uuidString.prefix(8))"

    var declaredCapabilities: QueueCapabilities {
        [.fifo, .durable, .shared, .pushWakeups, .eventStreams, .requestListing]
    }
    /// Leases, TTLs and bounds generous enough for a loaded 2-core machine running the whole suite at once.
    var timing: ConformanceTiming {
        .init(lease: .seconds(4), responseTTL: .seconds(4), wakeBound: .milliseconds(100), scale: 10)
    }
    var availableHooks: ConformanceHooks { [.reopen, .restartServer, .resourceProbe] }

    func makeBackend(configuration: QueueConfiguration) async throws -> any QueueBackend {
        guard let server else { throw CourierError(.backendUnavailable, "no test server") }
        return try await RedisQueueBackend(
            url: server.url, wakeMode: wakeMode, configuration: configuration,
            options: .init(namespace: namespace))
    }

    func restartServer() async throws {
        try await server?.restart(down: .milliseconds(300))
    }

    func openResources(of backend: any QueueBackend) async throws -> Int {
        (backend as! RedisQueueBackend).activeWaits
    }
}

@Suite("Redis adapter conformance")
struct RedisConformanceTests {
    static let listing = RedisHarness(server: nil, wakeMode: .pubSub)

    /// Runs `testCase` on the shared server, or on a server of its own when the case restarts the server.
    static func run(_ testCase: ConformanceCase, _ mode: RedisWakeMode) async throws {
        guard testCase.requirement.hooks.contains(.restartServer) else {
            return try await testCase.run(RedisHarness(server: try await .shared(), wakeMode: mode))
        }
        let server = try await RedisTestServer.start()
        do {
            try await testCase.run(RedisHarness(server: server, wakeMode: mode))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test(arguments: Conformance.cases(for: listing))
    func pubSub(_ testCase: ConformanceCase) async throws {
        try await Self.run(testCase, .pubSub)
    }

    @Test(arguments: Conformance.cases(for: listing))
    func list(_ testCase: ConformanceCase) async throws {
        try await Self.run(testCase, .list)
    }

    @Test(arguments: Conformance.cases(for: listing))
    func streams(_ testCase: ConformanceCase) async throws {
        try await Self.run(testCase, .streams)
    }

    @Test(arguments: RedisWakeMode.allCases)
    func capabilities(_ mode: RedisWakeMode) async throws {
        try await Conformance.checkCapabilities(RedisHarness(server: try await .shared(), wakeMode: mode))
    }
}
