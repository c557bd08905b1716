import Courier
import CourierTestSupport
import Foundation
import Synchronization
import Testing

/// How a worker treats the failures an LLM handler meets: errors that say "never retry", retry hints such as a
/// 429's `Retry-After`, and a key (a model) whose calls keep failing.
@Suite("Worker failure classes and circuit breaker")
struct WorkerFailureClassesTests {
    private func backend(attempts: Int = 3) throws -> MemoryQueueBackend {
        try MemoryQueueBackend(
            configuration: .init(queueName: "classes-\(UUID().uuidString.prefix(8))", maxAttempts: attempts))
    }

    /// A retry policy whose own backoff would take minutes: a retry that comes quickly followed a hint.
    private static let slowBackoff = RetryPolicy(initialDelay: .seconds(120), maximumDelay: .seconds(120), jitter: 0)

    /// An application's own error type, as an HTTP client for a model would have.
    struct ProviderError: ClassifiedHandlerError, CustomStringConvertible {
        let status: Int
        var retryAfter: Duration?
        var isRetryable: Bool { status == 429 || status >= 500 }
        var description: String { "the provider answered HTTP \(status)" }
    }

    @Test func aPermanentErrorFailsTheRequestAtOnce() async throws {
        let backend = try backend()
        let calls = Mutex(0)
        let worker = Worker(backend: backend, configuration: .init(retry: Self.slowBackoff)) { _ in
            calls.withLock { $0 += 1 }
            throw ProviderError(status: 400)
        }
        let response = try await running(worker) {
            try await backend.send(QueueRequest(payload: Data("q".utf8)), timeout: .seconds(30))
        }
        #expect(response.status == .failed)
        #expect(response.error == "the provider answered HTTP 400")
        #expect(calls.withLock { $0 } == 1)
        await backend.shutdown()
    }

    @Test func aRetryHintReplacesTheBackoff() async throws {
        let backend = try backend()
        let calls = Mutex<[ContinuousClock.Instant]>([])
        let worker = Worker(backend: backend, configuration: .init(retry: Self.slowBackoff)) { request in
            let attempt = calls.withLock { calls in
                calls.append(.now)
                return calls.count
            }
            if attempt == 1 { throw RetryableHandlerError("rate limited", retryAfter: .milliseconds(400)) }
            if attempt == 2 { throw ProviderError(status: 503, retryAfter: .milliseconds(400)) }
            return request.payload
        }
        let response = try await running(worker) {
            try await backend.send(QueueRequest(payload: Data("q".utf8)), timeout: .seconds(60))
        }
        #expect(response.status == .completed)
        let times = calls.withLock { $0 }
        #expect(times.count == 3)
        for index in 1..<times.count {
            // Not before the hint; and long before the two-minute backoff the hint replaced.
            #expect(times[index] - times[index - 1] >= .milliseconds(350))
        }
        await backend.shutdown()
    }

    @Test func aHintIsCutToTheConfiguredMaximum() async throws {
        let backend = try backend()
        let calls = Mutex(0)
        var configuration = WorkerConfiguration(retry: Self.slowBackoff)
        configuration.maximumRetryHint = .milliseconds(200)
        let worker = Worker(backend: backend, configuration: configuration) { request in
            if calls.withLock({
                $0 += 1; return $0
            }) == 1 {
                throw RetryableHandlerError("come back in an hour", retryAfter: .seconds(3600))
            }
            return request.payload
        }
        let response = try await running(worker) {
            try await backend.send(QueueRequest(payload: Data("q".utf8)), timeout: .seconds(60))
        }
        #expect(response.status == .completed)
        await backend.shutdown()
    }

    @Test func anOpenBreakerStopsCallsForItsKeyWithoutSpendingAttemptsWhileOtherKeysFlow() async throws {
        // Three attempts: two failures open the breaker; the trial after the cool-down is the third attempt, so
        // any attempt spent while the breaker was open would dead-letter the request. The model "recovers" for
        // every call after the second, so a breaker that let a call through early would show as a third call
        // that comes before the cool-down; a loaded machine only makes the calls later, never earlier.
        let backend = try backend(attempts: 3)
        let downCalls = Mutex<[ContinuousClock.Instant]>([])
        var configuration = WorkerConfiguration(
            concurrency: 2, retry: RetryPolicy(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(20)))
        configuration.circuitBreaker = CircuitBreakerConfiguration(
            keyHeader: "model", failureThreshold: 2, coolDown: .seconds(4))
        let worker = Worker(backend: backend, configuration: configuration) { request in
            guard request.headers["model"] == "down" else { return request.payload }
            let call = downCalls.withLock { calls in
                calls.append(.now)
                return calls.count
            }
            if call > 2 { return Data("recovered".utf8) }
            throw RetryableHandlerError("the model is overloaded")
        }
        try await running(worker) {
            let down = try await backend.publishRequest(payload: Data("d".utf8), headers: ["model": "down"])
            try await eventually(.seconds(30)) { downCalls.withLock { $0.count } == 2 }
            // Other keys flow while the breaker for "down" is open.
            for index in 0..<20 {
                let response = try await backend.send(
                    QueueRequest(payload: Data("\(index)".utf8), headers: ["model": "up"]), timeout: .seconds(30))
                #expect(response.status == .completed)
                if index == 0, downCalls.withLock({ $0.count }) == 2 {
                    #expect(try await backend.status(of: down) == .pending(attempt: 3), "no attempt spent while open")
                }
            }
            let response = try await backend.subscribe(to: down, timeout: .seconds(60))
            #expect(response.status == .completed, "\(response.error ?? "")")
            #expect(response.payload == Data("recovered".utf8))
            let calls = downCalls.withLock { $0 }
            #expect(calls.count == 3, "one trial call after the cool-down")
            if calls.count == 3 {
                #expect(calls[2] - calls[1] >= .milliseconds(3900), "the trial came \(calls[2] - calls[1]) after")
            }
        }
        await backend.shutdown()
    }

    @Test func aFailedTrialOpensTheBreakerAgainAndPermanentErrorsDoNotCount() async throws {
        let backend = try backend(attempts: 10)
        let calls = Mutex<[String]>([])
        var configuration = WorkerConfiguration(
            retry: RetryPolicy(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(20)))
        configuration.circuitBreaker = CircuitBreakerConfiguration(failureThreshold: 2, coolDown: .milliseconds(800))
        let worker = Worker(backend: backend, configuration: configuration) { request in
            let payload = String(decoding: request.payload, as: UTF8.self)
            calls.withLock { $0.append(payload) }
            if payload.hasPrefix("bad") { throw PermanentHandlerError("malformed") }
            throw RetryableHandlerError("down")
        }
        try await running(worker) {
            // Permanent failures are the request's fault: ten of them leave the breaker closed.
            for index in 0..<10 {
                let response = try await backend.send(
                    QueueRequest(payload: Data("bad \(index)".utf8), headers: ["model": "m"]), timeout: .seconds(30))
                #expect(response.status == .failed)
            }
            #expect(calls.withLock { $0.count } == 10)
            // Retryable failures open it: 2 calls, then a trial every cool-down, each failing.
            let failing = try await backend.publishRequest(payload: Data("retry".utf8), headers: ["model": "m"])
            try await Task.sleep(for: .seconds(2))
            let retries = calls.withLock { $0.filter { $0 == "retry" }.count }
            // 2 before opening, then at most one trial per 0.8 s cool-down in 2 s (3 on a slow machine's edges).
            #expect(retries >= 2 && retries <= 5, "calls in 2 s: \(retries)")
            _ = try await backend.cancel(failing)
        }
        await backend.shutdown()
    }
}
