import Courier
import Foundation

extension Conformance {
    static let lifecycleCases: [ConformanceCase] = [
        ConformanceCase("H1", "shutdownEndsStreams") { c in
            let backend = try await c.backend()
            let consumer = Task { () -> Delivery? in
                var iterator = backend.consumeRequests().makeAsyncIterator()
                return try await iterator.next()
            }
            let waiter = Task { try await backend.subscribe(to: .generate(), timeout: .seconds(60)) }
            try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
            await backend.shutdown()
            let ended = try await c.within(
                c.timing.scaled(.seconds(2)), rule: "rule 8 shutdown", "the consumer stream to end"
            ) {
                try await consumer.value
            }
            try c.expect(ended == nil, "rule 8 shutdown", "a consumer received a delivery at shutdown")
            let outcome = try await c.within(
                c.timing.scaled(.seconds(2)), rule: "rule 8 shutdown", "the waiter to wake"
            ) {
                await waiter.result
            }
            guard case .failure(let error as CourierError) = outcome, error.code == .shutDown else {
                throw ConformanceFailure(rule: "rule 8 shutdown", "a waiter ended with \(outcome), expected shutDown")
            }
        },
        ConformanceCase("H2", "closedIsIdempotent") { c in
            let backend = try await c.backend()
            await backend.shutdown()
            await backend.shutdown()
            try await c.expectError(.shutDown, "rule 8 shutdown", "publish after shutdown") {
                try await c.publish(backend)
            }
            try await c.expectError(.shutDown, "rule 8 shutdown", "getResponse after shutdown") {
                _ = try await backend.getResponse(for: .generate())
            }
            try await c.expectError(.shutDown, "rule 8 shutdown", "subscribe after shutdown") {
                _ = try await backend.subscribe(to: .generate(), timeout: .seconds(1))
            }
            var consumer = backend.consumeRequests().makeAsyncIterator()
            let delivery = try await consumer.next()
            try c.expect(delivery == nil, "rule 8 shutdown", "a stream opened after shutdown delivered")
        },
        ConformanceCase("H3", "reopenSeesState", needs: .durable, hooks: .reopen) { c in
            let first = try await c.backend()
            let pending = try await c.publish(first, "pending")
            let answered = try await c.publish(first, "answered")
            let leased = try await c.publish(first, "leased")
            var claimed: [CorrelationID: Delivery] = [:]
            for _ in 0..<3 {
                let delivery = try await c.claim(first, rule: "H3")
                claimed[delivery.request.correlationID] = delivery
            }
            try await c.answer(first, claimed[answered.correlationID]!)
            try await first.release(claimed[pending.correlationID]!.lease, retryAfter: .zero, reason: "put back")
            await first.shutdown()
            let second = try await c.reopen()
            let stored = try await second.getResponse(for: answered.correlationID)
            try c.expect(stored?.payload == answered.payload, "durable", "the reopened store lost a response")
            var seen = Set<CorrelationID>()
            for _ in 0..<2 {
                let delivery = try await c.claim(second, within: c.timing.scaled(c.timing.lease * 4), rule: "durable")
                seen.insert(delivery.request.correlationID)
                try await c.answer(second, delivery)
            }
            try c.expect(
                seen == [pending.correlationID, leased.correlationID], "durable", "reopened store delivered \(seen)")
        },
        ConformanceCase("H4", "crossInstance", needs: .shared) { c in
            let client = try await c.backend()
            let worker = try await c.backend()
            let request = try await c.publish(client)
            let waiter = Task {
                try await client.subscribe(to: request.correlationID, timeout: c.timing.scaled(.seconds(10)))
            }
            try await c.answer(worker, try await c.claim(worker, rule: "shared"))
            let response = try await waiter.value
            try c.expect(response.payload == request.payload, "shared", "a response across instances was lost")
        },
        ConformanceCase("H5", "serverRestart", hooks: .restartServer) { c in
            let backend = try await c.backend()
            let durable = c.harness.declaredCapabilities.contains(.durable)
            var ids: [CorrelationID] = []
            for _ in 0..<20 { ids.append(try await c.publish(backend).correlationID) }
            try await c.harness.restartServer()
            // Answers are counted as they are stored (not read back at the end, when a short response TTL may
            // already have removed the first ones).
            var answered = Set<CorrelationID>()
            let wanted = durable ? ids.count : 1
            do {
                try await c.eventually(c.timing.scaled(.seconds(20)), "restart", "work resumed after a restart") {
                    do {
                        let delivery = try await c.claim(
                            backend, within: c.timing.scaled(.seconds(2)), rule: "restart")
                        if try await c.answer(backend, delivery) == .stored {
                            answered.insert(delivery.request.correlationID)
                        }
                        return answered.count >= wanted
                    } catch is ConformanceFailure {
                        return !durable
                    } catch {
                        return false
                    }
                }
            } catch let failure as ConformanceFailure {
                guard durable else { throw failure }
                let lost = ids.filter { !answered.contains($0) }
                let example = lost.first.map { "\($0)" } ?? "?"
                throw ConformanceFailure(
                    rule: "restart", "\(lost.count) of \(ids.count) requests were lost in a restart, such as \(example)"
                )
            }
        },
    ]
}
