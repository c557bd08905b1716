import Foundation
import Synchronization
import Testing

@testable import Courier

/// Counts handlers running at once and remembers the most seen.
private final class ConcurrencyProbe: Sendable {
    private let current = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)

    func enter() {
        let now = current.add(1, ordering: .sequentiallyConsistent).newValue
        var seen = peak.load(ordering: .sequentiallyConsistent)
        while now > seen {
            let (exchanged, original) = peak.compareExchange(
                expected: seen, desired: now, ordering: .sequentiallyConsistent)
            if exchanged { break }
            seen = original
        }
    }

    func leave() { current.subtract(1, ordering: .sequentiallyConsistent) }

    var maximum: Int { peak.load(ordering: .sequentiallyConsistent) }
}

@Suite("Limits")
struct LimitsTests {
    @Test func gateAdmitsAtMostItsLimitAndHandsSlotsOnInOrder() async throws {
        let gate = InFlightGate(limit: 2)
        let first = try await gate.acquire()
        _ = try await gate.acquire()
        #expect(gate.inFlight == 2)
        let third = Task { try await gate.acquire() }
        while gate.waiting == 0 { await Task.yield() }
        #expect(gate.inFlight == 2)
        await gate.release(first)
        let permit = try await third.value
        #expect(gate.inFlight == 2)
        #expect(gate.waiting == 0)
        await gate.release(permit)
        await gate.release(permit)
        #expect(gate.inFlight == 1, "a second release of one permit must not free another slot")
    }

    @Test func cancelledWaiterTakesNoSlot() async throws {
        let gate = InFlightGate(limit: 1)
        let held = try await gate.acquire()
        let waiter = Task { try await gate.acquire() }
        while gate.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.waiting == 0)
        await gate.release(held)
        #expect(gate.inFlight == 0)
    }

    @Test func tokenBucketSpacesCallsAtItsRate() {
        let bucket = TokenBucket(rate: 10, burst: 2)
        let start = ContinuousClock.now
        #expect(bucket.reserve(at: start) == .zero)
        #expect(bucket.reserve(at: start) == .zero)
        #expect(bucket.reserve(at: start) == .milliseconds(100))
        #expect(bucket.reserve(at: start) == .milliseconds(200))
        // One second later the debt of 2 is repaid and 8 tokens remain (capped at the burst of 2).
        #expect(bucket.reserve(at: start + .seconds(1)) == .zero)
        #expect(bucket.reserve(at: start + .seconds(1)) == .zero)
        #expect(bucket.reserve(at: start + .seconds(1)) == .milliseconds(100))
    }

    @Test func sharedGateBoundsEveryWorkerOfAProcess() async throws {
        let queue = try MemoryQueueBackend(configuration: .init(queueName: "limits-\(UUID().uuidString.prefix(8))"))
        let gate = InFlightGate(limit: 3)
        let probe = ConcurrencyProbe()
        let workers = (0..<3).map { _ in
            Worker(backend: queue, configuration: .init(concurrency: 4), limits: WorkerLimits(gate: gate)) { request in
                probe.enter()
                defer { probe.leave() }
                try await Task.sleep(for: .milliseconds(5))
                return request.payload
            }
        }
        let tasks = workers.map { worker in Task { try await worker.run() } }
        defer { for task in tasks { task.cancel() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<60 {
                group.addTask {
                    let response = try await queue.send(
                        QueueRequest(payload: Data("\(index)".utf8)), timeout: .seconds(30))
                    #expect(response.status == .completed)
                }
            }
            try await group.waitForAll()
        }
        #expect(probe.maximum <= 3, "12 worker slots shared a gate of 3 but \(probe.maximum) handlers ran at once")
        #expect(probe.maximum >= 1)
        #expect(gate.inFlight == 0)
    }

    @Test func rateLimitHoldsBackHandlersBeyondTheBurst() async throws {
        let queue = try MemoryQueueBackend(configuration: .init(queueName: "rate-\(UUID().uuidString.prefix(8))"))
        let calls = Atomic<Int>(0)
        // One token per ~3 hours after a burst of 2: the third request must wait, claimed but not handled.
        let limits = WorkerLimits(rateLimit: TokenBucket(rate: 0.0001, burst: 2))
        let worker = Worker(backend: queue, configuration: .init(concurrency: 4), limits: limits) { request in
            calls.add(1, ordering: .relaxed)
            return request.payload
        }
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        for _ in 0..<2 {
            let response = try await queue.send(QueueRequest(payload: Data()), timeout: .seconds(30))
            #expect(response.status == .completed)
        }
        let third = try await queue.publishRequest(payload: Data())
        while try await queue.status(of: third) != .running(attempt: 1) { await Task.yield() }
        #expect(calls.load(ordering: .relaxed) == 2, "the handler ran beyond the rate limit's burst")
        #expect(try await queue.status(of: third) == .running(attempt: 1))
        try await queue.cancel(third)
    }

    @Test func environmentBuildsLimits() throws {
        let none = try QueueEnvironment(values: [:]).workerLimits()
        #expect(none.isUnlimited)
        let some = try QueueEnvironment(values: ["COURIER_MAX_INFLIGHT": "8", "COURIER_RATE_LIMIT": "2.5"])
            .workerLimits()
        #expect((some.gate as? InFlightGate)?.limit == 8)
        #expect(some.rateLimit?.rate == 2.5)
        #expect(some.rateLimit?.burst == 2.5)
        #expect(throws: CourierError.self) {
            try QueueEnvironment(values: ["COURIER_MAX_INFLIGHT": "0"]).workerLimits()
        }
        #expect(throws: CourierError.self) {
            try QueueEnvironment(values: ["COURIER_RATE_LIMIT": "fast"]).workerLimits()
        }
    }
}

@Suite("Secrets")
struct SecretsTests {
    @Test func redisPasswordsNeverReachLogs() {
        let cases = [
            ("redis://user:s3cret@redis.internal:6379/0", "redis://user:***@redis.internal:6379/0"),
            ("redis://:s3cret@10.0.0.5", "redis://:***@10.0.0.5"),
            ("rediss://s3cret@host/1", "rediss://***@host/1"),
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ]
        for (url, expected) in cases {
            #expect(QueueEnvironment.redactingPassword(in: url) == expected)
        }
        #expect(!QueueEnvironment(values: ["REDIS_URL": "redis://a:p%40ss@h"]).redactedRedisURL.contains("p%40ss"))
    }
}
