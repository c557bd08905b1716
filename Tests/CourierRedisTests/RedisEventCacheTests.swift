import Courier
import Foundation
import Testing

@testable import CourierRedis

/// The cache that live event readers take announced batches from: it answers only as a read from Redis would
/// have, and its coverage never outlives a forget.
@Suite("Redis event cache")
struct RedisEventCacheTests {
    let id = CorrelationID.generate()

    /// A batch as the append script announces it: trimmed-through, time, then six fields per chunk.
    private func batch(_ sequences: ClosedRange<UInt64>, trimmed: UInt64 = 0) throws -> RedisEventBatch {
        func field(_ text: String) -> String { "\(text.utf8.count):\(text)," }
        var text = field(String(trimmed)) + field("1700000000000")
        for sequence in sequences {
            text += field(String(sequence)) + field("chunk") + field("") + field("c\(sequence)") + field("") + field("")
        }
        return try RedisEventBatch(Data(text.utf8))
    }

    @Test func aPageIsServedOnlyWhenEveryEventFromThePositionIsHeld() throws {
        let cache = RedisEventCache()
        try cache.add(batch(1...3), of: id)
        let page = try #require(cache.page(id, after: 1, limit: 10))
        #expect(page.events.map(\.sequence) == [2, 3])
        #expect(page.lastSequence == 3 && page.finalResponse == nil)
        #expect(cache.page(id, after: 3, limit: 10) == nil, "nothing new: ask Redis")
        try cache.add(batch(5...6), of: id)
        #expect(cache.page(id, after: 3, limit: 10) == nil, "event 4 was never announced here")
        #expect(cache.page(id, after: 4, limit: 10)?.events.map(\.sequence) == [5, 6])
        #expect(cache.page(id, after: 4, limit: 1)?.events.map(\.sequence) == [5], "a page of the limit")
    }

    @Test func aPositionInTheTrimmedPartReadsRedis() throws {
        let cache = RedisEventCache()
        try cache.add(batch(10...12, trimmed: 9), of: id)
        #expect(cache.page(id, after: 8, limit: 10) == nil)
        #expect(cache.page(id, after: 9, limit: 10)?.trimmedThrough == 9)
    }

    @Test func coverageNeedsTheSameWatchAndNoForgetDuringTheRead() throws {
        let cache = RedisEventCache()
        let mark = cache.mark
        cache.cover(id, generation: 7, through: 4, since: mark)
        #expect(cache.newest(id, watched: 7, from: 4) == 0, "covered, nothing announced since")
        #expect(cache.newest(id, watched: 8, from: 4) == nil, "another watch")
        #expect(cache.newest(id, watched: 7, from: 3) == nil, "before the read's position")
        try cache.add(batch(5...5), of: id)
        #expect(cache.newest(id, watched: 7, from: 4) == 5)
        // The response was announced (and the id forgotten) while a read ran: it records nothing.
        let during = cache.mark
        cache.forget(id)
        cache.cover(id, generation: 7, through: 5, since: during)
        #expect(cache.newest(id, watched: 7, from: 5) == nil)
    }

    @Test func theByteBudgetForgetsTheOldestIdsAndTheOrderStaysBounded() throws {
        let cache = RedisEventCache(eventsPerLog: 256, byteBudget: 64 * 1024)
        var ids: [CorrelationID] = []
        for _ in 0..<5000 {
            let other = CorrelationID.generate()
            ids.append(other)
            try cache.add(batch(1...4), of: other)
            if ids.count.isMultiple(of: 2) { cache.forget(other) }
        }
        #expect(cache.count < 5000 && cache.count > 0)
        #expect(cache.orderLength <= 2 * cache.count + 1025, "forgotten ids do not pile up in the order")
        #expect(cache.page(ids[0], after: 0, limit: 10) == nil, "the first ids went first")
        #expect(cache.page(ids[4998], after: 0, limit: 10) != nil)
    }
}
