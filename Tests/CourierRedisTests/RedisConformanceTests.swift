import Courier
import CourierConformance
import CourierRedis
import Foundation
import Testing

/// Certifies a Redis adapter with the conformance kit against a real `redis-server` started by the tests. Every
/// harness uses a fresh key namespace; the restart case gets a server of its own so restarting it cannot
/// disturb cases running beside it.
struct RedisHarness: ConformanceHarness {
    let server: RedisTestServer
    let wakeMode: RedisWakeMode
    let namespace = "test-\(UUID().uuidString.prefix(8))"

    var declaredCapabilities: QueueCapabilities { [.fifo, .durable, .shared, .pushWakeups] }
    var timing: ConformanceTiming {
        .init(lease: .seconds(1), responseTTL: .seconds(1), wakeBound: .milliseconds(100), scale: 2)
    }
    var availableHooks: ConformanceHooks { [.reopen, .restartServer, .resourceProbe] }

    func makeBackend(configuration: QueueConfiguration) async throws -> any QueueBackend {
        try await RedisQueueBackend(
            url: server.url, wakeMode: wakeMode, configuration: configuration,
            options: .init(namespace: namespace))
    }

    func restartServer() async throws {
        try await server.restart(down: .milliseconds(300))
    }

    func openResources(of backend: any QueueBackend) async throws -> Int {
        (backend as! RedisQueueBackend).activeWaits
    }
}

@Suite("Redis adapter conformance")
struct RedisConformanceTests {
    static func harness(_ mode: RedisWakeMode, for testCase: ConformanceCase) throws -> RedisHarness {
        let server = testCase.requirement.hooks.contains(.restartServer) ? try RedisTestServer() : .shared
        return RedisHarness(server: server, wakeMode: mode)
    }

    @Test(arguments: Conformance.cases(for: RedisHarness(server: .shared, wakeMode: .pubSub)))
    func pubSub(_ testCase: ConformanceCase) async throws {
        let harness = try Self.harness(.pubSub, for: testCase)
        defer { if harness.server !== RedisTestServer.shared { harness.server.stop() } }
        try await testCase.run(harness)
    }

    @Test(arguments: Conformance.cases(for: RedisHarness(server: .shared, wakeMode: .list)))
    func list(_ testCase: ConformanceCase) async throws {
        let harness = try Self.harness(.list, for: testCase)
        defer { if harness.server !== RedisTestServer.shared { harness.server.stop() } }
        try await testCase.run(harness)
    }

    @Test(arguments: [RedisWakeMode.pubSub, .list])
    func capabilities(_ mode: RedisWakeMode) async throws {
        try await Conformance.checkCapabilities(RedisHarness(server: .shared, wakeMode: mode))
    }
}
