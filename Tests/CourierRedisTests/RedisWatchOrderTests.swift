import Courier
import CourierTestSupport
import Foundation
import Testing

@testable import CourierRedis

/// A waiter that leaves decides to stop watching its id, then gets to do so only after a new waiter on the same
/// id started watching: the stop must not undo the new watch.
@Suite("Redis watch order")
struct RedisWatchOrderTests {
    @Test(arguments: RedisWakeMode.allCases)
    func aLateStopNeverUndoesANewWatch(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "order-\(UUID().uuidString.prefix(8))"
        let worker = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        let client = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        let request = try await client.publishRequest(payload: Data("q".utf8))
        var consumer = worker.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await consumer.next())
        let last = try await worker.appendEvents([.chunk(Data("first".utf8))], holding: delivery.lease)

        let waiting = Task { try await client.waitForEvents(of: request, after: last, timeout: .seconds(30)) }
        try await eventually {
            client.eventChannel.openSubscriptions == 1 && client.eventWaiters.isWaiting(on: request)
        }
        try await Task.sleep(for: .milliseconds(200))  // its watch is in place on the server
        // The stop of a waiter that left just before this one arrived.
        client.eventChannel.stopWatching(request, answered: false)
        try await worker.appendEvents([.chunk(Data("second".utf8))], holding: delivery.lease)
        let woke = try await value(within: .seconds(10)) { try await waiting.value }
        #expect(woke == true, "the waiter was not woken by the append: its watch was undone")
        waiting.cancel()
        await worker.shutdown()
        await client.shutdown()
    }
}
