import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Synchronization
import Testing

/// Streamed events on a real server: keys expire with the response, and a reader waiting with nothing new sends
/// no command.
@Suite("Redis events")
struct RedisEventTests {
    /// A worker's backend holding the delivery of a request that a client's backend (same queue) published.
    static func holding(
        _ mode: RedisWakeMode
    ) async throws -> (
        backend: RedisQueueBackend, client: RedisQueueBackend, request: CorrelationID, delivery: Delivery
    ) {
        let server = try await RedisTestServer.shared()
        let namespace = "events-\(UUID().uuidString.prefix(8))"
        let backend = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        let client = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        let request = try await client.publishRequest(payload: Data("q".utf8))
        var consumer = backend.consumeRequests().makeAsyncIterator()
        return (backend, client, request, try #require(try await consumer.next()))
    }

    /// Returns once `client` has sent nothing for half a second (a reader has set up its wait).
    static func untilQuiet(_ client: RedisQueueBackend) async throws {
        var settled = client.commandsSent
        try await eventually {
            try await Task.sleep(for: .milliseconds(500))
            defer { settled = client.commandsSent }
            return client.commandsSent == settled
        }
    }

    /// Watches `client` for up to `windows` windows of `length` and returns the quietest: the fewest commands sent,
    /// and among those the most waits (`waits` counts the follower's waits that ran out). One that reached 0
    /// commands over at least 3 waits ends the watch. A follower that sends commands as its waits run out does so
    /// in every window, and one window that a loaded machine disturbs (the whole suite runs at once) does not
    /// decide.
    static func quietestWindow(
        of client: RedisQueueBackend, windows: Int, lasting length: Duration, waits: () -> Int
    ) async throws -> (sent: Int, waits: Int) {
        var quietest = (sent: Int.max, waits: 0)
        for _ in 0..<windows where quietest.sent > 0 || quietest.waits < 3 {
            let (sentBefore, waitsBefore) = (client.commandsSent, waits())
            try await Task.sleep(for: length)
            let window = (sent: client.commandsSent - sentBefore, waits: waits() - waitsBefore)
            if window.sent < quietest.sent || (window.sent == quietest.sent && window.waits > quietest.waits) {
                quietest = window
            }
        }
        return quietest
    }

    @Test(arguments: RedisWakeMode.allCases)
    func eventKeysGoWithTheirResponseAndIdleReadersSendNothing(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "events-\(UUID().uuidString.prefix(8))"
        let backend = try await RedisResourceTests.backend(
            mode, server, namespace: namespace, ttl: .seconds(2), lease: .seconds(60))
        let client = try await RedisResourceTests.backend(
            mode, server, namespace: namespace, ttl: .seconds(2), lease: .seconds(60))
        let request = try await client.publishRequest(payload: Data("q".utf8))
        var consumer = backend.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await consumer.next())
        try await backend.appendEvents([.chunk(Data("first".utf8))], holding: delivery.lease)

        // A reader on the client instance catches up, then waits for more.
        let reader = Task {
            var chunks: [String] = []
            var final: QueueResponse?
            for try await element in client.events(for: request) {
                if case .event(let record) = element, case .chunk(let data) = record.event {
                    chunks.append(String(decoding: data, as: UTF8.self))
                }
                if case .final(let response) = element { final = response }
            }
            return (chunks, final)
        }
        // The reader waits (one event waiter) and its watch is registered (one subscription or reply registration).
        try await eventually { client.activeWaits >= 2 }
        // Once the reader has set up its wait (the count stops moving), it sends nothing while nothing happens;
        // redis-list's one reply-list BLMPOP per 5 s per process may fall in the window.
        try await Self.untilQuiet(client)
        // The quietest of up to five seconds: a reader that sends commands while it waits does so every second, and
        // one second that a loaded machine disturbs (the whole suite runs at once) does not decide.
        let bound = mode == .list ? 1 : 0
        var sent = Int.max
        for _ in 0..<5 where sent > bound {
            let before = client.commandsSent
            try await Task.sleep(for: .seconds(1))
            sent = min(sent, client.commandsSent - before)
        }
        #expect(sent <= bound, "a waiting reader sent \(sent) commands in its quietest second")

        try await backend.appendEvents([.chunk(Data("second".utf8))], holding: delivery.lease)
        _ = try await backend.publishResponse(.completed(request, payload: Data("done".utf8)), settling: delivery.lease)
        let outcome = try #require(try await value(within: .seconds(30)) { try await reader.value })
        #expect(outcome.0 == ["first", "second"])
        #expect(outcome.1?.status == .completed)
        try await eventually { client.activeWaits == 0 }

        #expect(try RedisResourceTests.keys(server, namespace: namespace).contains { $0.contains(":ev:") })
        // redis-streams: the consumer's backend leaves the group on shutdown, deleting the then empty stream.
        if mode == .streams { await backend.shutdown() }
        // `wake` (at most one token for a blocked consumer; none blocks in this test) is not the events' concern.
        func left() throws -> [String] {
            try RedisResourceTests.keys(server, namespace: namespace).filter { !$0.hasSuffix(":wake") }
        }
        _ = try? await eventually(.seconds(15)) { try left().isEmpty }
        let left = try left()
        #expect(left.isEmpty, "keys left behind: \(left)")
        await client.shutdown()
        await backend.shutdown()
    }

    @Test(arguments: RedisWakeMode.allCases)
    func aLiveReaderTakesChunksFromTheirAnnouncementsWithoutReadingThemBack(_ mode: RedisWakeMode) async throws {
        let (backend, client, request, delivery) = try await Self.holding(mode)
        try await backend.appendEvents([.chunk(Data("0".utf8))], holding: delivery.lease)
        let received = Mutex<[String]>([])
        let reader = Task {
            for try await element in client.events(for: request) {
                if case .event(let record) = element, case .chunk(let data) = record.event {
                    received.withLock { $0.append(String(decoding: data, as: UTF8.self)) }
                }
            }
        }
        try await eventually { received.withLock { $0.count } == 1 }
        // One chunk at a time, each once the reader has the one before: the reader follows live.
        let before = client.commandsSent
        for index in 1...100 {
            try await backend.appendEvents([.chunk(Data("\(index)".utf8))], holding: delivery.lease)
            try await eventually { received.withLock { $0.count } == index + 1 }
        }
        let sent = client.commandsSent - before
        // The chunks come with their announcements, and on redis-pubsub and redis-streams the watch that was in
        // place at the last read from Redis says nothing was missed, so a wait needs no check either (0 to 3
        // commands in all, seen with the whole suite running beside it; reading each chunk back and checking
        // before each wait cost 200, and a watch dropped whenever its setup found a newer chunk cost 6 to 70 under
        // load). redis-list registers, pops its reply list, checks and reads the log per chunk, as before.
        if mode != .list { #expect(sent <= 30, "the reader sent \(sent) commands for 100 chunks") }
        _ = try await backend.publishResponse(.completed(request, payload: Data()), settling: delivery.lease)
        _ = try await value(within: .seconds(30)) { try await reader.value }
        #expect(received.withLock { $0 } == (0...100).map(String.init))
        await client.shutdown()
        await backend.shutdown()
    }

    @Test(arguments: RedisWakeMode.allCases)
    func anAppendTooLargeToAnnounceIsNotMissedByTheNextWait(_ mode: RedisWakeMode) async throws {
        let (backend, client, request, delivery) = try await Self.holding(mode)
        let first = try await backend.appendEvents([.chunk(Data("small".utf8))], holding: delivery.lease)
        // A waiter keeps the id watched, as a follower between two reads does.
        let watching = Task { try await client.waitForEvents(of: request, after: first, timeout: .seconds(60)) }
        try await eventually { client.activeWaits >= 2 }
        // Too large for its announcement to carry it: the announcement only says the log grew.
        let large = try await backend.appendEvents(
            [.chunk(Data(repeating: 7, count: 20_000))], holding: delivery.lease)
        #expect(try await value(within: .seconds(30)) { try await watching.value } == true)
        // A wait from before the large append returns at once rather than sleeping through it.
        let started = ContinuousClock.now
        #expect(try await client.waitForEvents(of: request, after: first, timeout: .seconds(20)))
        #expect(ContinuousClock.now - started < .seconds(10))
        let page = try #require(try await client.readEvents(of: request, after: first, limit: 10))
        #expect(page.events.map(\.sequence) == [large])
        _ = try await backend.publishResponse(.completed(request, payload: Data()), settling: delivery.lease)
        await client.shutdown()
        await backend.shutdown()
    }

    /// A follower that stays idle for many wait slices (an event stream with a heartbeat after each) keeps its
    /// watch between them and knows from it that nothing is new: it sends nothing at all. Before, each slice that
    /// ran out cost an UNSUBSCRIBE, a SUBSCRIBE and a read of the log.
    @Test(arguments: [RedisWakeMode.pubSub, .streams])
    func aFollowerIdleForManyWaitSlicesSendsNothing(_ mode: RedisWakeMode) async throws {
        let (backend, client, request, delivery) = try await Self.holding(mode)
        try await backend.appendEvents([.chunk(Data("first".utf8))], holding: delivery.lease)
        let idles = Atomic<Int>(0)
        let received = Mutex<[String]>([])
        let follower = Task {
            var reader = client.events(for: request).makeAsyncIterator()
            while true {
                switch try await reader.next(idlingAtMost: .milliseconds(200)) {
                case .idle: idles.add(1, ordering: .relaxed)
                case .element(.event(let record)):
                    if case .chunk(let data) = record.event {
                        received.withLock { $0.append(String(decoding: data, as: UTF8.self)) }
                    }
                case .element: continue
                case .end: return
                }
            }
        }
        try await eventually { received.withLock { $0 } == ["first"] && idles.load(ordering: .relaxed) >= 2 }
        // Once the watch is in place (on a loaded machine a few slices may run out before it is), the count stops.
        try await Self.untilQuiet(client)
        let (sent, slices) = try await Self.quietestWindow(of: client, windows: 5, lasting: .seconds(2)) {
            idles.load(ordering: .relaxed)
        }
        #expect(slices >= 3, "the follower's waits ran out \(slices) times in its quietest 2 s")
        #expect(sent == 0, "an idle follower sent \(sent) commands over \(slices) wait slices")

        // Still following: the next chunk and the result arrive.
        try await backend.appendEvents([.chunk(Data("second".utf8))], holding: delivery.lease)
        _ = try await backend.publishResponse(.completed(request, payload: Data()), settling: delivery.lease)
        _ = try await value(within: .seconds(30)) { try await follower.value }
        #expect(received.withLock { $0 } == ["first", "second"])
        try await eventually { client.activeWaits == 0 }
        await client.shutdown()
        await backend.shutdown()
    }

    /// A follower that pauses between its waits (a client busy with what it read, or slow to come back) keeps its
    /// watch for as long as it keeps waiting within the linger: a watch's linger is counted from the last wait on
    /// its id. Before, each wait that ran out scheduled a check 5 s later, and a check that came while the
    /// follower was between two waits stopped the watch, which the next wait set up again (a SUBSCRIBE and a read).
    @Test(arguments: [RedisWakeMode.pubSub, .streams])
    func aFollowerThatPausesBetweenWaitsKeepsItsWatchPastTheLinger(_ mode: RedisWakeMode) async throws {
        let (backend, client, request, delivery) = try await Self.holding(mode)
        let first = try await backend.appendEvents([.chunk(Data("first".utf8))], holding: delivery.lease)
        let waits = Atomic<Int>(0)
        let follower = Task {
            // Waits of 100 ms with pauses of 300 ms: three quarters of the time, nobody waits on the id.
            while try await !client.waitForEvents(of: request, after: first, timeout: .milliseconds(100)) {
                waits.add(1, ordering: .relaxed)
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        try await eventually { waits.load(ordering: .relaxed) >= 2 }
        try await Self.untilQuiet(client)
        // Windows longer than the 5 s linger, so that checks come in them.
        let (sent, slices) = try await Self.quietestWindow(of: client, windows: 2, lasting: .seconds(6)) {
            waits.load(ordering: .relaxed)
        }
        #expect(slices >= 3, "the follower waited \(slices) times in its quietest window")
        #expect(sent == 0, "a pausing follower sent \(sent) commands over \(slices) waits")

        try await backend.appendEvents([.chunk(Data("second".utf8))], holding: delivery.lease)
        _ = try await value(within: .seconds(30)) { try await follower.value }
        _ = try await backend.publishResponse(.completed(request, payload: Data()), settling: delivery.lease)
        await client.shutdown()
        await backend.shutdown()
    }
}
