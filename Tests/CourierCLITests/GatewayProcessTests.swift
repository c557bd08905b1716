import Courier
import CourierSQLite
import CourierTestSupport
import Foundation
import Subprocess
import Testing

/// `courier serve` as a client meets it: real HTTP over a socket with curl, an event stream cut mid-way and
/// resumed with `Last-Event-ID` without a lost or repeated event, and a graceful stop.
@Suite("courier serve, over a socket", .serialized)
struct GatewayProcessTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-serve-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private var databasePath: String { directory.appendingPathComponent("queue.sqlite3").path }

    /// curl's standard output for `arguments` (each run bounded by `--max-time`).
    static func curl(_ arguments: [String]) async throws -> String {
        let result = try await Subprocess.run(
            .name("curl"), arguments: Arguments(["-s", "-N"] + arguments), output: .string(limit: 1 << 20))
        return result.standardOutput
    }

    /// The `id:` values and `event:` names of an event stream, in order, and its chunk texts.
    private static func parse(_ stream: String) -> (ids: [UInt64], events: [String], chunks: String) {
        var ids: [UInt64] = []
        var events: [String] = []
        var chunks = ""
        var event = ""
        for line in stream.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("id: "), let id = UInt64(line.dropFirst(4)) { ids.append(id) }
            if line.hasPrefix("event: ") {
                event = String(line.dropFirst(7))
                events.append(event)
            }
            if line.hasPrefix("data: "), event == "chunk",
                let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any],
                let text = object["text"] as? String
            {
                chunks += text
            }
        }
        return (ids, events, chunks)
    }

    @Test func anEventStreamCutMidwayResumesWithLastEventIDWithoutLossOrRepeat() async throws {
        let port = try LoopbackPort.free()
        let base = "http://127.0.0.1:\(port)"
        let server = try CourierExecutable.start(
            ["serve", "--port", "\(port)"],
            environment: [
                "QUEUE_TYPE": "sqlite", "SQLITE_PATH": databasePath, "LOG_LEVEL": "warning",
                "COURIER_HTTP_HEARTBEAT_SECONDS": "0.3",
            ])
        defer { kill(server, SIGKILL) }
        try await eventually(.seconds(20)) {
            try await Self.curl(["--max-time", "2", base + "/healthz"]).contains("ok")
        }

        // The worker is this test, on the same file, so it decides when each event is written.
        let worker = try await SQLiteQueueBackend(path: databasePath, configuration: .init())
        defer { Task { await worker.shutdown() } }
        let submitted = try await Self.curl([
            "--max-time", "10", "-X", "POST", "-H", "Idempotency-Key: sse-1", "--data-binary", "question",
            base + "/v1/tasks/submit",
        ])
        #expect(submitted.contains(#""task_id":"sse-1""#), "\(submitted)")
        var deliveries = worker.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())
        for text in ["a", "b", "c"] {
            try await worker.appendEvents([.chunk(Data(text.utf8))], holding: delivery.lease)
        }

        // The first connection is cut by the client after 4 s: it has seen the boundary, a, b, c and heartbeats.
        let first = try await Self.curl(["--max-time", "4", base + "/v1/tasks/sse-1/events"])
        let head = Self.parse(first)
        #expect(head.ids == [1, 2, 3, 4], "\(first)")
        #expect(head.chunks == "abc")
        #expect(first.contains(": heartbeat"), "an idle stream carries heartbeats: \(first)")

        for text in ["d", "e"] { try await worker.appendEvents([.chunk(Data(text.utf8))], holding: delivery.lease) }
        _ = try await worker.publishResponse(
            .completed(delivery.request.correlationID, payload: Data("done".utf8)), settling: delivery.lease)
        let second = try await Self.curl([
            "--max-time", "20", "-H", "Last-Event-ID: \(head.ids.last ?? 0)", base + "/v1/tasks/sse-1/events",
        ])
        let tail = Self.parse(second)
        #expect(tail.ids == [5, 6], "only the events after the last one seen: \(second)")
        #expect(head.chunks + tail.chunks == "abcde")
        #expect(tail.events.last == "result" && second.contains(#""result":"done""#), "\(second)")

        // The status route over the same socket agrees, and a graceful stop ends the server.
        let status = try await Self.curl(["--max-time", "10", base + "/v1/tasks/sse-1/status"])
        #expect(status.contains(#""status":"completed""#) && status.contains(#""attempt":1"#), "\(status)")
        let metrics = try await Self.curl(["--max-time", "10", base + "/metrics"])
        #expect(metrics.contains("courier_requests_submitted_total"), "\(metrics.prefix(500))")
        // A graceful stop ends an open event stream (it says so, and the client can reconnect elsewhere) and the
        // server exits; the pending task stays in the queue.
        _ = try await Self.curl([
            "--max-time", "10", "-X", "POST", "-H", "Idempotency-Key: sse-2", "--data-binary", "later",
            base + "/v1/tasks/submit",
        ])
        let streamed = directory.appendingPathComponent("sse-2.txt").path
        let open = Task { try await Self.curl(["--max-time", "30", "-o", streamed, base + "/v1/tasks/sse-2/events"]) }
        try await eventually(.seconds(20)) {
            ((try? String(contentsOfFile: streamed, encoding: .utf8)) ?? "").contains("retry:")
        }
        kill(server, SIGTERM)
        _ = try await open.value
        let ended = (try? String(contentsOfFile: streamed, encoding: .utf8)) ?? ""
        #expect(ended.contains(": shutting down"), "\(ended)")
        #expect(try await CourierExecutable.waitForExit(server, within: .seconds(20)), "the server did not stop")
        #expect(try await worker.status(of: CorrelationID("sse-2")) == .pending(attempt: 1))
    }
}
