import Courier
import Foundation

extension Conformance {
    static let responseCases: [ConformanceCase] = [
        ConformanceCase("E1", "getResponseNonBlocking") { c in
            let backend = try await c.backend()
            let pending = try await c.publish(backend)
            for id in [pending.correlationID, CorrelationID.generate()] {
                let response = try await c.within(
                    c.timing.scaled(.milliseconds(250)) + c.timing.machineAllowance, rule: "rule 5 getResponse",
                    "getResponse to return"
                ) {
                    try await backend.getResponse(for: id)
                }
                try c.expect(response == nil, "rule 5 getResponse", "a response exists for unanswered \(id)")
            }
        },
        ConformanceCase("E2", "firstResponseWins") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "E2")
            try c.expect(
                try await c.answer(backend, delivery, payload: Data("one".utf8)) == .stored, "rule 4", "first refused")
            let second = try await backend.publishResponse(.completed(request.correlationID, payload: Data("two".utf8)))
            guard case .alreadyAnswered(let existing) = second else {
                throw ConformanceFailure(
                    rule: "rule 4 first wins", "a second response for \(request.correlationID) was \(second)")
            }
            try c.expect(
                existing.payload == Data("one".utf8), "rule 4 first wins", "alreadyAnswered carries the wrong response")
            let stored = try await backend.getResponse(for: request.correlationID)
            try c.expect(
                stored?.payload == Data("one".utf8), "rule 4 first wins", "the second response replaced the first")
        },
        ConformanceCase("E3", "concurrentResponders") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let request = try await c.publish(backend)
            let results = try await withThrowingTaskGroup(of: PublishResponseResult.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        try await backend.publishResponse(
                            .completed(request.correlationID, payload: Data("\(index)".utf8)))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let stored = results.filter { $0 == .stored }.count
            try c.expect(stored == 1, "rule 4 first wins", "\(stored) of 16 concurrent responses were stored")
        },
        ConformanceCase("E4", "responseTTL") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            try await c.answer(backend, try await c.claim(backend, rule: "E4"))
            try c.expect(
                try await backend.getResponse(for: request.correlationID) != nil, "rule 4 TTL",
                "response missing at once")
            try await c.eventually(
                c.timing.scaled(c.timing.responseTTL * 3 + .seconds(1)), "rule 4 TTL", "response expiry"
            ) {
                try await backend.getResponse(for: request.correlationID) == nil
            }
            try c.expect(
                try await backend.status(of: request.correlationID) == .unknown, "rule 4 TTL", "expired id still known")
            try await c.expectError(.timedOut, "rule 4 TTL", "subscribing to an expired response") {
                _ = try await backend.subscribe(to: request.correlationID, timeout: c.timing.scaled(c.timing.wakeBound))
            }
        },
        ConformanceCase("E5", "responseSettles") { c in
            let backend = try await c.backend()
            _ = try await c.publish(backend)
            try await c.answer(backend, try await c.claim(backend, rule: "E5"))
            try await c.expectNoDelivery(
                backend, for: c.timing.lease * 2, rule: "rule 4 settle", "an answered request was delivered again")
        },
        ConformanceCase("E6", "statusShapes") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            for status in [
                ResponseStatus.completed, .failed, .cancelled, .timedOut, .deadLettered, .init(rawValue: "custom"),
            ] {
                let request = try await c.publish(backend)
                let delivery = try await c.claim(backend, rule: "E6")
                let response = QueueResponse(
                    correlationID: request.correlationID, status: status, payload: Data([1, 2]), error: "why: \(status)"
                )
                try await backend.publishResponse(response, settling: delivery.lease)
                let stored = try await backend.getResponse(for: request.correlationID)
                try c.expect(
                    stored?.status == status, "rule 1 response",
                    "status \(status) came back as \(String(describing: stored?.status))")
                try c.expect(
                    stored?.error == "why: \(status)", "rule 1 response", "the error text of \(status) changed")
                let state = try await backend.status(of: request.correlationID)
                try c.expect(state == .finished(status), "rule 7 status", "status of a \(status) request is \(state)")
            }
        },
    ]
}
