import Courier
import Foundation

extension Conformance {
    static let roundTripCases: [ConformanceCase] = [
        ConformanceCase("A1", "roundTrip") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend, "hello", headers: ["model": "m-1", "stage": "draft"])
            let delivery = try await c.claim(backend, rule: "rule 3 consume")
            try c.expect(delivery.request == request, "rule 1 request", "delivered request differs from published")
            try c.expect(delivery.attempt == 1, "rule 3 attempts", "first delivery has attempt \(delivery.attempt)")
            let answer = QueueResponse.completed(
                request.correlationID, payload: Data("world".utf8), headers: ["k": "v"])
            let result = try await backend.publishResponse(answer, settling: delivery.lease)
            try c.expect(result == .stored, "rule 4 publishResponse", "first response reported \(result)")
            let stored = try await backend.getResponse(for: request.correlationID)
            try c.expect(
                stored?.status == .completed, "rule 5 getResponse", "stored status \(String(describing: stored))")
            try c.expect(stored?.payload == Data("world".utf8), "rule 1 payload", "response payload changed")
            try c.expect(stored?.headers == ["k": "v"], "rule 1 headers", "response headers changed")
        },
        ConformanceCase("A2", "binaryPayload") { c in
            let backend = try await c.backend()
            let payloads = [
                Data((0...255).map { UInt8($0) }), Data("Grüße, 世界, Ω≈ç√".utf8), Data("🚀🧵👩‍💻".utf8), Data(),
            ]
            for payload in payloads {
                let request = QueueRequest(payload: payload)
                try await backend.publishRequest(request)
                let delivery = try await c.claim(backend, rule: "A2")
                try c.expect(
                    delivery.request.payload == payload, "rule 1 bytes", "request bytes changed (\(payload.count) B)")
                try await c.answer(backend, delivery, payload: payload)
                let response = try await c.response(backend, request.correlationID, rule: "A2")
                try c.expect(response.payload == payload, "rule 1 bytes", "response bytes changed (\(payload.count) B)")
            }
        },
        ConformanceCase("A3", "largePayload") { c in
            let backend = try await c.backend()
            let payload = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let request = QueueRequest(payload: payload)
            try await backend.publishRequest(request)
            let delivery = try await c.claim(backend, rule: "A3")
            try c.expect(delivery.request.payload == payload, "rule 1 bytes", "1 MiB request changed")
            try await c.answer(backend, delivery, payload: payload)
            let response = try await c.response(backend, request.correlationID, rule: "A3")
            try c.expect(response.payload == payload, "rule 1 bytes", "1 MiB response changed")
        },
        ConformanceCase("A4", "weirdHeadersAndIds") { c in
            let backend = try await c.backend()
            let weird = ["a/b\\c", "quote\"d", "co:lon*{}", "sp ace", "ünï©ødé 🧪", "%s%n", "' OR 1=1 --", "null"]
            for text in weird {
                let id = try CorrelationID(text + "-\(UInt16.random(in: 0...UInt16.max))")
                let request = try await c.publish(backend, text, id: id, headers: [text: text, "k": text])
                let delivery = try await c.claim(backend, rule: "A4")
                try c.expect(delivery.request.correlationID == id, "rule 1 ids", "id '\(id)' changed")
                try c.expect(
                    delivery.request.headers == request.headers, "rule 1 headers", "headers of '\(id)' changed")
                try await c.answer(backend, delivery)
                _ = try await c.response(backend, id, rule: "A4")
            }
        },
        ConformanceCase("A5", "generatedIds") { c in
            let ids = Set((0..<1000).map { _ in CorrelationID.generate() })
            try c.expect(ids.count == 1000, "rule 1 ids", "generated ids repeat")
            let backend = try await c.backend()
            let id = try await backend.publishRequest(payload: Data("x".utf8))
            try c.expect(CorrelationID.problem(with: id.rawValue) == nil, "rule 1 ids", "generated id \(id) is invalid")
        },
        ConformanceCase("A6", "invalidIdRejected") { c in
            for bad in [
                "", String(repeating: "x", count: CorrelationID.maximumLength + 1), "tab\there", "new\nline", "nul\0",
            ] {
                try await c.expectError(.invalidCorrelationID, "rule 1 ids", "id \(bad.debugDescription)") {
                    _ = try CorrelationID(bad)
                }
            }
            let longest = try CorrelationID(String(repeating: "é", count: CorrelationID.maximumLength / 2))
            let backend = try await c.backend()
            try await c.publish(backend, id: longest)
            try c.expect(try await backend.status(of: longest) == .pending(attempt: 1), "rule 1 ids", "longest id lost")
        },
        ConformanceCase("A7", "oversizedPayloadRejected") { c in
            let backend = try await c.backend(c.configuration(maxPayloadBytes: 1024))
            let id = CorrelationID.generate()
            try await c.expectError(.payloadTooLarge, "bad input", "a 1025-byte request") {
                try await backend.publishRequest(QueueRequest(correlationID: id, payload: Data(count: 1025)))
            }
            try c.expect(try await backend.status(of: id) == .unknown, "bad input", "rejected request \(id) was kept")
            let accepted = try await c.publish(backend, String(repeating: "x", count: 1024))
            let delivery = try await c.claim(backend, rule: "A7")
            try await c.expectError(.payloadTooLarge, "bad input", "a 1025-byte response") {
                try await backend.publishResponse(
                    .completed(accepted.correlationID, payload: Data(count: 1025)), settling: delivery.lease)
            }
            try c.expect(
                try await backend.getResponse(for: accepted.correlationID) == nil, "bad input",
                "an oversized response was stored")
        },
    ]

    static let submitCases: [ConformanceCase] = [
        ConformanceCase("B1", "duplicatePending") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            try await c.expectError(
                .duplicateRequest, "rule 2 duplicate", "republishing pending \(request.correlationID)"
            ) {
                try await backend.publishRequest(request)
            }
            let delivery = try await c.claim(backend, rule: "B1")
            try await c.expectError(
                .duplicateRequest, "rule 2 duplicate", "republishing running \(request.correlationID)"
            ) {
                try await backend.publishRequest(request)
            }
            try await c.answer(backend, delivery)
            try await c.expectNoDelivery(
                backend, for: c.timing.scaled(c.timing.wakeBound), rule: "rule 2 duplicate", "a duplicate was enqueued")
        },
        ConformanceCase("B2", "duplicateAnswered") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let request = try await c.publish(backend, "first")
            try await c.answer(backend, try await c.claim(backend, rule: "B2"))
            try await c.expectError(
                .duplicateRequest, "rule 2 duplicate", "republishing answered \(request.correlationID)"
            ) {
                try await backend.publishRequest(
                    QueueRequest(correlationID: request.correlationID, payload: Data("2".utf8)))
            }
            let stored = try await backend.getResponse(for: request.correlationID)
            try c.expect(stored?.payload == Data("first".utf8), "rule 2 duplicate", "the stored response changed")
        },
        ConformanceCase("B3", "queueIsolation") { c in
            let first = try await c.backend()
            var other = c.configuration()
            other.queueName += "-other"
            let second = try await c.backend(other)
            let request = try await c.publish(first)
            try await c.expectNoDelivery(
                second, for: c.timing.scaled(c.timing.wakeBound), rule: "rule 8 isolation",
                "queue B saw queue A's request")
            try c.expect(
                try await second.status(of: request.correlationID) == .unknown, "rule 8 isolation",
                "queue B knows \(request.correlationID)")
            try await c.answer(first, try await c.claim(first, rule: "B3"))
            try c.expect(
                try await second.getResponse(for: request.correlationID) == nil, "rule 8 isolation",
                "queue B sees queue A's response")
        },
    ]
}
