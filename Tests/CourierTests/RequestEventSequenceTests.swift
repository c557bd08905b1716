import Courier
import Foundation
import Testing

@Suite("Request event reader")
struct RequestEventSequenceTests {
    /// `next(idlingAtMost:)` says when nothing arrived in time, keeps its place, and then gives what comes next
    /// and the end, exactly as `next()` would.
    @Test func aReaderSaysWhenItIdledAndGoesOnWhereItWas() async throws {
        let queue = try MemoryQueueBackend(configuration: .init(queueName: "reader-\(UUID().uuidString.prefix(8))"))
        let id = try await queue.publishRequest(payload: Data("q".utf8))
        var deliveries = queue.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())
        try await queue.appendEvents([.chunk(Data("a".utf8))], holding: delivery.lease)
        var reader = queue.events(for: id).makeAsyncIterator()
        // The attempt's boundary, written with the attempt's first event, then the chunk.
        guard case .element(.event(let boundary)) = try await reader.next(idlingAtMost: .seconds(30)),
            case .element(.event(let first)) = try await reader.next(idlingAtMost: .seconds(30))
        else {
            Issue.record("the events written before reading did not come first")
            return
        }
        #expect(boundary.event == .attemptStarted(attempt: 1))
        #expect(first.event == .chunk(Data("a".utf8)))

        // Nothing more yet: the reader idles (twice in a row), then sees the chunk written after.
        let started = ContinuousClock.now
        guard case .idle = try await reader.next(idlingAtMost: .milliseconds(50)) else {
            Issue.record("a reader with nothing new did not idle")
            return
        }
        #expect(ContinuousClock.now - started >= .milliseconds(40))
        guard case .idle = try await reader.next(idlingAtMost: .milliseconds(50)) else {
            Issue.record("a reader with nothing new did not idle the second time")
            return
        }
        try await queue.appendEvents([.chunk(Data("b".utf8))], holding: delivery.lease)
        guard case .element(.event(let second)) = try await reader.next(idlingAtMost: .seconds(30)) else {
            Issue.record("the chunk did not follow the idle reads")
            return
        }
        #expect(second.sequence == first.sequence + 1)
        #expect(second.event == .chunk(Data("b".utf8)))

        _ = try await queue.publishResponse(.completed(id, payload: Data("done".utf8)), settling: delivery.lease)
        guard case .element(.final(let response)) = try await reader.next(idlingAtMost: .seconds(30)) else {
            Issue.record("the final response did not come last")
            return
        }
        #expect(response.status == .completed)
        guard case .end = try await reader.next(idlingAtMost: .seconds(30)) else {
            Issue.record("the reader did not end after the final response")
            return
        }
        #expect(try await reader.next() == nil)
    }
}
