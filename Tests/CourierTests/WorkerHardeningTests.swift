import Courier
import CourierTestSupport
import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// The worker's hardening: handler timeouts, graceful stops that keep attempts, interruptible store-error
/// backoff, and requests that fail at once (oversized responses, permanent errors, long reasons cut).
@Suite("Worker hardening")
struct WorkerHardeningTests {
    private func backend(
        lease: Duration = .seconds(5), attempts: Int = 3, maxPayloadBytes: Int = 8 << 20
    ) throws
        -> MemoryQueueBackend
    {
        try MemoryQueueBackend(
            configuration: .init(
                queueName: "hardening-\(UUID().uuidString.prefix(8))", leaseDuration: lease, maxAttempts: attempts,
                maxPayloadBytes: maxPayloadBytes))
    }

    /// Waits for `task` (a worker's `run()`) for at most `limit` and returns how long it took. When it takes
    /// longer, records an issue and cancels the task (the worker's hard stop) so the test still ends.
    @discardableResult
    private func finish(
        _ task: Task<Void, any Error>, within limit: Duration, _ what: String
    ) async throws
        -> Duration
    {
        let clock = ContinuousClock()
        let start = clock.now
        let finished = try await value(within: limit) { try await task.value } != nil
        let elapsed = clock.now - start
        if !finished {
            Issue.record("\(what) did not happen within \(limit)")
            task.cancel()
            _ = try await value(within: .seconds(30)) { try await task.value }
        }
        return elapsed
    }

    /// Claims the next delivery from `queue`, failing the test when none arrives within `limit`.
    private func claim(_ queue: MemoryQueueBackend, within limit: Duration = .seconds(10)) async throws -> Delivery {
        let delivery = try await value(within: limit) { () -> Delivery? in
            var consumer = queue.consumeRequests().makeAsyncIterator()
            return try await consumer.next()
        }
        return try #require(delivery ?? nil, "no delivery within \(limit)")
    }

    @Test func handlerTimeoutFailsTheAttemptAndTheSlotServesOn() async throws {
        let queue = try backend(attempts: 1)
        let sawCancellation = Atomic<Bool>(false)
        let worker = Worker(
            backend: queue, configuration: .init(concurrency: 1, handlerTimeout: .milliseconds(300))
        ) { request in
            if request.payload == Data("fast".utf8) { return request.payload }
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                sawCancellation.store(true, ordering: .relaxed)
                throw error
            }
            return Data("the handler outlived its timeout".utf8)
        }
        try await running(worker) {
            let slow = try await queue.send(QueueRequest(payload: Data("slow".utf8)), timeout: .seconds(30))
            #expect(slow.status == .failed)
            #expect(
                slow.error?.contains("did not finish within its timeout") == true,
                "unexpected error: \(slow.error ?? "none")")
            // The only slot was stopped by the timeout; the worker must go on serving on a fresh one.
            let fast = try await queue.send(QueueRequest(payload: Data("fast".utf8)), timeout: .seconds(30))
            #expect(fast.status == .completed)
            #expect(fast.payload == Data("fast".utf8))
        }
        let cancelled = sawCancellation.load(ordering: .relaxed)
        #expect(cancelled, "the timed-out handler was not cancelled")
    }

    @Test func gracefulShutdownGivesBackUnfinishedWorkWithoutSpendingTheAttempt() async throws {
        // One attempt only: had the stop spent it, the request would be dead-lettered.
        let queue = try backend(attempts: 1)
        let started = AsyncStream<Void>.makeStream()
        let worker = Worker(
            backend: queue, configuration: .init(concurrency: 1, gracePeriod: .milliseconds(200))
        ) { _ in
            started.continuation.yield()
            try await Task.sleep(for: .seconds(600))
            return Data()
        }
        let id = try await queue.publishRequest(payload: Data("unfinished".utf8))
        try await testGracefulShutdown { trigger in
            let task = Task { try await worker.run() }
            var iterator = started.stream.makeAsyncIterator()
            await iterator.next()
            #expect(try await queue.status(of: id) == .running(attempt: 1))
            trigger.triggerGracefulShutdown()
            try await finish(task, within: .seconds(20), "the worker stopping after its grace period")
        }
        #expect(try await queue.status(of: id) == .pending(attempt: 1))
        #expect(try await queue.getResponse(for: id) == nil, "the stopped worker stored a response")
        let again = try await claim(queue)
        #expect(again.request.correlationID == id)
        #expect(again.attempt == 1, "the given-back request came back as attempt \(again.attempt)")
        await queue.shutdown()
    }

    @Test func gracefulShutdownInterruptsTheStoreErrorBackoff() async throws {
        let queue = FailingConsumerBackend(base: try backend())
        let worker = Worker(
            backend: queue,
            configuration: .init(
                concurrency: 2, retry: .init(initialDelay: .seconds(30), maximumDelay: .seconds(60), jitter: 0),
                gracePeriod: .seconds(60))
        ) { request in request.payload }
        try await testGracefulShutdown { trigger in
            let task = Task { try await worker.run() }
            // Both slots have failed to take work and are backing off (30 s) before they try again.
            for _ in 0..<400 where queue.failures < 2 { try await Task.sleep(for: .milliseconds(25)) }
            #expect(queue.failures >= 2, "the slots never asked the store for work")
            try await Task.sleep(for: .milliseconds(200))
            trigger.triggerGracefulShutdown()
            try await finish(task, within: .seconds(10), "the worker stopping during its backoff")
        }
        // One refusal per slot: neither slot asked the store again before its 30 s backoff ended.
        #expect(queue.failures == 2, "the store was asked for work \(queue.failures) times")
        await queue.shutdown()
    }

    @Test func responseOverThePayloadLimitFailsAtOnce() async throws {
        let queue = try backend(attempts: 3, maxPayloadBytes: 1024)
        let calls = Atomic<Int>(0)
        let worker = Worker(
            backend: queue,
            configuration: .init(concurrency: 1, retry: .init(initialDelay: .milliseconds(10), jitter: 0))
        ) { _ in
            calls.add(1, ordering: .relaxed)
            return Data(repeating: 7, count: 1025)
        }
        let response = try await running(worker) {
            try await queue.send(QueueRequest(payload: Data("big answer".utf8)), timeout: .seconds(30))
        }
        #expect(response.status == .failed)
        #expect(response.error?.contains("payload limit") == true, "unexpected error: \(response.error ?? "none")")
        #expect(response.payload.isEmpty)
        let total = calls.load(ordering: .relaxed)
        #expect(total == 1, "the request was delivered \(total) times")
        #expect(try await queue.status(of: response.correlationID) == .finished(.failed))
    }

    @Test func permanentHandlerErrorFailsAtOnceWithItsReason() async throws {
        let queue = try backend(attempts: 3)
        let calls = Atomic<Int>(0)
        let worker = Worker(
            backend: queue,
            configuration: .init(concurrency: 1, retry: .init(initialDelay: .milliseconds(10), jitter: 0))
        ) { _ in
            calls.add(1, ordering: .relaxed)
            throw PermanentHandlerError("the prompt names no model")
        }
        let response = try await running(worker) {
            try await queue.send(QueueRequest(payload: Data()), timeout: .seconds(30))
        }
        #expect(response.status == .failed)
        #expect(response.error == "the prompt names no model")
        let total = calls.load(ordering: .relaxed)
        #expect(total == 1, "the request was delivered \(total) times")
    }

    @Test(arguments: [true, false])
    func longFailureReasonsAreCut(permanent: Bool) async throws {
        let reason = String(repeating: "x", count: 100_000)
        let queue = try backend(attempts: 1)
        let worker = Worker(backend: queue, configuration: .init(concurrency: 1)) { _ in
            if permanent { throw PermanentHandlerError(reason) }
            throw CourierError(.storageFailure, reason)
        }
        let response = try await running(worker) {
            try await queue.send(QueueRequest(payload: Data()), timeout: .seconds(30))
        }
        #expect(response.status == .failed)
        let stored = try #require(response.error)
        #expect(stored.count <= 4096, "a reason of \(stored.count) characters was stored")
        #expect(stored.count >= 4000, "the reason was cut to \(stored.count) characters, not to the limit")
        #expect(stored.contains(String(repeating: "x", count: 3000)), "the start of the reason was not kept")
    }
}

/// A memory queue whose consumers can never take work: every `next()` throws `backendUnavailable`, as when
/// the store is down.
private final class FailingConsumerBackend: QueueBackend {
    let base: MemoryQueueBackend
    private let failed = Atomic<Int>(0)

    init(base: MemoryQueueBackend) { self.base = base }

    /// How many times a consumer asked for work and was refused.
    var failures: Int { failed.load(ordering: .relaxed) }

    var capabilities: QueueCapabilities { base.capabilities }
    var configuration: QueueConfiguration { base.configuration }

    func publishRequest(_ request: QueueRequest) async throws { try await base.publishRequest(request) }

    func consumeRequests() -> DeliverySequence {
        DeliverySequence { [self] in
            failed.add(1, ordering: .relaxed)
            throw CourierError(.backendUnavailable, "the store is down (test)")
        }
    }

    func publishResponse(_ response: QueueResponse, settling lease: Lease?) async throws -> PublishResponseResult {
        try await base.publishResponse(response, settling: lease)
    }

    func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse? {
        try await base.getResponse(for: correlationID)
    }

    func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        try await base.subscribe(to: correlationID, timeout: timeout)
    }

    func status(of correlationID: CorrelationID) async throws -> RequestState {
        try await base.status(of: correlationID)
    }

    func statusReport(of correlationID: CorrelationID) async throws -> RequestStatusReport {
        try await base.statusReport(of: correlationID)
    }

    func cancel(_ correlationID: CorrelationID) async throws -> CancelResult { try await base.cancel(correlationID) }

    func extendLease(_ lease: Lease) async throws -> Lease { try await base.extendLease(lease) }

    func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws {
        try await base.release(lease, retryAfter: retryAfter, reason: reason)
    }

    func giveBack(_ lease: Lease) async throws { try await base.giveBack(lease) }

    func shutdown() async { await base.shutdown() }
}
