import Courier
import Foundation

extension Conformance {
    static let concurrencyCases: [ConformanceCase] = [
        ConformanceCase("I1", "concurrentPublishers") { c in
            let backend = try await c.backend()
            let ledger = Ledger()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        for _ in 0..<20 {
                            let request = try await c.publish(backend)
                            ledger.published(request.correlationID)
                        }
                    }
                }
                try await group.waitForAll()
            }
            for _ in 0..<200 {
                let delivery = try await c.claim(backend, rule: "I1")
                ledger.delivered(delivery.request.correlationID)
                if try await c.answer(backend, delivery) == .stored { ledger.answered(delivery.request.correlationID) }
            }
            try await c.expectNoDelivery(
                backend, for: c.timing.scaled(c.timing.wakeBound), rule: "I1", "an extra delivery")
            try ledger.verify(rule: "concurrent publish", expectedIDs: 200)
        },
        ConformanceCase("I2", "consumerChurn") { c in
            let backend = try await c.backend()
            let ledger = Ledger()
            let total = 100
            for _ in 0..<total { ledger.published(try await c.publish(backend).correlationID) }
            try await c.eventually(c.timing.scaled(.seconds(15)), "churn", "all answered while consumers churn") {
                let consumer = Task {
                    for try await delivery in backend.consumeRequests() {
                        ledger.delivered(delivery.request.correlationID)
                        if try await c.answer(backend, delivery) == .stored {
                            ledger.answered(delivery.request.correlationID)
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...10)))
                consumer.cancel()
                _ = await consumer.result
                return ledger.answeredTotal >= total
            }
            // Deliveries cut off by a cancelled consumer come back after their lease: allow those, never a second answer.
            try ledger.verifyAnsweredOnce(rule: "churn", expectedIDs: total)
        },
        ConformanceCase("I3", "cancelledConsumerReleases") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let abandoned = Task { () -> Delivery? in
                var iterator = backend.consumeRequests().makeAsyncIterator()
                let delivery = try await iterator.next()
                withUnsafeCurrentTask { $0?.cancel() }
                return delivery
            }
            _ = try await abandoned.value
            let again = try await c.claim(backend, within: c.timing.scaled(c.timing.lease * 4), rule: "I3")
            try c.expect(
                again.request.correlationID == request.correlationID, "rule 3 redelivery",
                "request lost by a cancelled consumer")
            try c.expect(again.attempt == 2, "rule 3 attempts", "redelivery attempt \(again.attempt)")
        },
    ]
}
