import Courier
import Foundation
import Testing

@Suite("MemoryQueueBackend")
struct MemoryQueueBackendTests {
    @Test func roundTrip() async throws {
        let backend = try MemoryQueueBackend()
        let id = try await backend.publishRequest(payload: Data("hello".utf8))
        let waiter = Task { try await backend.subscribe(to: id, timeout: .seconds(5)) }
        var consumer = backend.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await consumer.next())
        #expect(delivery.request.correlationID == id)
        #expect(delivery.attempt == 1)
        #expect(try await backend.status(of: id) == .running(attempt: 1))
        try await backend.complete(delivery, payload: Data("world".utf8))
        let response = try await waiter.value
        #expect(response.status == .completed)
        #expect(response.payload == Data("world".utf8))
        #expect(backend.diagnostics().waiters == 0)
        await backend.shutdown()
    }

    @Test func leaseExpiryRedelivers() async throws {
        let backend = try MemoryQueueBackend(configuration: .init(leaseDuration: .milliseconds(100)))
        let id = try await backend.publishRequest(payload: Data())
        var consumer = backend.consumeRequests().makeAsyncIterator()
        let first = try #require(try await consumer.next())
        let second = try #require(try await consumer.next())
        #expect(first.request.correlationID == id && second.attempt == 2)
        await #expect(throws: CourierError(.leaseLost, "")) {
            try await backend.publishResponse(.completed(id, payload: Data()), settling: first.lease)
        }
        await backend.shutdown()
    }

    @Test func subscribeTimesOut() async throws {
        let backend = try MemoryQueueBackend()
        await #expect(throws: CourierError(.timedOut, "")) {
            try await backend.subscribe(to: .generate(), timeout: .milliseconds(50))
        }
        #expect(backend.diagnostics().waiters == 0)
    }
}

@Test func generatedIDsAreLowercaseVersion4UUIDs() throws {
    var seen = Set<CorrelationID>()
    for _ in 0..<1000 {
        let id = CorrelationID.generate()
        let text = id.rawValue
        #expect(text.count == 36)
        #expect(text == text.lowercased())
        let uuid = try #require(UUID(uuidString: text), "\(text) is not a UUID")
        #expect(uuid.uuidString.lowercased() == text)
        #expect(Array(text)[14] == "4")
        #expect("89ab".contains(Array(text)[19]))
        seen.insert(id)
    }
    #expect(seen.count == 1000)
}
