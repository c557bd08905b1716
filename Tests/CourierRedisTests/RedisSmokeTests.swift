import Courier
import CourierRedis
import Foundation
import Testing

@Suite("Redis smoke")
struct RedisSmokeTests {
    @Test func roundTrip() async throws {
        let server = RedisTestServer.shared
        print("server on", server.port)
        let backend = try await RedisQueueBackend(
            url: server.url, wakeMode: .pubSub, configuration: QueueConfiguration(queueName: "smoke"))
        print("opened")
        let id = try await backend.publishRequest(payload: Data("hi".utf8))
        print("published")
        var iterator = backend.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        print("claimed")
        try await backend.complete(delivery, payload: Data("ok".utf8))
        let response = try await backend.subscribe(to: id, timeout: .seconds(5))
        #expect(response.payload == Data("ok".utf8))
        await backend.shutdown()
    }
}
