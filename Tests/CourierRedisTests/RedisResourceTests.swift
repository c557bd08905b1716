import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Testing

/// What a Redis backend holds on the server: subscriptions, connections and keys, measured with the server's own
/// introspection commands (`PUBSUB NUMSUB`, `CLIENT LIST`, `SCAN`).
@Suite("Redis resources")
struct RedisResourceTests {
    static func backend(
        _ mode: RedisWakeMode, _ server: RedisTestServer, namespace: String, ttl: Duration = .seconds(300),
        lease: Duration = .seconds(1)
    ) async throws -> RedisQueueBackend {
        try await RedisQueueBackend(
            url: server.url, wakeMode: mode,
            configuration: QueueConfiguration(queueName: "resources", leaseDuration: lease, responseTTL: ttl),
            options: .init(namespace: namespace))
    }

    /// Keys under `namespace`, counted with `SCAN` so the shared server's other tests do not matter.
    static func keys(_ server: RedisTestServer, namespace: String) throws -> [String] {
        var cursor = "0"
        var keys: [String] = []
        repeat {
            let reply = try server.command("SCAN", cursor, "MATCH", "\(namespace):*", "COUNT", "1000")
            let lines = reply.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            cursor = lines.first ?? "0"
            keys += lines.dropFirst().filter { !$0.isEmpty }
        } while cursor != "0"
        return keys
    }

    /// Connections whose name (`CLIENT SETNAME`) shows they belong to this test process's backends.
    static func connections(_ server: RedisTestServer) throws -> Int {
        try server.command("CLIENT", "LIST").split(separator: "\n").filter { $0.contains("name=courier") }.count
    }

    @Test(arguments: RedisWakeMode.allCases)
    func aThousandCancelledWaitsLeaveNothingSubscribed(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.start()
        let namespace = "cancel"
        let backend = try await Self.backend(mode, server, namespace: namespace)
        let ids = (0..<1000).map { _ in CorrelationID.generate() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, id) in ids.enumerated() {
                group.addTask {
                    if index.isMultiple(of: 2) {
                        _ = try? await backend.subscribe(to: id, timeout: .milliseconds(50))
                    } else {
                        let wait = Task { try await backend.subscribe(to: id, timeout: .seconds(60)) }
                        try await Task.sleep(for: .milliseconds(10))
                        wait.cancel()
                        _ = await wait.result
                    }
                }
            }
            try await group.waitForAll()
        }
        try await eventually { backend.activeWaits == 0 }
        try await eventually {
            let channels = try server.command("PUBSUB", "CHANNELS", "\(namespace):*")
            let replyRegistrations = try Self.keys(server, namespace: namespace).filter { $0.contains(":watch:") }
            return channels.isEmpty && replyRegistrations.isEmpty
        }
        let sample = ids.prefix(5).map { "\(namespace):{resources}:done:\($0.rawValue)" }
        let counts = try server.command(["PUBSUB", "NUMSUB"] + sample)
        #expect(
            counts.split(separator: "\n").enumerated().allSatisfy { $0.offset.isMultiple(of: 2) || $0.element == "0" })
        let held = try Self.connections(server)
        #expect(held <= 3, "connections: \(held)")
        await backend.shutdown()
        await server.stop()
    }

    @Test(arguments: RedisWakeMode.allCases)
    func aThousandWaitersShareAHandfulOfConnections(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.start()
        let backend = try await Self.backend(mode, server, namespace: "budget")
        let ids = (0..<1000).map { _ in CorrelationID.generate() }
        let waits = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in ids { group.addTask { _ = try await backend.subscribe(to: id, timeout: .seconds(120)) } }
                try await group.waitForAll()
            }
        }
        try await eventually(.seconds(60)) { backend.activeWaits >= 1000 * 2 }
        // The benchmark (docs/performance.md) shows the same at 10,000 waiters; here a thousand keep the test light.
        let held = try Self.connections(server)
        #expect(held <= 3, "1,000 waiters hold \(held) connections")
        // By its own count: the command connection and the subscriber (or reply) connection; no consumer here.
        try await eventually { backend.openConnections == 2 }
        // Answer them all from a second instance (the worker side): every waiter wakes, nothing is left behind.
        let responder = try await Self.backend(mode, server, namespace: "budget")
        for id in ids { _ = try await responder.publishResponse(.completed(id, payload: Data()), settling: nil) }
        try await waits.value
        try await eventually { backend.activeWaits == 0 }
        await responder.shutdown()
        await backend.shutdown()
        await server.stop()
    }

    @Test(arguments: RedisWakeMode.allCases)
    func keysGoBackToBaselineOnceTheirTTLsPass(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "ttl-\(UUID().uuidString.prefix(8))"
        let backend = try await Self.backend(mode, server, namespace: namespace, ttl: .seconds(1))
        let cancelled = try await backend.publishRequest(payload: Data("never mind".utf8))
        try await backend.cancel(cancelled)
        let worker = Worker(backend: backend, configuration: .init(concurrency: 4)) { $0.payload }
        let running = Task { try await worker.run() }
        for index in 0..<50 {
            let response = try await backend.send(QueueRequest(payload: Data("\(index)".utf8)), timeout: .seconds(30))
            #expect(response.status == .completed)
        }
        running.cancel()
        _ = await running.result
        #expect(try Self.keys(server, namespace: namespace).count > 0)
        // redis-streams: the queue's stream and group live while a consumer is in the group; a backend that shuts
        // down leaves it, and the last to leave an empty stream deletes it.
        if mode == .streams { await backend.shutdown() }
        try await eventually(.seconds(30)) { try Self.keys(server, namespace: namespace).isEmpty }
        let left = try Self.keys(server, namespace: namespace)
        #expect(left.isEmpty, "keys left behind: \(left)")
        await backend.shutdown()
    }

    @Test func queueDepthCountsWhatWaitsForAConsumer() async throws {
        let server = try await RedisTestServer.shared()
        // A lease long enough that the release below never finds it expired on a loaded machine.
        let backend = try await Self.backend(
            .list, server, namespace: "depth-\(UUID().uuidString.prefix(8))", lease: .seconds(60))
        #expect(try await backend.pendingRequestCount() == 0)
        for index in 0..<3 { try await backend.publishRequest(payload: Data("\(index)".utf8)) }
        #expect(try await backend.pendingRequestCount() == 3)
        var consumer = backend.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await consumer.next())
        #expect(try await backend.pendingRequestCount() == 2)
        try await backend.release(delivery.lease, retryAfter: .seconds(60), reason: "later")
        #expect(try await backend.pendingRequestCount() == 3)
        await backend.shutdown()
    }

    @Test func aWrongPasswordIsAClearErrorThatHidesThePassword() async throws {
        let server = try await RedisTestServer.start(password: "right-horse-battery")
        let url = "redis://:wrong-staple@127.0.0.1:\(server.port)/0"
        do {
            _ = try await RedisQueueBackend(url: url, wakeMode: .pubSub)
            Issue.record("a wrong password was accepted")
        } catch let error as CourierError {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("credentials"))
            #expect(!error.message.contains("wrong-staple"))
        }
        let backend = try await RedisQueueBackend(url: server.url, wakeMode: .list)
        #expect(try await backend.status(of: try CorrelationID("nobody")) == .unknown)
        await backend.shutdown()
        await server.stop()
    }

    @Test func anUnreachableServerIsAClearErrorWithinTheConnectTimeout() async throws {
        let closedPort = try await RedisTestServer.start()
        await closedPort.stop()
        let started = ContinuousClock.now
        await #expect(throws: CourierError.self) {
            _ = try await RedisQueueBackend(
                url: "redis://127.0.0.1:\(closedPort.port)/0?connect_timeout=1", wakeMode: .pubSub)
        }
        // A host that never answers (TEST-NET-1, RFC 5737): the connect timeout bounds the wait.
        do {
            _ = try await RedisQueueBackend(url: "redis://192.0.2.1:6379/0?connect_timeout=1", wakeMode: .list)
            Issue.record("an unreachable host was reported reachable")
        } catch let error as CourierError {
            #expect(error.code == .backendUnavailable)
            #expect(error.message.contains("192.0.2.1"))
        }
        #expect(started.duration(to: .now) < .seconds(10))
    }
}
