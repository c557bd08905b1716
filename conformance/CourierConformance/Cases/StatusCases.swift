import Courier
import Foundation

extension Conformance {
    static let statusCases: [ConformanceCase] = [
        ConformanceCase("G1", "statusLifecycle") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let id = CorrelationID.generate()
            try c.expect(try await backend.status(of: id) == .unknown, "rule 7 status", "unpublished id is known")
            try await c.publish(backend, id: id)
            try c.expect(
                try await backend.status(of: id) == .pending(attempt: 1), "rule 7 status", "new request not pending")
            _ = try await c.claim(backend, rule: "G1")
            try c.expect(
                try await backend.status(of: id) == .running(attempt: 1), "rule 7 status", "claimed request not running"
            )
            let second = try await c.claim(backend, within: c.timing.scaled(c.timing.lease * 4), rule: "G1")
            let running = try await backend.status(of: id)
            try c.expect(running == .running(attempt: 2), "rule 7 status", "redelivered request is \(running)")
            try await c.answer(backend, second)
            try c.expect(
                try await backend.status(of: id) == .finished(.completed), "rule 7 status",
                "answered request not completed")
        },
        ConformanceCase("G2", "cancelPending") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let request = try await c.publish(backend)
            let waiter = Task {
                try await backend.subscribe(to: request.correlationID, timeout: c.timing.scaled(.seconds(10)))
            }
            try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
            let result = try await backend.cancel(request.correlationID)
            try c.expect(result == .removedPending, "rule 7 cancel", "cancelling a pending request reported \(result)")
            let response = try await waiter.value
            try c.expect(response.status == .cancelled, "rule 7 cancel", "waiter woke with \(response.status)")
            try await c.expectNoDelivery(
                backend, for: c.timing.scaled(c.timing.wakeBound * 2), rule: "rule 7 cancel",
                "a cancelled request was delivered")
        },
        ConformanceCase("G3", "cancelRunning") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "G3")
            try c.expect(
                try await backend.cancel(request.correlationID) == .cancelledRunning, "rule 7 cancel", "wrong result")
            let stored = try await backend.getResponse(for: request.correlationID)
            try c.expect(stored?.status == .cancelled, "rule 7 cancel", "no cancelled response stored at once")
            try await c.expectError(.requestCancelled, "rule 7 cancel", "the holder's next lease extension") {
                _ = try await backend.extendLease(delivery.lease)
            }
            let late = try await c.answer(backend, delivery)
            guard case .alreadyAnswered = late else {
                throw ConformanceFailure(rule: "rule 7 cancel", "the holder's late response was \(late)")
            }
            let kept = try await backend.getResponse(for: request.correlationID)
            try c.expect(
                kept?.status == .cancelled, "rule 7 cancel",
                "after the holder's late response the stored response is \(String(describing: kept?.status)), not cancelled"
            )
        },
        ConformanceCase("G4", "cancelUnknownOrFinished") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            try await c.expectError(.notFound, "rule 7 cancel", "cancelling an unknown id") {
                try await backend.cancel(.generate())
            }
            let request = try await c.publish(backend)
            try await c.answer(backend, try await c.claim(backend, rule: "G4"))
            try await c.expectError(.alreadyFinished, "rule 7 cancel", "cancelling an answered request") {
                try await backend.cancel(request.correlationID)
            }
            try c.expect(
                try await backend.getResponse(for: request.correlationID)?.status == .completed, "rule 7 cancel",
                "cancelling a finished request changed its response")
        },
    ]
}
