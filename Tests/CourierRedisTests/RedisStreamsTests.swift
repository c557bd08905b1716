import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Synchronization
import Testing

/// What redis-streams adds to the shared Redis behaviour: the queue as Redis's own tools show it, the stream
/// bounded by the work in flight, consumers that read and died, and an idle consumer's commands.
@Suite("redis-streams")
struct RedisStreamsTests {
    static func backend(
        _ server: RedisTestServer, namespace: String, lease: Duration = .seconds(4)
    ) async throws -> RedisQueueBackend {
        try await RedisQueueBackend(
            url: server.url, wakeMode: .streams,
            configuration: QueueConfiguration(queueName: "streams", leaseDuration: lease),
            options: .init(namespace: namespace))
    }

    static func stream(_ namespace: String) -> String { "\(namespace):{streams}:stream" }

    /// A field of a flat `field value field value` reply, as the test client prints it (one item per line).
    static func field(_ name: String, in reply: String) -> String? {
        let lines = reply.split(separator: "\n").map(String.init)
        guard let index = lines.firstIndex(of: name), index + 1 < lines.count else { return nil }
        return lines[index + 1]
    }

    @Test func xinfoAndXpendingShowTheQueueAndItsLeasesAndTheStreamHoldsOnlyWorkInFlight() async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "xinfo-\(UUID().uuidString.prefix(8))"
        let stream = Self.stream(namespace)
        let backend = try await Self.backend(server, namespace: namespace, lease: .seconds(60))
        var ids: [CorrelationID] = []
        for _ in 0..<3 { ids.append(try await backend.publishRequest(payload: Data("x".utf8))) }
        #expect(try server.command("XLEN", stream) == "3")

        var deliveries = backend.consumeRequests().makeAsyncIterator()
        let held = try #require(try await deliveries.next())
        #expect(held.request.correlationID == ids[0])
        let group = try server.command("XINFO", "GROUPS", stream)
        #expect(Self.field("name", in: group) == "workers")
        #expect(Self.field("pending", in: group) == "1", "\(group)")
        // XPENDING names the leased entry's consumer: this process (host, pid, a random part).
        let pending = try server.command("XPENDING", stream, "workers", "-", "+", "10")
        let pid = "\(ProcessInfo.processInfo.processIdentifier)"
        #expect(pending.split(separator: "\n").count == 4, "\(pending)")
        #expect(pending.contains("-\(pid)-"), "\(pending)")

        // Extending the lease restarts the entry's idle time.
        try await Task.sleep(for: .milliseconds(1200))
        let idleBefore = Int(try server.command("XPENDING", stream, "workers", "-", "+", "1").split(separator: "\n")[2])
        _ = try await backend.extendLease(held.lease)
        let idleAfter = Int(try server.command("XPENDING", stream, "workers", "-", "+", "1").split(separator: "\n")[2])
        #expect(
            (idleBefore ?? 0) >= 1000 && (idleAfter ?? .max) < 1000,
            "idle \(String(describing: idleBefore)) → \(String(describing: idleAfter))")

        // Answered requests leave the stream: its length is the work waiting or in flight.
        _ = try await backend.publishResponse(
            .completed(held.request.correlationID, payload: Data()), settling: held.lease)
        #expect(try server.command("XLEN", stream) == "2")
        for _ in 0..<2 {
            let delivery = try #require(try await deliveries.next())
            _ = try await backend.publishResponse(
                .completed(delivery.request.correlationID, payload: Data()), settling: delivery.lease)
        }
        #expect(try server.command("XLEN", stream) == "0")
        #expect(Self.field("pending", in: try server.command("XINFO", "GROUPS", stream)) == "0")
        await backend.shutdown()
        #expect(try server.command("EXISTS", stream) == "0", "the last consumer to leave deletes the empty stream")
    }

    @Test func anEntryReadByAConsumerThatDiedBeforeLeasingItIsDeliveredOnce() async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "orphan-\(UUID().uuidString.prefix(8))"
        let stream = Self.stream(namespace)
        let backend = try await Self.backend(server, namespace: namespace, lease: .seconds(1))
        let id = try await backend.publishRequest(payload: Data("orphan".utf8))
        // A consumer reads the entry and dies before its claim leases it.
        _ = try server.command("XREADGROUP", "GROUP", "workers", "ghost", "COUNT", "1", "STREAMS", stream, ">")
        #expect(try server.command("XPENDING", stream, "workers", "-", "+", "10").contains("ghost"))

        let calls = Mutex(0)
        let worker = Worker(backend: backend, configuration: .init(concurrency: 2)) { request in
            calls.withLock { $0 += 1 }
            return request.payload
        }
        try await running(worker) {
            let response = try await backend.subscribe(to: id, timeout: .seconds(60))
            #expect(response.payload == Data("orphan".utf8))
            #expect(calls.withLock { $0 } == 1)
            #expect(!(try server.command("XPENDING", stream, "workers", "-", "+", "10").contains("ghost")))
        }
        await backend.shutdown()
    }

    @Test func aConsumerThatHoldsNothingAndStoppedReadingIsRemovedFromTheGroup() async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "leave-\(UUID().uuidString.prefix(8))"
        let stream = Self.stream(namespace)
        let backend = try await Self.backend(server, namespace: namespace, lease: .seconds(4))
        let worker = Worker(backend: backend, configuration: .init(concurrency: 1)) { $0.payload }
        try await running(worker) {
            try await eventually { try server.command("EXISTS", stream) == "1" }
            // A worker process that died holding nothing, while the live one was blocked reading.
            _ = try server.command("XGROUP", "CREATECONSUMER", stream, "workers", "ghost")
            #expect(try server.command("XINFO", "CONSUMERS", stream, "workers").contains("ghost"))
            // The live consumer's next claim sees it and looks again once it has been idle for 10 s, then removes it.
            let response = try await backend.send(QueueRequest(payload: Data("live".utf8)), timeout: .seconds(30))
            #expect(response.payload == Data("live".utf8))
            try await eventually(.seconds(60)) {
                !(try server.command("XINFO", "CONSUMERS", stream, "workers").contains("ghost"))
            }
            // The live consumer stays in the group while it sleeps.
            let consumers = try server.command("XINFO", "CONSUMERS", stream, "workers")
            #expect(consumers.contains("-\(getpid())-"), "\(consumers)")
        }
        await backend.shutdown()
    }

    @Test func anIdleConsumerSendsNothingBeyondItsBlockingRead() async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "idle-\(UUID().uuidString.prefix(8))"
        let backend = try await Self.backend(server, namespace: namespace, lease: .seconds(2))
        let worker = Worker(backend: backend, configuration: .init(concurrency: 4)) { $0.payload }
        try await running(worker) {
            _ = try await backend.send(QueueRequest(payload: Data("warm".utf8)), timeout: .seconds(30))
            // The one look a publish schedules (for an entry a reader might have died holding) comes a lease after it.
            try await Task.sleep(for: .seconds(5))
            let before = backend.commandsSent
            try await Task.sleep(for: .seconds(10))
            let sent = backend.commandsSent - before
            #expect(sent == 0, "an idle consumer sent \(sent) commands in 10 s")
        }
        await backend.shutdown()
    }

    @Test func aRetryDelayedByAnotherProcessWakesASleepingConsumer() async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "alarm-\(UUID().uuidString.prefix(8))"
        let holder = try await Self.backend(server, namespace: namespace, lease: .seconds(60))
        let id = try await holder.publishRequest(payload: Data("later".utf8))
        var deliveries = holder.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())
        // A worker in another process sleeps until the holder's lease expires, a minute away.
        let sleeper = try await Self.backend(server, namespace: namespace, lease: .seconds(60))
        let worker = Worker(backend: sleeper, configuration: .init(concurrency: 1)) { $0.payload }
        try await running(worker) {
            try await Task.sleep(for: .milliseconds(500))
            // The holder puts the request back for one second and stops: the sleeper is woken to retry it then, not
            // when the lease it knew of would have expired, a minute later.
            try await holder.release(delivery.lease, retryAfter: .seconds(1), reason: "try again soon")
            await holder.shutdown()
            let response = try await sleeper.subscribe(to: id, timeout: .seconds(30))
            #expect(response.status == .completed)
            #expect(try await sleeper.statusReport(of: id).attempt == 2)
        }
        await sleeper.shutdown()
    }

    @Test func aLeaseOfAConsumerThatDiedIsReapedByOneThatWasSleeping() async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "died-\(UUID().uuidString.prefix(8))"
        // The first consumer to block reads the next request: this one, which dies holding it.
        let dying = try await Self.backend(server, namespace: namespace, lease: .seconds(2))
        let taking = Task {
            var deliveries = dying.consumeRequests().makeAsyncIterator()
            return try await deliveries.next()
        }
        try await eventually { try server.command("EXISTS", Self.stream(namespace)) == "1" }
        try await Task.sleep(for: .milliseconds(300))
        let sleeper = try await Self.backend(server, namespace: namespace, lease: .seconds(2))
        let worker = Worker(backend: sleeper, configuration: .init(concurrency: 1)) { $0.payload }
        try await running(worker) {
            try await Task.sleep(for: .milliseconds(500))
            let id = try await sleeper.publishRequest(payload: Data("orphaned".utf8))
            let taken = try #require(try await taking.value)
            #expect(taken.request.correlationID == id)
            await dying.shutdown()
            // The sleeper blocks for up to five minutes when nothing is due; it reaps the dead holder's lease on time.
            let response = try await sleeper.subscribe(to: id, timeout: .seconds(30))
            #expect(response.status == .completed)
            #expect(try await sleeper.statusReport(of: id).attempt == 2)
        }
        await sleeper.shutdown()
    }
}
