import Courier
import CourierSQLite
import CourierTestSupport
import Foundation
import Testing

/// `courier follow` and `courier submit --stream` in their own processes, reading what a worker in this process
/// streams into a shared SQLite file.
@Suite("courier follow")
struct FollowCommandTests {
    let path: String

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-follow-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("queue.sqlite3").path
    }

    private var environment: [String: String] { ["QUEUE_TYPE": "sqlite", "SQLITE_PATH": path, "LOG_LEVEL": "warning"] }

    /// A worker in this process that streams `tokens` and progress, then answers (or fails with `failure`).
    private func streamingWorker(
        _ backend: SQLiteQueueBackend, tokens: [String], failure: String? = nil
    ) -> Task<Void, any Error> {
        let worker = Worker(backend: backend, configuration: .init(concurrency: 1, retry: .init(initialDelay: .zero))) {
            _, events in
            try await events.progress(fraction: 0.5, message: "thinking", counter: 2)
            for token in tokens {
                try await events.write(token)
                try await Task.sleep(for: .milliseconds(5))
            }
            if let failure { throw PermanentHandlerError(failure) }
            return Data("final".utf8)
        }
        return Task { try await worker.run() }
    }

    @Test func followPrintsChunksAndProgressAndExitsByStatus() async throws {
        let backend = try await SQLiteQueueBackend(path: path, configuration: .init())
        defer { Task { await backend.shutdown() } }
        let request = QueueRequest(payload: Data("q".utf8))
        try await backend.publishRequest(request)
        let follower = Task {
            try await CourierExecutable.run(
                ["follow", request.correlationID.rawValue, "--timeout", "60"], environment: environment)
        }
        try await Task.sleep(for: .milliseconds(300))
        let worker = streamingWorker(backend, tokens: ["Hel", "lo ", "world"])
        defer { worker.cancel() }
        let outcome = try await follower.value
        #expect(outcome.exitCode == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput == "Hello world", "chunks byte for byte, in order")
        #expect(outcome.standardError.contains("progress 50% thinking (counter 2)"), "\(outcome.standardError)")
        #expect(outcome.standardError.contains("attempt 1 started"))

        // Resuming after the last event prints nothing more, and the finished request still exits 0.
        let again = try await CourierExecutable.run(
            ["follow", request.correlationID.rawValue, "--after", "100"], environment: environment)
        #expect(again.exitCode == 0 && again.standardOutput.isEmpty, "\(again.standardError)")

        // The status report keeps the progress and the times of the finished request.
        let status = try await CourierExecutable.run(
            ["status", request.correlationID.rawValue, "--json"], environment: environment)
        #expect(status.exitCode == 0, "\(status.standardError)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8)) as? [String: Any])
        #expect(report["state"] as? String == "completed" && report["attempt"] as? Int == 1, "\(report)")
        let progress = report["progress"] as? [String: Any]
        #expect(progress?["fraction"] as? Double == 0.5 && progress?["message"] as? String == "thinking", "\(report)")
        for field in ["submitted_at", "started_at", "updated_at", "finished_at"] {
            #expect((report[field] as? String)?.hasSuffix("Z") == true, "\(field) in \(report)")
        }
    }

    @Test func submitStreamExitsOneForAFailedRequestAndFollowRefusesUnknownIDs() async throws {
        let backend = try await SQLiteQueueBackend(path: path, configuration: .init())
        defer { Task { await backend.shutdown() } }
        let worker = streamingWorker(backend, tokens: ["partial"], failure: "the model refused")
        defer { worker.cancel() }
        let submitted = try await CourierExecutable.run(
            ["submit", "--stream", "--timeout", "60", "question"], environment: environment)
        #expect(submitted.exitCode == 1)
        #expect(submitted.standardOutput == "partial")
        #expect(submitted.standardError.contains("the model refused"), "\(submitted.standardError)")

        let unknown = try await CourierExecutable.run(["follow", "no-such-id"], environment: environment)
        #expect(unknown.exitCode == 1 && unknown.standardError.contains("never published"), "\(unknown.standardError)")

        let redis = try await CourierExecutable.run(
            ["follow", "x"], environment: ["QUEUE_TYPE": "redis-pubsub", "REDIS_URL": "redis://127.0.0.1:1"])
        #expect(redis.exitCode != 0 && !redis.standardError.isEmpty)
    }
}
