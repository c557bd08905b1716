import Courier
import Foundation

extension Conformance {
    static let deliveryCases: [ConformanceCase] = [
        ConformanceCase("C1", "exactlyOnceHappyPath") { c in
            let backend = try await c.backend()
            let ledger = Ledger()
            let total = 200
            for index in 0..<total {
                let request = try await c.publish(backend, "r-\(index)")
                ledger.published(request.correlationID)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for try await delivery in backend.consumeRequests() {
                            ledger.delivered(delivery.request.correlationID)
                            if try await c.answer(backend, delivery) == .stored {
                                ledger.answered(delivery.request.correlationID)
                            }
                        }
                    }
                }
                try await c.eventually(c.timing.scaled(.seconds(10)), "rule 3 delivery", "all \(total) answered") {
                    ledger.answeredTotal >= total
                }
                // Give a double-delivering adapter the chance to show it before the ledger is read.
                try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
                group.cancelAll()
            }
            try ledger.verify(rule: "rule 3 exactly one holder", expectedIDs: total)
        },
        ConformanceCase("C2", "fifoSingleConsumer", needs: .fifo) { c in
            let backend = try await c.backend()
            var published: [CorrelationID] = []
            for index in 0..<100 { published.append(try await c.publish(backend, "\(index)").correlationID) }
            var consumer = backend.consumeRequests().makeAsyncIterator()
            for (position, id) in published.enumerated() {
                guard let delivery = try await consumer.next() else {
                    throw ConformanceFailure(rule: "fifo", "the stream ended at position \(position)")
                }
                try c.expect(
                    delivery.request.correlationID == id, "fifo",
                    "position \(position): expected \(id), got \(delivery.request.correlationID)")
                try await c.answer(backend, delivery)
            }
        },
        ConformanceCase("C3", "exclusiveWhileLeased") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "C3")
            // The window closes half a lease before the lease runs out, however late this task got to run.
            let window =
                Duration.milliseconds(Int64(delivery.lease.expiresAt.timeIntervalSinceNow * 1000)) - c.timing.lease / 2
            guard window > .zero else { return }
            try await c.expectNoDelivery(
                backend, for: window, rule: "rule 3 lease",
                "\(request.correlationID) was given to a second consumer while its lease held")
        },
        ConformanceCase("C4", "wakeOnPublish") { c in
            let backend = try await c.backend()
            let waiting = Task { try await c.claim(backend, within: c.timing.scaled(.seconds(5)), rule: "C4") }
            try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
            let began = ContinuousClock.now
            let request = try await c.publish(backend)
            let delivery = try await waiting.value
            let delay = ContinuousClock.now - began
            try c.expect(delivery.request.correlationID == request.correlationID, "C4", "a different request arrived")
            try c.expect(
                delay <= c.timing.scaled(c.timing.wakeBound * 4), "wake-up",
                "an idle consumer took \(delay) to receive a new request")
        },
        ConformanceCase("C5", "backlogBeforeConsumer") { c in
            let backend = try await c.backend()
            var ids = Set<CorrelationID>()
            for _ in 0..<20 { ids.insert(try await c.publish(backend).correlationID) }
            var seen = Set<CorrelationID>()
            for _ in 0..<20 {
                let delivery = try await c.claim(backend, rule: "C5")
                seen.insert(delivery.request.correlationID)
                try await c.answer(backend, delivery)
            }
            try c.expect(
                seen == ids, "rule 3 delivery", "backlog delivered \(seen.count) of \(ids.count) distinct requests")
        },
        ConformanceCase("C6", "requestDeadline") { c in
            let backend = try await c.backend()
            let request = try await c.publish(
                backend, deadline: Date().addingTimeInterval(c.timing.lease.inSeconds / 3))
            let response = try await c.response(backend, request.correlationID, extra: c.timing.lease, rule: "C6")
            try c.expect(response.status == .timedOut, "rule 1 deadline", "expired request ended \(response.status)")
            try await c.expectNoDelivery(
                backend, for: c.timing.scaled(c.timing.wakeBound), rule: "rule 1 deadline",
                "a request past its deadline was delivered")
        },
    ]

    static let leaseCases: [ConformanceCase] = [
        ConformanceCase("D1", "leaseExpiryRedelivers") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend, headers: ["h": "v"])
            let first = try await c.claim(backend, rule: "D1")
            let second = try await c.claim(
                backend, within: c.timing.scaled(c.timing.lease * 4), rule: "rule 3 redelivery")
            try c.expect(second.request == request, "rule 3 redelivery", "redelivered request differs")
            try c.expect(
                second.attempt == first.attempt + 1, "rule 3 attempts",
                "redelivery of \(request.correlationID) has attempt \(second.attempt), expected \(first.attempt + 1)")
            try c.expect(
                second.lease.token != first.lease.token, "rule 3 fencing", "redelivery reused the fencing token")
        },
        ConformanceCase("D2", "leaseExtension") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "D2")
            var lease = delivery.lease
            let until = ContinuousClock.now.advanced(by: c.timing.lease * 3)
            let watcher = Task {
                try await c.expectNoDelivery(
                    backend, for: c.timing.lease * 3, rule: "rule 3 extension", "extended lease was not honoured")
            }
            while ContinuousClock.now < until {
                try await Task.sleep(for: c.timing.lease / 4)
                lease = try await backend.extendLease(lease)
            }
            try await watcher.value
            try c.expect(lease.token == delivery.lease.token, "rule 3 extension", "extension changed the token")
            let result = try await backend.publishResponse(
                .completed(request.correlationID, payload: Data()), settling: lease)
            try c.expect(result == .stored, "rule 3 extension", "answer after extensions reported \(result)")
        },
        ConformanceCase("D3", "releaseWithRetryAfter") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let first = try await c.claim(backend, rule: "D3")
            let delay = c.timing.lease
            let released = ContinuousClock.now
            try await backend.release(first.lease, retryAfter: delay, reason: "try later")
            let status = try await backend.status(of: request.correlationID)
            try c.expect(status == .pending(attempt: 2), "rule 3 release", "released request status is \(status)")
            let second = try await c.claim(backend, within: c.timing.scaled(delay * 4), rule: "rule 3 release")
            let waited = ContinuousClock.now - released
            try c.expect(
                waited >= delay * 0.9, "rule 3 release", "redelivered after \(waited), before retryAfter \(delay)")
            try c.expect(
                second.attempt == 2, "rule 3 attempts", "released request came back as attempt \(second.attempt)")
        },
        ConformanceCase("D4", "maxAttemptsDeadLetter") { c in
            let backend = try await c.backend(c.lastingConfiguration(maxAttempts: 2))
            let request = try await c.publish(backend)
            let waiter = Task {
                try await backend.subscribe(to: request.correlationID, timeout: c.timing.scaled(.seconds(10)))
            }
            let first = try await c.claim(backend, rule: "D4")
            try c.expect(first.maxAttempts == 2, "rule 3 attempts", "delivery reports maxAttempts \(first.maxAttempts)")
            let second = try await c.claim(backend, within: c.timing.scaled(c.timing.lease * 4), rule: "D4")
            try c.expect(second.isLastAttempt, "rule 3 attempts", "attempt 2 of 2 is not marked last")
            let response = try await waiter.value
            try c.expect(
                response.status == .deadLettered, "rule 3 dead letter", "exhausted request ended \(response.status)")
            try await c.expectNoDelivery(
                backend, for: c.timing.lease, rule: "rule 3 dead letter", "a dead-lettered request was delivered again")
        },
        ConformanceCase("D5", "fencedStaleResponse") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let stale = try await c.claim(backend, rule: "D5")
            let current = try await c.claim(backend, within: c.timing.scaled(c.timing.lease * 4), rule: "D5")
            try await c.expectError(
                .leaseLost, "rule 3 fencing", "answer from the stale holder of \(request.correlationID)"
            ) {
                try await c.answer(backend, stale, payload: Data("stale".utf8))
            }
            try c.expect(
                try await c.answer(backend, current) == .stored, "rule 3 fencing", "the current holder was refused")
            let stored = try await backend.getResponse(for: request.correlationID)
            try c.expect(stored?.payload == request.payload, "rule 3 fencing", "the stale answer was stored")
        },
        ConformanceCase("D6", "fencedStaleExtend") { c in
            let backend = try await c.backend()
            _ = try await c.publish(backend)
            let stale = try await c.claim(backend, rule: "D6")
            let current = try await c.claim(backend, within: c.timing.scaled(c.timing.lease * 4), rule: "D6")
            try await c.expectError(.leaseLost, "rule 3 fencing", "extending a lost lease") {
                _ = try await backend.extendLease(stale.lease)
            }
            try await c.expectError(.leaseLost, "rule 3 fencing", "releasing a lost lease") {
                try await backend.release(stale.lease, retryAfter: .zero, reason: nil)
            }
            _ = try await backend.extendLease(current.lease)
        },
        ConformanceCase("D7", "releaseOnLastAttemptDeadLetters") { c in
            let backend = try await c.backend(c.lastingConfiguration(maxAttempts: 1))
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "D7")
            try await backend.release(delivery.lease, retryAfter: .zero, reason: "model refused")
            let response = try await c.response(backend, request.correlationID, rule: "D7")
            try c.expect(
                response.status == .deadLettered, "rule 3 dead letter", "last release ended \(response.status)")
            try c.expect(response.error?.contains("model refused") == true, "rule 3 dead letter", "the reason was lost")
        },
        ConformanceCase("D8", "giveBackKeepsAttempt") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend, "given back")
            let id = request.correlationID
            let first = try await c.claim(backend, rule: "D8")
            try c.expect(first.attempt == 1, "rule 3 attempts", "the first delivery has attempt \(first.attempt)")
            let later = try await c.publish(backend, "published later")
            try await backend.giveBack(first.lease)
            let status = try await backend.status(of: id)
            try c.expect(
                status == .pending(attempt: 1), "rule 3 give back", "a given-back request's status is \(status)")
            try await c.expectError(.leaseLost, "rule 3 fencing", "giving back \(id) twice with one lease") {
                try await backend.giveBack(first.lease)
            }
            // The given-back request is pending at once (no retry delay); on a fifo adapter it comes first.
            let promptly = c.timing.scaled(c.timing.wakeBound * 4)
            var again = try await c.claim(backend, within: promptly, rule: "D8")
            var laterDelivery: Delivery?
            if backend.capabilities.contains(.fifo) {
                try c.expect(
                    again.request.correlationID == id, "rule 3 give back",
                    "\(again.request.correlationID), published after \(id), was delivered before the given-back one")
            } else if again.request.correlationID != id {
                laterDelivery = again
                again = try await c.claim(backend, within: promptly, rule: "D8")
            }
            try c.expect(again.request == request, "rule 3 give back", "the given-back request came back changed")
            try c.expect(
                again.attempt == 1, "rule 3 give back",
                "the given-back request came back as attempt \(again.attempt); giving back must not spend it")
            try c.expect(again.lease.token != first.lease.token, "rule 3 fencing", "redelivery reused the token")
            try await c.expectError(.leaseLost, "rule 3 fencing", "giving back \(id) with a lease it no longer holds") {
                try await backend.giveBack(first.lease)
            }
            try c.expect(
                try await c.answer(backend, again) == .stored, "rule 3 give back",
                "the holder of the redelivery could not answer it")
            // Giving back an answered request does nothing, with the current lease or a stale one.
            try await backend.giveBack(again.lease)
            try await backend.giveBack(first.lease)
            let finished = try await backend.status(of: id)
            try c.expect(
                finished == .finished(.completed), "rule 3 give back",
                "giving back an answered request changed its status to \(finished)")
            let stored = try await backend.getResponse(for: id)
            try c.expect(stored?.payload == request.payload, "rule 3 give back", "the stored response changed")
            // The answered request is not queued again: the next delivery is the later request.
            let next: Delivery
            if let laterDelivery {
                next = laterDelivery
            } else {
                next = try await c.claim(backend, rule: "D8")
            }
            try c.expect(
                next.request.correlationID == later.correlationID, "rule 3 give back",
                "\(next.request.correlationID) was delivered again after it was answered and given back")
            try await c.answer(backend, next)
        },
        ConformanceCase("D10", "delayedGiveBackKeepsAttemptAndWaits") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend, "breaker open")
            let first = try await c.claim(backend, rule: "D10")
            let delay = c.timing.lease
            let given = ContinuousClock.now
            do {
                try await backend.giveBack(first.lease, after: delay)
            } catch let error as CourierError where error.code == .unsupportedOperation {
                return  // optional: this adapter gives back only at once
            }
            let status = try await backend.status(of: request.correlationID)
            try c.expect(
                status == .pending(attempt: 1), "rule 3 give back", "a request given back for later is \(status)")
            let again = try await c.claim(backend, within: c.timing.scaled(delay * 4), rule: "D10")
            let waited = ContinuousClock.now - given
            try c.expect(
                waited >= delay * 0.9, "rule 3 give back", "delivered again after \(waited), before the delay \(delay)")
            try c.expect(
                again.attempt == 1, "rule 3 give back",
                "a request given back for later came back as attempt \(again.attempt); giving back must not spend it")
            try await c.expectError(.leaseLost, "rule 3 fencing", "giving back with a lease it no longer holds") {
                try await backend.giveBack(first.lease, after: delay)
            }
            try await c.answer(backend, again)
        },
    ]
}
