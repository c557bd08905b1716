import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Synchronization
import Testing

/// A Redis server (append-only, `appendfsync always`) restarted under a client with waiters and a worker whose
/// handlers are mid-request and whose consumer is blocked on an empty queue.
@Suite("Redis restarts")
struct RedisRestartTests {
    @Test(arguments: RedisWakeMode.allCases)
    func everythingCompletesAfterARestart(_ mode: RedisWakeMode) async throws {
        // redis-pubsub runs with a password and database 2, so reconnecting must re-authenticate and re-select.
        let server = try await RedisTestServer.start(password: mode == .pubSub ? "restart-secret" : nil)
        let url = server.url(database: mode == .pubSub ? 2 : 0)
        let configuration = QueueConfiguration(queueName: "restart", leaseDuration: .seconds(10))
        let client = try await RedisQueueBackend(url: url, wakeMode: mode, configuration: configuration)
        let workerSide = try await RedisQueueBackend(url: url, wakeMode: mode, configuration: configuration)
        let gate = Gate()
        let calls = Mutex<[String: Int]>([:])
        let held = Worker(backend: workerSide, configuration: .init(concurrency: 4)) { request in
            calls.withLock { $0[request.correlationID.rawValue, default: 0] += 1 }
            await gate.wait()
            return request.payload
        }
        let running = Task { try await held.run() }

        // Four requests before the restart reach handlers that are held until after it.
        let before = try (0..<4).map { try CorrelationID("before-\($0)") }
        for id in before {
            try await client.publishRequest(QueueRequest(correlationID: id, payload: Data(id.rawValue.utf8)))
        }
        try await eventually { calls.withLock { $0.count } == 4 }
        // A second worker process (its own backend) waits on the empty queue: blocked in BLPOP (XREADGROUP in
        // redis-streams) at the restart.
        let idleSide = try await RedisQueueBackend(url: url, wakeMode: mode, configuration: configuration)
        let idle = Worker(backend: idleSide, configuration: .init(concurrency: 2)) { request in
            calls.withLock { $0[request.correlationID.rawValue, default: 0] += 1 }
            return request.payload
        }
        let idleRunning = Task { try await idle.run() }
        try await eventually {
            try server.command("CLIENT", "LIST").contains(mode == .streams ? "cmd=xreadgroup" : "cmd=blpop")
        }
        // Waiters for those four and for six requests published only after the restart.
        let after = try (0..<6).map { try CorrelationID("after-\($0)") }
        let waits = Task {
            try await withThrowingTaskGroup(of: QueueResponse.self) { group in
                for id in before + after { group.addTask { try await client.subscribe(to: id, timeout: .seconds(60)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        try await eventually { client.activeWaits >= 10 * 2 }

        try await server.restart(down: .milliseconds(500))
        for id in after {
            try await client.publishRequest(QueueRequest(correlationID: id, payload: Data(id.rawValue.utf8)))
        }
        // The worker that was blocked takes the new requests while the held handlers are still held.
        for id in after {
            let response = try await client.subscribe(to: id, timeout: .seconds(60))
            #expect(response.status == .completed)
        }
        gate.open()

        let responses = try await waits.value
        if mode == .pubSub { #expect(try server.command("CLIENT", "LIST").contains("db=2")) }
        #expect(Set(responses.map(\.correlationID)) == Set(before + after))
        #expect(responses.allSatisfy { $0.status == .completed && $0.payload == Data($0.correlationID.rawValue.utf8) })
        let handled = calls.withLock { $0 }
        #expect(handled.count == 10 && handled.values.allSatisfy { $0 == 1 }, "handler calls: \(handled)")

        idleRunning.cancel()
        _ = await idleRunning.result
        await idleSide.shutdown()
        running.cancel()
        _ = await running.result
        await client.shutdown()
        await workerSide.shutdown()
        await server.stop()
    }

    @Test func aServerThatStaysDownFailsCallsWithinTheReconnectWindow() async throws {
        let server = try await RedisTestServer.start()
        var options = try RedisConnectionOptions(url: server.url)
        options.reconnectWindow = .seconds(1)
        let backend = try await RedisQueueBackend(connection: options, wakeMode: .pubSub)
        _ = try await backend.status(of: try CorrelationID("warm-up"))
        await server.stop()
        let started = ContinuousClock.now
        await #expect(throws: CourierError.self) { try await backend.publishRequest(payload: Data("lost?".utf8)) }
        #expect(started.duration(to: .now) < .seconds(15))
        await backend.shutdown()
    }
}

/// A one-shot latch for holding handlers until a test lets them go.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.open { return true }
                state.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}
