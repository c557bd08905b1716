import Courier
import Foundation

extension Conformance {
    static let subscribeCases: [ConformanceCase] = [
        ConformanceCase("F1", "storedBeforeSubscribe") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            try await c.answer(backend, try await c.claim(backend, rule: "F1"))
            let response = try await c.response(backend, request.correlationID, rule: "rule 6 stored before subscribe")
            try c.expect(response.payload == request.payload, "rule 6", "wrong response")
        },
        ConformanceCase("F2", "subscribeBeforeResponse") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let waiter = Task {
                try await c.response(backend, request.correlationID, extra: .seconds(2), rule: "rule 6 subscribe first")
            }
            try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
            try await c.answer(backend, try await c.claim(backend, rule: "F2"))
            let response = try await waiter.value
            try c.expect(response.payload == request.payload, "rule 6", "wrong response")
        },
        ConformanceCase("F3", "subscribeRace") { c in
            let backend = try await c.backend()
            var generator = SystemRandomNumberGenerator()
            for iteration in 0..<100 {
                let request = try await c.publish(backend, "\(iteration)")
                let delivery = try await c.claim(backend, rule: "F3")
                let jitter = Duration.microseconds(Int.random(in: 0...2000, using: &generator))
                async let answered: Void = {
                    try await Task.sleep(for: jitter)
                    try await c.answer(backend, delivery)
                }()
                let response = try await c.response(
                    backend, request.correlationID, extra: .seconds(1), rule: "rule 6 race (iteration \(iteration))")
                try await answered
                try c.expect(response.correlationID == request.correlationID, "rule 6 race", "wrong response")
            }
        },
        ConformanceCase("F4", "manyWaitersOneId") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let waiters = (0..<32).map { _ in
                Task { try await backend.subscribe(to: request.correlationID, timeout: c.timing.scaled(.seconds(10))) }
            }
            try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
            try await c.answer(backend, try await c.claim(backend, rule: "F4"))
            for (index, waiter) in waiters.enumerated() {
                let response = try await waiter.value
                try c.expect(
                    response.payload == request.payload, "rule 6 many waiters", "waiter \(index) got another response")
            }
        },
        ConformanceCase("F5", "roundTripLoad") { c in
            let backend = try await c.backend()
            let ledger = Ledger()
            let total = 1000
            let next = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for try await delivery in backend.consumeRequests() {
                            ledger.delivered(delivery.request.correlationID)
                            let reversed = Data(delivery.request.payload.reversed())
                            if try await c.answer(backend, delivery, payload: reversed) == .stored {
                                ledger.answered(delivery.request.correlationID)
                            }
                        }
                    }
                }
                try await withThrowingTaskGroup(of: Void.self) { clients in
                    for _ in 0..<32 {
                        clients.addTask {
                            while next.increment() <= total {
                                let request = QueueRequest(payload: Data(UUID().uuidString.utf8))
                                ledger.published(request.correlationID)
                                let response = try await backend.send(request, timeout: c.timing.scaled(.seconds(20)))
                                try c.expect(
                                    response.payload == Data(request.payload.reversed()), "rule 6 load",
                                    "waiter for \(request.correlationID) got another request's response")
                            }
                        }
                    }
                    try await clients.waitForAll()
                }
                try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
                group.cancelAll()
            }
            try ledger.verify(rule: "rule 3/6 load", expectedIDs: total)
        },
        ConformanceCase("F6", "subscribeTimeout") { c in
            let backend = try await c.backend()
            let timeout = c.timing.scaled(c.timing.wakeBound * 2)
            let began = ContinuousClock.now
            try await c.expectError(.timedOut, "rule 6 timeout", "subscribe with no response") {
                _ = try await backend.subscribe(to: .generate(), timeout: timeout)
            }
            let waited = ContinuousClock.now - began
            try c.expect(waited >= timeout * 0.9, "rule 6 timeout", "timed out after \(waited), before \(timeout)")
        },
        ConformanceCase("F7", "subscribeCancellation") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let cancelled = Task { try await backend.subscribe(to: request.correlationID, timeout: .seconds(60)) }
            let other = Task {
                try await backend.subscribe(to: request.correlationID, timeout: c.timing.scaled(.seconds(10)))
            }
            try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
            cancelled.cancel()
            let outcome = try await c.within(
                c.timing.scaled(.seconds(2)), rule: "rule 6 cancellation", "the cancelled wait to end"
            ) {
                await cancelled.result
            }
            guard case .failure(let error) = outcome, error is CancellationError else {
                throw ConformanceFailure(rule: "rule 6 cancellation", "a cancelled wait ended with \(outcome)")
            }
            try await c.answer(backend, try await c.claim(backend, rule: "F7"))
            let response = try await other.value
            try c.expect(
                response.correlationID == request.correlationID, "rule 6 cancellation",
                "the other waiter lost its response")
        },
        ConformanceCase("F8", "waitersReleased", hooks: .resourceProbe) { c in
            let backend = try await c.backend()
            let baseline = try await c.harness.openResources(of: c.unwrapped(backend))
            try await c.timedOutAndCancelledWaits(1000) { ending in
                _ = try await backend.subscribe(to: .generate(), timeout: ending.timeout)
            }
            try await c.eventually(
                c.timing.scaled(.seconds(5)), "rule 6 resources", "waiter resources back to baseline"
            ) {
                try await c.harness.openResources(of: c.unwrapped(backend)) <= baseline
            }
        },
    ]
}
