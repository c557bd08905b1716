import Courier
import Foundation

/// Group J: every path to a final response wakes the waiters that were already waiting, stores the status that
/// `status(of:)` then reports, and is final (the request is never delivered again, and its id cannot be
/// published again).
extension Conformance {
    static let finalStateCases: [ConformanceCase] = [
        ConformanceCase("J1", "deadLetterByReleaseWakes") { c in
            let backend = try await c.backend(c.lastingConfiguration(maxAttempts: 1))
            let request = try await c.publish(backend)
            let waiter = c.waiter(backend, request.correlationID)
            let delivery = try await c.claim(backend, rule: "J1")
            try await backend.release(delivery.lease, retryAfter: .zero, reason: "gave up")
            let response = try await c.woken(waiter, rule: "rule 9 wake on dead letter")
            try await c.expectFinal(backend, response, .deadLettered, rule: "rule 9 wake on dead letter")
            try c.expect(
                response.error?.contains("gave up") == true, "rule 9 wake on dead letter",
                "the dead-letter response does not carry the release reason: \(String(describing: response.error))")
        },
        ConformanceCase("J2", "cancelRunningWakes") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "J2")
            let waiter = c.waiter(backend, request.correlationID)
            try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
            let result = try await backend.cancel(request.correlationID)
            try c.expect(result == .cancelledRunning, "rule 7 cancel", "cancelling a running request said \(result)")
            let response = try await c.woken(waiter, rule: "rule 9 wake on cancel")
            try await c.expectFinal(backend, response, .cancelled, rule: "rule 9 wake on cancel")
            try await c.expectError(.requestCancelled, "rule 7 cancel is final", "extending a cancelled request") {
                _ = try await backend.extendLease(delivery.lease)
            }
            try await c.expectError(.alreadyFinished, "rule 7 cancel is final", "cancelling it again") {
                _ = try await backend.cancel(request.correlationID)
            }
            // A window without a delivery only checks less when it is short, so it is not scaled.
            try await c.expectNoDelivery(
                backend, for: c.timing.lease * 2, rule: "rule 7 cancel is final",
                "a cancelled running request came back after its lease")
        },
        ConformanceCase("J3", "deadlinePassingWakes") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let deadline = c.timing.scaled(c.timing.wakeBound * 3)
            let request = try await c.publish(backend, deadline: Date(timeIntervalSinceNow: deadline.inSeconds))
            let waiter = c.waiter(backend, request.correlationID)
            try await Task.sleep(for: deadline + c.timing.scaled(c.timing.wakeBound))
            // A consumer arrives only after the deadline: it must not get the request.
            let consumer = c.strayConsumer(backend)
            let response = try await c.woken(waiter, extra: deadline, rule: "rule 9 wake on deadline")
            try await c.expectFinal(backend, response, .timedOut, rule: "rule 9 wake on deadline")
            try await c.expectNothing(
                from: consumer, for: c.timing.scaled(c.timing.wakeBound * 2), rule: "rule 2 deadline",
                "a request was delivered after its deadline")
        },
        ConformanceCase("J4", "lastLeaseExpiryWakes") { c in
            let backend = try await c.backend(c.lastingConfiguration(maxAttempts: 1))
            let request = try await c.publish(backend)
            let waiter = c.waiter(backend, request.correlationID)
            _ = try await c.claim(backend, rule: "J4")  // and never settled: the lease runs out on the last attempt
            // A worker keeps consuming, as one would: the expired request must not reach it.
            let consumer = c.strayConsumer(backend)
            let response = try await c.woken(waiter, extra: c.timing.lease, rule: "rule 9 wake on lease expiry")
            try await c.expectFinal(backend, response, .deadLettered, rule: "rule 9 wake on lease expiry")
            try await c.expectNothing(
                from: consumer, for: c.timing.scaled(c.timing.wakeBound * 2), rule: "rule 3 max attempts",
                "a request was delivered again after its last attempt's lease ran out")
        },
        ConformanceCase("J5", "deadlineHoldsOnRedelivery") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let deadline = c.timing.scaled(c.timing.wakeBound * 5)
            let request = try await c.publish(backend, deadline: Date(timeIntervalSinceNow: deadline.inSeconds))
            let waiter = c.waiter(backend, request.correlationID)
            let delivery = try await c.claim(backend, rule: "J5")
            // The retry falls due after the deadline: the request must not be delivered again.
            try await backend.release(delivery.lease, retryAfter: deadline * 2, reason: "retry later")
            let consumer = c.strayConsumer(backend)
            let response = try await c.woken(waiter, extra: deadline * 2, rule: "rule 9 wake on deadline")
            try await c.expectFinal(backend, response, .timedOut, rule: "rule 2 deadline on redelivery")
            try await c.expectNothing(
                from: consumer, for: c.timing.scaled(c.timing.wakeBound * 2), rule: "rule 2 deadline on redelivery",
                "a request was delivered again after its deadline")
        },
        ConformanceCase("J6", "cancelWhileWaitingForRetryIsFinal") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "J6")
            let retryAfter = c.timing.scaled(c.timing.wakeBound * 3)
            try await backend.release(delivery.lease, retryAfter: retryAfter, reason: "retry later")
            let waiter = c.waiter(backend, request.correlationID)
            let result = try await backend.cancel(request.correlationID)
            try c.expect(
                result == .removedPending, "rule 7 cancel", "cancelling a request waiting to retry said \(result)")
            let response = try await c.woken(waiter, rule: "rule 9 wake on cancel")
            try await c.expectFinal(backend, response, .cancelled, rule: "rule 7 cancel is final")
            try await c.expectNoDelivery(
                backend, for: retryAfter * 2 + c.timing.scaled(c.timing.wakeBound), rule: "rule 7 cancel is final",
                "a request cancelled while it waited for its retry was delivered")
        },
        ConformanceCase("J7", "republishRefusedWhateverTheStatus") { c in
            let backend = try await c.backend(c.lastingConfiguration(maxAttempts: 1))
            var finished: [(CorrelationID, ResponseStatus)] = []
            let failed = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "J7")
            try await backend.publishResponse(.failure(failed.correlationID, error: "no"), settling: delivery.lease)
            finished.append((failed.correlationID, .failed))
            let cancelled = try await c.publish(backend)
            try await backend.cancel(cancelled.correlationID)
            finished.append((cancelled.correlationID, .cancelled))
            let deadLettered = try await c.publish(backend)
            let last = try await c.claim(backend, rule: "J7")
            try await backend.release(last.lease, retryAfter: .zero, reason: "no")
            finished.append((deadLettered.correlationID, .deadLettered))
            for (id, status) in finished {
                let state = try await backend.status(of: id)
                try c.expect(
                    state == .finished(status), "rule 7 status", "\(id) should be \(status), status says \(state)")
                try await c.expectError(.duplicateRequest, "rule 4 republish", "republishing an id that is \(status)") {
                    try await c.publish(backend, id: id)
                }
            }
        },
    ]
}

extension ConformanceContext {
    /// Starts waiting for `id`'s response, with a timeout far beyond the case's own bounds.
    func waiter(_ backend: any QueueBackend, _ id: CorrelationID) -> Task<QueueResponse, any Error> {
        let timeout = timing.scaled(timing.lease * 15)
        return Task { try await backend.subscribe(to: id, timeout: timeout) }
    }

    /// The response a waiter woke with, failing with `rule` when it has not woken within a wake bound (plus
    /// `extra`, for paths whose trigger is itself a timer).
    func woken(
        _ waiter: Task<QueueResponse, any Error>, extra: Duration = .zero, rule: String
    ) async throws -> QueueResponse {
        let bound = timing.scaled(timing.wakeBound * 4 + timing.lease) + extra
        do {
            return try await within(bound, rule: rule, "the waiter to wake with the final response") {
                try await waiter.value
            }
        } catch let failure as ConformanceFailure {
            waiter.cancel()
            throw failure
        }
    }

    /// Checks that `response` has `status`, and that `status(of:)` now reports it too.
    func expectFinal(
        _ backend: any QueueBackend, _ response: QueueResponse, _ status: ResponseStatus, rule: String
    ) async throws {
        try expect(response.status == status, rule, "the waiter woke with \(response.status), expected \(status)")
        let state = try await backend.status(of: response.correlationID)
        try expect(state == .finished(status), "rule 7 status", "status says \(state) after a \(status) response")
    }
}
