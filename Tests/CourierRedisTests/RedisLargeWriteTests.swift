import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Testing

/// Commands larger than a socket takes in one write: a caller writes what the socket takes and leaves the rest to
/// the connection's thread; commands queued behind it must follow it whole and in order.
@Suite("Redis writes larger than the socket takes at once")
struct RedisLargeWriteTests {
    /// Six megabytes (more than a loopback socket's largest send buffer) of one byte that depends on `seed`: a
    /// payload cut short, swapped with another or interleaved with another's bytes shows, and making and comparing
    /// it costs a memset and a memcmp (the suite runs beside timing-sensitive tests).
    static func payload(_ seed: Int) -> Data {
        Data(repeating: UInt8(truncatingIfNeeded: seed &+ 1), count: 6 << 20)
    }

    @Test(arguments: RedisWakeMode.allCases)
    func largeRequestsAndResponsesArriveWholeAndInOrder(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.shared()
        let backend = try await RedisQueueBackend(
            url: server.url, wakeMode: mode,
            configuration: QueueConfiguration(
                queueName: "large-\(UUID().uuidString.prefix(8))", leaseDuration: .seconds(60),
                maxPayloadBytes: 8 << 20))
        let ids = try (0..<4).map { try CorrelationID("large-\($0)") }
        // Published at once: the first goes out from its caller, the others queue behind it.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, id) in ids.enumerated() {
                group.addTask {
                    try await backend.publishRequest(QueueRequest(correlationID: id, payload: Self.payload(index)))
                }
            }
            try await group.waitForAll()
        }
        var consumer = backend.consumeRequests().makeAsyncIterator()
        var leases: [CorrelationID: Lease] = [:]
        for _ in ids {
            let delivery = try #require(try await consumer.next())
            let index = try #require(ids.firstIndex(of: delivery.request.correlationID))
            #expect(delivery.request.payload == Self.payload(index))
            leases[delivery.request.correlationID] = delivery.lease
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, id) in ids.enumerated() {
                let lease = leases[id]
                group.addTask {
                    let response = QueueResponse.completed(id, payload: Self.payload(index + 10))
                    _ = try await backend.publishResponse(response, settling: lease)
                }
            }
            try await group.waitForAll()
        }
        for (index, id) in ids.enumerated() {
            let response = try #require(try await backend.getResponse(for: id))
            #expect(response.payload == Self.payload(index + 10))
        }
        await backend.shutdown()
    }
}
