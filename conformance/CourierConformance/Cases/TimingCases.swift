import Courier
import Foundation

/// Promised durations hold from both sides: a lease lasts as long as the `Lease` says, no shorter and no
/// longer, and a response stays readable for its TTL and not much beyond. The allowance for a slow machine is
/// fixed (``timingAllowance``), not multiplied by the timing scale: scaling it would let a slow adapter pass.
extension Conformance {
    static let timingCases: [ConformanceCase] = [
        ConformanceCase("D9", "leaseLastsAsReported") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let claimStarted = ContinuousClock.now
            let delivery = try await c.claim(backend, rule: "D9")
            // The Lease speaks wall-clock time and this case measures on the continuous clock. Reading the wall
            // clock between two continuous readings bounds where the reported end falls even when this thread is
            // descheduled between the reads (as happens on a loaded machine); every check below takes the side of
            // that interval that favours the adapter.
            let beforeReading = ContinuousClock.now
            let reported = Duration.milliseconds(Int64(delivery.lease.expiresAt.timeIntervalSinceNow * 1000))
            let afterReading = ContinuousClock.now
            let claimTook = afterReading - claimStarted
            let lease = backend.configuration.leaseDuration
            try c.expect(
                reported <= lease + .milliseconds(200) && reported >= lease - claimTook - .milliseconds(200),
                "rule 3 lease", "the Lease says it runs out in \(reported), the configured lease is \(lease)")
            let expiry = beforeReading + reported
            // Not over before it says: every status read that starts well before the reported end sees it running.
            // A read sees the store somewhere between its start and its end, so it is judged by its end.
            while ContinuousClock.now < expiry - .milliseconds(300) {
                let state = try await backend.status(of: request.correlationID)
                let readEnded = ContinuousClock.now
                if state != .running(attempt: 1) && readEnded < expiry - .milliseconds(300) {
                    throw ConformanceFailure(
                        rule: "rule 3 lease",
                        "status says \(state) \(expiry - readEnded) before the lease the Lease reported runs out")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let allowance = c.timingAllowance
            let again = try await c.within(reported + allowance, rule: "rule 3 lease", "the redelivery after the lease")
            {
                var consumer = backend.consumeRequests().makeAsyncIterator()
                return try await consumer.next()
            }
            let arrived = ContinuousClock.now
            try c.expect(
                again?.request.correlationID == request.correlationID, "rule 3 lease", "another request came back")
            try c.expect(
                arrived >= expiry - .milliseconds(200), "rule 3 lease",
                "the request was delivered again \(expiry - arrived) before the lease the Lease reported ran out")
        },
        ConformanceCase("E7", "responseTTLHeldBothWays") { c in
            let backend = try await c.backend()
            let ttl = backend.configuration.responseTTL
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "E7")
            let storing = ContinuousClock.now
            try await c.answer(backend, delivery)
            // The response was stored somewhere between `storing` and `stored`: the lower bound is judged from the
            // first, the upper from the second. A read that finds the response gone is judged by when it ended, one
            // that finds it still there by when it started: each side favours the adapter.
            let stored = ContinuousClock.now
            while ContinuousClock.now < storing + ttl - .milliseconds(200) {
                let early = try await backend.getResponse(for: request.correlationID)
                let readEnded = ContinuousClock.now
                if early == nil && readEnded < storing + ttl - .milliseconds(100) {
                    throw ConformanceFailure(
                        rule: "rule 4 TTL",
                        "the response was gone \(readEnded - storing) after it was stored; its TTL is \(ttl)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            // Gone by the TTL plus the allowance.
            let deadline = stored + ttl + c.timingAllowance
            while true {
                let readStarted = ContinuousClock.now
                if try await backend.getResponse(for: request.correlationID) == nil { return }
                if readStarted >= deadline {
                    throw ConformanceFailure(
                        rule: "rule 4 TTL",
                        "the response was still readable \(readStarted - stored) after it was stored; its TTL is \(ttl)"
                    )
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        },
    ]
}

extension ConformanceContext {
    /// How late a promised moment (a lease's end, a TTL) may be observed on a slow machine: five wake bounds
    /// and the machine allowance, whatever the timing scale.
    var timingAllowance: Duration { timing.wakeBound * 5 + timing.machineAllowance }
}
