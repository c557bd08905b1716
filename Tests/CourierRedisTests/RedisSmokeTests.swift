import Courier
import CourierRedis
import Foundation
import Testing

@Suite("Redis smoke")
struct RedisSmokeTests {
    @Test func restartTiming() async throws {
        let server = try await RedisTestServer.start()
        let backend = try await RedisQueueBackend(
            url: server.url, wakeMode: .pubSub, configuration: QueueConfiguration(queueName: "smoke"))
        let clock = ContinuousClock()
        let t0 = clock.now
        for _ in 0..<20 { _ = try await backend.publishRequest(payload: Data("hi".utf8)) }
        print("published", t0.duration(to: clock.now))
        try await server.restart(down: .milliseconds(300))
        print("restarted", t0.duration(to: clock.now))
        for index in 0..<20 {
            var iterator = backend.consumeRequests().makeAsyncIterator()
            let delivery = try #require(try await iterator.next())
            print("claimed", index, t0.duration(to: clock.now))
            _ = try await backend.publishResponse(.completed(delivery.request.correlationID, payload: Data()), settling: delivery.lease)
            print("answered", index, t0.duration(to: clock.now))
        }
        await backend.shutdown()
        await server.stop()
    }
}
