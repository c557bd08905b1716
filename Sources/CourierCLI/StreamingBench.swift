import Courier
import Foundation

/// The streaming workload of `courier bench --chunks K --chunk-bytes B`: each request asks its handler (in its
/// headers) for K chunks of B bytes, each stamped with the wall-clock time it was written; the client follows the
/// request's events and times each chunk from its write to its receipt.
enum StreamingBench {
    static let chunksHeader = "courier-bench-chunks"
    static let chunkBytesHeader = "courier-bench-chunk-bytes"
    static let chunkIntervalHeader = "courier-bench-chunk-interval-ms"

    /// The bench handler: streams what the request's headers ask for, then answers with the payload.
    static let handle: Worker.StreamingHandler = { request, events in
        let chunks = Int(request.headers[chunksHeader] ?? "") ?? 0
        let bytes = max(8, Int(request.headers[chunkBytesHeader] ?? "") ?? 8)
        let interval = Double(request.headers[chunkIntervalHeader] ?? "") ?? 0
        for index in 0..<chunks {
            // Paced like a model producing tokens, or all at once.
            if interval > 0 && index > 0 { try await Task.sleep(for: .milliseconds(interval)) }
            var record = Data(count: bytes)
            let stamp = UInt64(Date().timeIntervalSince1970 * 1_000_000_000).littleEndian
            withUnsafeBytes(of: stamp) { record.replaceSubrange(0..<8, with: $0) }
            try await events.write(record)
        }
        return request.payload
    }

    /// What a run measured.
    struct Result: Sendable {
        var requests: Int
        var failures: Int
        var seconds: Double
        /// Seconds from a chunk's write to its receipt, sorted.
        var chunkLatencies: [Double]
        /// Round trips, publish to final response, sorted.
        var roundTrips: [Double]

        var chunksPerSecond: Double { seconds > 0 ? Double(chunkLatencies.count) / seconds : 0 }
        var roundTripsPerSecond: Double { seconds > 0 ? Double(requests - failures) / seconds : 0 }

        /// The latency (in milliseconds) of `values` below which `fraction` of them lie.
        static func percentile(_ values: [Double], _ fraction: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let index = min(values.count - 1, max(0, Int((Double(values.count) * fraction).rounded(.up)) - 1))
            return values[index] * 1000
        }
    }

    /// Runs `requests` streamed round trips, `inflight` at a time.
    static func run(
        backend: any QueueBackend, requests: Int, inflight: Int, chunks: Int, chunkBytes: Int,
        chunkInterval: Double, payload: Data, timeout: Duration
    ) async -> Result {
        let next = SharedCounter()
        let clock = ContinuousClock()
        let start = clock.now
        let headers = [
            chunksHeader: String(chunks), chunkBytesHeader: String(chunkBytes),
            chunkIntervalHeader: String(chunkInterval),
        ]
        let perClient = await withTaskGroup(of: ([Double], [Double], Int).self) { group in
            for _ in 0..<min(inflight, requests) {
                group.addTask {
                    var chunkLatencies: [Double] = []
                    var roundTrips: [Double] = []
                    var failures = 0
                    while next.increment() - 1 < requests {
                        let began = clock.now
                        let request = QueueRequest(payload: payload, headers: headers)
                        do {
                            try await backend.publishRequest(request)
                            let status = try await follow(
                                backend, request.correlationID, chunkBytes: chunkBytes, timeout: timeout,
                                into: &chunkLatencies)
                            if status == .completed {
                                roundTrips.append((clock.now - began).inSeconds)
                            } else {
                                failures += 1
                            }
                        } catch {
                            if failures == 0 { writeToStandardError("courier: a streamed round trip failed: \(error)") }
                            failures += 1
                        }
                    }
                    return (chunkLatencies, roundTrips, failures)
                }
            }
            var all: [([Double], [Double], Int)] = []
            for await client in group { all.append(client) }
            return all
        }
        return Result(
            requests: requests, failures: perClient.reduce(0) { $0 + $1.2 },
            seconds: (clock.now - start).inSeconds, chunkLatencies: perClient.flatMap(\.0).sorted(),
            roundTrips: perClient.flatMap(\.1).sorted())
    }

    /// Reads one request's events to its final response, timing every stamped record of every chunk.
    private static func follow(
        _ backend: any QueueBackend, _ id: CorrelationID, chunkBytes: Int, timeout: Duration,
        into latencies: inout [Double]
    ) async throws -> ResponseStatus {
        let deadline = ContinuousClock.now + timeout
        for try await element in backend.events(for: id) {
            switch element {
            case .event(let record):
                guard case .chunk(let data) = record.event else { continue }
                let received = Date().timeIntervalSince1970
                // Chunks written close together arrive merged: every `chunkBytes` bytes is one record.
                var offset = data.startIndex
                while offset + 8 <= data.endIndex {
                    let stamp = data[offset..<offset + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    latencies.append(received - Double(UInt64(littleEndian: stamp)) / 1_000_000_000)
                    offset += chunkBytes
                }
            case .gap:
                continue
            case .final(let response):
                return response.status
            }
            if ContinuousClock.now > deadline { throw CourierError(.timedOut, "\(id) did not finish in time") }
        }
        throw CourierError(.timedOut, "the events of \(id) ended without a final response")
    }
}
