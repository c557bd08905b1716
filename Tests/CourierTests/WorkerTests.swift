import Courier
import CourierTestSupport
import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite("Worker")
struct WorkerTests {
    private func backend(lease: Duration = .seconds(5), attempts: Int = 3) throws -> MemoryQueueBackend {
        try MemoryQueueBackend(
            configuration: .init(
                queueName: "worker-\(UUID().uuidString.prefix(8))", leaseDuration: lease,
                maxAttempts: attempts))
    }

    @Test func answersEveryRequestOnce() async throws {
        let queue = try backend()
        let calls = Atomic<Int>(0)
        let worker = Worker(backend: queue, configuration: .init(concurrency: 4)) { request in
            calls.add(1, ordering: .relaxed)
            return Data(request.payload.reversed())
        }
        try await running(worker) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let response = try await queue.send(
                            QueueRequest(payload: Data("\(index)".utf8)), timeout: .seconds(30))
                        #expect(response.status == .completed)
                        #expect(response.payload == Data("\(index)".utf8.reversed()))
                    }
                }
                try await group.waitForAll()
            }
        }
        let total = calls.load(ordering: .relaxed)
        #expect(total == 200)
    }

    @Test func failingHandlerRetriesThenStoresFailure() async throws {
        let queue = try backend(attempts: 3)
        let attempts = Atomic<Int>(0)
        let worker = Worker(
            backend: queue,
            configuration: .init(concurrency: 1, retry: .init(initialDelay: .milliseconds(10), jitter: 0))
        ) { _ in
            attempts.add(1, ordering: .relaxed)
            throw CourierError(.storageFailure, "model unavailable")
        }
        let response = try await running(worker) {
            try await queue.send(QueueRequest(payload: Data()), timeout: .seconds(30))
        }
        #expect(response.status == .failed)
        #expect(response.error?.contains("model unavailable") == true)
        let total = attempts.load(ordering: .relaxed)
        #expect(total == 3)
    }

    @Test func longHandlerKeepsItsLease() async throws {
        // The handler outlives the lease by a second; renewals (every third of the lease) keep it, with room for
        // a loaded machine to delay one of them by up to two seconds.
        let queue = try backend(lease: .seconds(3))
        let calls = Atomic<Int>(0)
        let worker = Worker(backend: queue, configuration: .init(concurrency: 2)) { request in
            calls.add(1, ordering: .relaxed)
            try await Task.sleep(for: .seconds(4))
            return request.payload
        }
        let response = try await running(worker) {
            try await queue.send(QueueRequest(payload: Data("slow".utf8)), timeout: .seconds(30))
        }
        #expect(response.status == .completed)
        let total = calls.load(ordering: .relaxed)
        #expect(total == 1, "the request was delivered again while its handler ran")
    }

    @Test func cancellingARunningRequestCancelsItsHandler() async throws {
        let queue = try backend()
        let started = AsyncStream<Void>.makeStream()
        let sawCancellation = Atomic<Bool>(false)
        let worker = Worker(backend: queue, configuration: .init(concurrency: 1)) { request in
            if request.payload == Data("quick".utf8) { return request.payload }
            started.continuation.yield()
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                sawCancellation.store(true, ordering: .relaxed)
                throw error
            }
            return Data()
        }
        try await running(worker) {
            let id = try await queue.publishRequest(payload: Data())
            var iterator = started.stream.makeAsyncIterator()
            await iterator.next()
            #expect(try await queue.cancel(id) == .cancelledRunning)
            let response = try await queue.response(for: id, timeout: .seconds(5))
            #expect(response.status == .cancelled)
            for _ in 0..<100 where !sawCancellation.load(ordering: .relaxed) {
                try await Task.sleep(for: .milliseconds(50))
            }
            // The slot whose handler was stopped goes on serving (on a fresh task).
            let next = try await queue.send(QueueRequest(payload: Data("quick".utf8)), timeout: .seconds(30))
            #expect(next.status == .completed)
        }
        let cancelled = sawCancellation.load(ordering: .relaxed)
        #expect(cancelled, "the handler was not cancelled")
    }

    @Test func gracefulShutdownFinishesInFlightWork() async throws {
        let queue = try backend()
        let started = AsyncStream<Void>.makeStream()
        let worker = Worker(backend: queue, configuration: .init(concurrency: 1, gracePeriod: .seconds(20))) { r in
            started.continuation.yield()
            try await Task.sleep(for: .milliseconds(300))
            return r.payload
        }
        let id = try await queue.publishRequest(payload: Data("in flight".utf8))
        try await testGracefulShutdown { trigger in
            let task = Task { try await worker.run() }
            var iterator = started.stream.makeAsyncIterator()
            await iterator.next()
            trigger.triggerGracefulShutdown()
            try await task.value
        }
        let response = try #require(try await queue.getResponse(for: id))
        #expect(response.payload == Data("in flight".utf8))
    }

    @Test func retryDelaysGrowAndStayCapped() {
        let policy = RetryPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(8), jitter: 0)
        #expect(policy.delay(afterAttempt: 1) == .seconds(1))
        #expect(policy.delay(afterAttempt: 3) == .seconds(4))
        #expect(policy.delay(afterAttempt: 10) == .seconds(8))
    }
}
