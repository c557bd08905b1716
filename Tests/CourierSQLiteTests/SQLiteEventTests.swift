import Courier
import CourierSQLite
import CourierTestSupport
import Foundation
import Testing

/// Streamed events across two backends on one file (as two processes would use it), and their cleanup.
@Suite("SQLite events")
struct SQLiteEventTests {
    let path: String

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-events-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("queue.sqlite3").path
    }

    private func open(ttl: Duration = .seconds(60)) async throws -> SQLiteQueueBackend {
        try await SQLiteQueueBackend(path: path, configuration: .init(queueName: "events", responseTTL: ttl))
    }

    /// Rows of a table, read with the `sqlite3` command so the count does not depend on the adapter.
    private func rows(_ table: String) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", path, "SELECT count(*) FROM \(table)"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test func aReaderOnAnotherInstanceFollowsLiveChunks() async throws {
        let worker = try await open()
        let client = try await open()
        defer {
            Task {
                await worker.shutdown(); await client.shutdown()
            }
        }
        let request = QueueRequest(payload: Data("q".utf8))
        try await client.publishRequest(request)
        let reader = Task {
            var text = ""
            var final: QueueResponse?
            for try await element in client.events(for: request.correlationID) {
                switch element {
                case .event(let record):
                    if case .chunk(let data) = record.event { text += String(decoding: data, as: UTF8.self) }
                case .gap: Issue.record("a gap in an untrimmed log")
                case .final(let response): final = response
                }
            }
            return (text, final)
        }
        var iterator = worker.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        for index in 0..<50 {
            try await worker.appendEvents([.chunk(Data("\(index),".utf8))], holding: delivery.lease)
            try await Task.sleep(for: .milliseconds(2))
        }
        try await worker.publishResponse(
            .completed(request.correlationID, payload: Data("a".utf8)), settling: delivery.lease)
        let outcome = try await value(within: .seconds(30)) { try await reader.value }
        let (text, final) = try #require(outcome, "the reader did not end within 30 s")
        #expect(text == (0..<50).map { "\($0)," }.joined())
        #expect(final?.status == .completed)
    }

    @Test func eventRowsGoWithTheirResponse() async throws {
        let backend = try await open(ttl: .seconds(5))
        defer { Task { await backend.shutdown() } }
        for _ in 0..<5 {
            let request = QueueRequest(payload: Data("q".utf8))
            try await backend.publishRequest(request)
            var iterator = backend.consumeRequests().makeAsyncIterator()
            let delivery = try #require(try await iterator.next())
            try await backend.appendEvents(
                [.chunk(Data("x".utf8)), .progress(.init(fraction: 0.5))], holding: delivery.lease)
            try await backend.publishResponse(
                .completed(request.correlationID, payload: Data()), settling: delivery.lease)
        }
        #expect(try rows("courier_events") == 15)
        #expect(try rows("courier_event_logs") == 5)
        try await eventually(.seconds(30)) { try rows("courier_events") == 0 && rows("courier_event_logs") == 0 }
    }
}
