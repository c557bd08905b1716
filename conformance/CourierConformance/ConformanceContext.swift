import Courier
import Foundation
import Synchronization

/// What a case works with: fresh backends on a unique queue, timing, and checking helpers that throw
/// ``ConformanceFailure``.
final class ConformanceContext: Sendable {
    let harness: any ConformanceHarness
    let timing: ConformanceTiming
    let queueName: String
    private let opened = Mutex<[WatchedBackend]>([])

    init(harness: any ConformanceHarness, caseName: String) {
        self.harness = harness
        var timing = harness.timing
        if let text = ProcessInfo.processInfo.environment["COURIER_CONFORMANCE_SCALE"], let scale = Double(text) {
            timing.scale = scale
        }
        self.timing = timing
        let suffix = UInt32.random(in: 0...UInt32.max)
        self.queueName = "conf-\(caseName.prefix(40))-\(String(suffix, radix: 16))"
    }

    /// The configuration cases use: this case's queue and the harness's short timings.
    /// - Parameter responseTTL: A longer TTL for cases that read a response well after it was stored.
    func configuration(
        maxAttempts: Int = 3, maxPayloadBytes: Int = 8 << 20, responseTTL: Duration? = nil,
        maxEventsPerRequest: Int = 500, leaseDuration: Duration? = nil
    ) -> QueueConfiguration {
        QueueConfiguration(
            queueName: queueName, leaseDuration: leaseDuration ?? timing.lease, maxAttempts: maxAttempts,
            responseTTL: responseTTL ?? timing.responseTTL, maxPayloadBytes: maxPayloadBytes,
            maxEventsPerRequest: maxEventsPerRequest)
    }

    /// The configuration for cases that hold a delivery across several steps and never wait for a lease to run
    /// out: a lease and a response that outlive the case, however slowly the machine runs it.
    func holdingConfiguration(maxAttempts: Int = 3, maxEventsPerRequest: Int = 500) -> QueueConfiguration {
        configuration(
            maxAttempts: maxAttempts, responseTTL: timing.scaled(timing.lease * 30),
            maxEventsPerRequest: maxEventsPerRequest, leaseDuration: timing.scaled(timing.lease * 30))
    }

    /// The configuration for cases that check a final response's status after waiting on other things: the
    /// response outlives the case.
    func lastingConfiguration(maxAttempts: Int = 3, maxEventsPerRequest: Int = 500) -> QueueConfiguration {
        configuration(
            maxAttempts: maxAttempts, responseTTL: timing.scaled(timing.lease * 30),
            maxEventsPerRequest: maxEventsPerRequest)
    }

    /// A fresh backend for this case; shut down when the case ends.
    func backend(_ configuration: QueueConfiguration? = nil) async throws -> any QueueBackend {
        track(try await harness.makeBackend(configuration: configuration ?? self.configuration()))
    }

    /// A new instance over the same store (the reopen hook).
    func reopen(_ configuration: QueueConfiguration? = nil) async throws -> any QueueBackend {
        track(try await harness.reopenBackend(configuration: configuration ?? self.configuration()))
    }

    private func track(_ backend: any QueueBackend) -> any QueueBackend {
        let watched = WatchedBackend(backend, timing: timing)
        opened.withLock { $0.append(watched) }
        return watched
    }

    /// The adapter's own instance behind a backend this context opened (for the harness's hooks).
    func unwrapped(_ backend: any QueueBackend) -> any QueueBackend {
        (backend as? WatchedBackend)?.base ?? backend
    }

    /// The calls of this case's backends that have not returned, oldest first.
    var callsInFlight: [String] { opened.withLock { $0 }.flatMap(\.callsInFlight) }

    /// How long one `shutdown()` may take before the case fails.
    var shutdownBound: Duration { timing.scaled(timing.lease + .seconds(2)) }

    /// Shuts down every backend this case opened, each within ``shutdownBound``.
    /// - Returns: A description of each shutdown that did not return in time.
    func shutdownAll() async -> [String] {
        var stuck: [String] = []
        for backend in opened.withLock({ $0 }) {
            if case .expired = await Deadline.race(shutdownBound, { await backend.shutdown() }) {
                stuck.append("shutdown() did not return within \(shutdownBound)")
            }
        }
        return stuck
    }

    // MARK: Checks

    func expect(_ condition: Bool, _ rule: String, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(rule: rule, message()) }
    }

    func expectError(
        _ code: CourierError.Code, _ rule: String, _ what: String, _ operation: () async throws -> Void
    ) async throws {
        do {
            try await operation()
        } catch let error as CourierError where error.code == code {
            return
        } catch {
            throw ConformanceFailure(rule: rule, "\(what): expected \(code), got \(error)")
        }
        throw ConformanceFailure(rule: rule, "\(what): expected \(code), but it succeeded")
    }

    /// Runs `operation`, failing with `rule` if it has not returned after `limit`; an operation that ignores
    /// cancellation is abandoned, never waited for.
    /// - Parameter what: What was expected, such as `a delivery`; the failure says it did not come in time.
    func within<T: Sendable>(
        _ limit: Duration, rule: String, _ what: String, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        switch await Deadline.race(limit, operation) {
        case .finished(let result):
            return try result.get()
        case .expired:
            let waiting = callsInFlight
            throw ConformanceFailure(
                rule: rule,
                "expected \(what) within \(limit); it did not happen"
                    + (waiting.isEmpty ? "" : "; still waiting for: " + waiting.joined(separator: ", ")))
        }
    }

    /// Polls `condition` until it holds or `limit` passes.
    func eventually(
        _ limit: Duration, _ rule: String, _ what: String, _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        if try await condition() { return }
        throw ConformanceFailure(rule: rule, "\(what) did not happen within \(limit)")
    }

    // MARK: Queue helpers

    /// Publishes a request with `payload` and returns it.
    @discardableResult
    func publish(
        _ backend: any QueueBackend, _ payload: String = "payload", id: CorrelationID = .generate(),
        headers: [String: String] = [:], deadline: Date? = nil
    ) async throws -> QueueRequest {
        let request = QueueRequest(correlationID: id, payload: Data(payload.utf8), headers: headers, deadline: deadline)
        try await backend.publishRequest(request)
        return request
    }

    /// Claims one delivery, failing with `rule` when none arrives within `limit` (default: a wake bound + lease).
    func claim(_ backend: any QueueBackend, within limit: Duration? = nil, rule: String) async throws -> Delivery {
        let bound = limit ?? timing.scaled(timing.wakeBound + timing.lease * 2)
        let delivery = try await within(bound, rule: rule, "a delivery") {
            var consumer = backend.consumeRequests().makeAsyncIterator()
            return try await consumer.next()
        }
        guard let delivery else { throw ConformanceFailure(rule: rule, "the delivery stream ended unexpectedly") }
        return delivery
    }

    /// Fails when a delivery arrives within `window` (claiming it, if one does).
    func expectNoDelivery(_ backend: any QueueBackend, for window: Duration, rule: String, _ why: String) async throws {
        try await expectNothing(from: strayConsumer(backend), for: window, rule: rule, why)
    }

    /// A consumer waiting in the background for one delivery that should never come.
    func strayConsumer(_ backend: any QueueBackend) -> Task<Delivery?, any Error> {
        Task {
            var iterator = backend.consumeRequests().makeAsyncIterator()
            return try await iterator.next()
        }
    }

    /// Waits `window`, then fails when `consumer` received a delivery (and stops it either way).
    func expectNothing(
        from consumer: Task<Delivery?, any Error>, for window: Duration, rule: String, _ why: String
    ) async throws {
        try await Task.sleep(for: window)
        consumer.cancel()
        let outcome = try? await within(timing.scaled(timing.wakeBound * 4), rule: rule, "the consumer to stop") {
            await consumer.result
        }
        if case .success(let delivery?)? = outcome {
            throw ConformanceFailure(
                rule: rule,
                "request \(delivery.request.correlationID) (attempt \(delivery.attempt)) was delivered: \(why)")
        }
    }

    /// Answers a delivery with its own payload.
    @discardableResult
    func answer(
        _ backend: any QueueBackend, _ delivery: Delivery, payload: Data? = nil
    ) async throws
        -> PublishResponseResult
    {
        try await backend.publishResponse(
            .completed(delivery.request.correlationID, payload: payload ?? delivery.request.payload),
            settling: delivery.lease)
    }

    /// Waits for a response within a wake bound (plus `extra`).
    func response(
        _ backend: any QueueBackend, _ id: CorrelationID, extra: Duration = .zero, rule: String
    )
        async throws -> QueueResponse
    {
        let bound = timing.scaled(timing.wakeBound * 4 + extra)
        do {
            return try await backend.subscribe(to: id, timeout: bound)
        } catch let error as CourierError where error.code == .timedOut {
            throw ConformanceFailure(rule: rule, "no response to \(id) within \(bound)")
        }
    }
}
