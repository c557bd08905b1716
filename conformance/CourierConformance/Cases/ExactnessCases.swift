import Courier
import Foundation

/// Bytes, text, ids and queue names come back exactly as given, at every size the configuration allows, and a
/// shut-down backend refuses every operation.
extension Conformance {
    static let exactnessCases: [ConformanceCase] = [
        ConformanceCase("A8", "payloadAtTheLimit") { c in
            let limit = (2 << 20) + 3
            let backend = try await c.backend(
                c.configuration(maxPayloadBytes: limit, responseTTL: c.timing.scaled(c.timing.lease * 30)))
            let requestBytes = randomBytes(limit)
            let request = QueueRequest(payload: requestBytes)
            try await backend.publishRequest(request)
            let delivery = try await c.claim(backend, rule: "A8")
            try c.expect(
                delivery.request.payload == requestBytes, "rule 1 payload",
                "a request of exactly the limit (\(limit) bytes) came back as \(delivery.request.payload.count) different bytes"
            )
            let responseBytes = Data(requestBytes.reversed())
            try await backend.publishResponse(
                .completed(request.correlationID, payload: responseBytes), settling: delivery.lease)
            let stored = try await backend.getResponse(for: request.correlationID)
            try c.expect(
                stored?.payload == responseBytes, "rule 1 payload",
                "a response of exactly the limit came back as \(stored?.payload.count ?? 0) different bytes")
        },
        ConformanceCase("A9", "textExactlyAsGiven") { c in
            let backend = try await c.backend(c.lastingConfiguration())
            let payload = Data("  leading and trailing  \n\n\t \r\n".utf8)
            let headers = ["X-Model": "gpt ", "x-model": "\tlower", "Stage": " spaced out ", "empty": ""]
            let request = try await c.publish(backend, String(decoding: payload, as: UTF8.self), headers: headers)
            let delivery = try await c.claim(backend, rule: "A9")
            try c.expect(delivery.request.payload == payload, "rule 1 payload", "whitespace in the payload changed")
            try c.expect(
                delivery.request.headers == headers, "rule 1 headers",
                "request headers changed: \(delivery.request.headers)")
            let error = String(repeating: "a long reason \u{1F9F5} ", count: 12_000) + " \n"
            let responseHeaders = ["Content-Type": "text/plain ", "content-type": "other"]
            try await backend.publishResponse(
                QueueResponse(
                    correlationID: request.correlationID, status: .failed, payload: payload, error: error,
                    headers: responseHeaders),
                settling: delivery.lease)
            for stored in [
                try await backend.getResponse(for: request.correlationID),
                try await backend.subscribe(to: request.correlationID, timeout: c.timing.scaled(c.timing.wakeBound)),
            ] {
                try c.expect(stored?.payload == payload, "rule 1 payload", "the response payload changed")
                try c.expect(
                    stored?.headers == responseHeaders, "rule 1 headers",
                    "response headers changed: \(String(describing: stored?.headers))")
                try c.expect(
                    stored?.error == error, "rule 4 error text",
                    "a \(error.utf8.count)-byte error came back as \(stored?.error?.utf8.count ?? 0) bytes")
            }
        },
        ConformanceCase("B4", "idsAreCaseSensitive") { c in
            let backend = try await c.backend()
            let upper = try CorrelationID("Request-\(c.queueName)")
            let lower = try CorrelationID(upper.rawValue.lowercased())
            try await c.publish(backend, "upper", id: upper)
            try await c.publish(backend, "lower", id: lower)  // a different id: no duplicateRequest
            let first = try await c.claim(backend, rule: "B4")
            try await c.answer(backend, first)
            try c.expect(
                try await backend.getResponse(for: first.request.correlationID == upper ? lower : upper) == nil,
                "rule 1 ids", "answering one id answered the id that differs from it only in case")
            let second = try await c.claim(backend, rule: "B4")
            try c.expect(
                Set([first.request.correlationID, second.request.correlationID]) == [upper, lower], "rule 1 ids",
                "ids that differ only in case were not both delivered")
        },
        ConformanceCase("B5", "queueNamesAreCaseSensitive", needs: .shared) { c in
            let lowerQueue = try await c.backend()
            var configuration = c.configuration()
            configuration.queueName = c.queueName.uppercased()
            let upperQueue = try await c.backend(configuration)
            let request = try await c.publish(upperQueue)
            try await c.expectNoDelivery(
                lowerQueue, for: c.timing.scaled(c.timing.wakeBound * 3), rule: "rule 8 isolation",
                "a request published on \(configuration.queueName) reached \(c.queueName)")
            try c.expect(
                try await lowerQueue.status(of: request.correlationID) == .unknown, "rule 8 isolation",
                "a queue knows a request of the queue whose name differs from it only in case")
        },
        ConformanceCase("H6", "everyOperationAfterShutdown") { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let lease = try await c.claim(backend, rule: "H6").lease
            await backend.shutdown()
            let id = request.correlationID
            let operations: [(String, @Sendable () async throws -> Void)] = [
                ("publishRequest", { try await backend.publishRequest(QueueRequest(payload: Data())) }),
                (
                    "publishResponse",
                    { _ = try await backend.publishResponse(.completed(id, payload: Data()), settling: lease) }
                ),
                ("getResponse", { _ = try await backend.getResponse(for: id) }),
                ("subscribe", { _ = try await backend.subscribe(to: id, timeout: .seconds(1)) }),
                ("status", { _ = try await backend.status(of: id) }),
                ("cancel", { _ = try await backend.cancel(id) }),
                ("extendLease", { _ = try await backend.extendLease(lease) }),
                ("release", { try await backend.release(lease, retryAfter: .zero, reason: nil) }),
                ("giveBack", { try await backend.giveBack(lease) }),
            ]
            for (name, operation) in operations {
                try await c.expectError(.shutDown, "rule 8 shutdown", "\(name) after shutdown") {
                    try await operation()
                }
            }
            var iterator = backend.consumeRequests().makeAsyncIterator()
            do {
                let delivery = try await iterator.next()
                try c.expect(delivery == nil, "rule 8 shutdown", "the delivery stream gave a delivery after shutdown")
            } catch let error as CourierError where error.code == .shutDown {}
        },
    ]
}

/// `count` random bytes, a word at a time (a byte at a time costs seconds in a debug build).
func randomBytes(_ count: Int) -> Data {
    var generator = SystemRandomNumberGenerator()
    var data = Data(count: count)
    data.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < count {
            var word = generator.next()
            let length = min(8, count - offset)
            withUnsafeBytes(of: &word) {
                buffer.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: length)
            }
            offset += length
        }
    }
    return data
}
