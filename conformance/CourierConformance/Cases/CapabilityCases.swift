import Courier
import Foundation

/// Group K: capabilities are proved, not only declared.
extension Conformance {
    static let capabilityCases: [ConformanceCase] = [
        ConformanceCase("K1", "pushWakeupsBeatPolling", needs: .pushWakeups) { c in
            let backend = try await c.backend()
            var latencies: [Duration] = []
            for _ in 0..<15 {
                let request = try await c.publish(backend)
                let waiter = c.waiter(backend, request.correlationID)
                try await Task.sleep(for: c.timing.wakeBound)  // let the waiter start waiting
                let delivery = try await c.claim(backend, rule: "K1")
                let answered = ContinuousClock.now
                try await c.answer(backend, delivery)
                _ = try await c.woken(waiter, rule: "pushWakeups")
                latencies.append(ContinuousClock.now - answered)
            }
            // The promise itself, not scaled: a median a store that polls cannot reach.
            let median = latencies.sorted()[latencies.count / 2]
            let bound = c.timing.wakeBound + .milliseconds(50)
            try c.expect(
                median <= bound, "capabilities: pushWakeups",
                "the median wake-up after an answer took \(median), over the wake bound \(bound): that is polling")
        }
    ]
}
