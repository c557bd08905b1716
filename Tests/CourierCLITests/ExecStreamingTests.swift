import Courier
import CourierSQLite
import CourierTestSupport
import Foundation
import Testing

/// `courier worker --handler exec --stream`: a command's output reaches a reader in another process while the
/// command is still running, and its file-descriptor-3 lines become progress.
@Suite("streaming exec handlers, across processes")
struct ExecStreamingTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-exec-stream-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private var databasePath: String { directory.appendingPathComponent("queue.sqlite3").path }

    @Test func chunksArriveWhileTheCommandRunsAndDescriptorThreeLinesBecomeProgress() async throws {
        let marker = directory.appendingPathComponent("go-on").path
        // The command writes its first piece, reports progress (and one line that is not progress), then waits
        // until the reader has seen the piece: the second piece exists only because the first was streamed.
        let script = """
            read -r question
            printf 'first '
            echo '{"fraction": 0.5, "message": "half way", "counter": 2}' >&3
            echo 'not progress' >&3
            i=0; while [ ! -f \(marker) ]; do i=$((i+1)); [ $i -gt 1200 ] && exit 3; sleep 0.05; done
            printf 'second: %s' "$question"
            """
        let worker = try CourierExecutable.start(
            ["worker", "--handler", "exec", "--stream", "--", "sh", "-c", script],
            environment: ["QUEUE_TYPE": "sqlite", "SQLITE_PATH": databasePath, "LOG_LEVEL": "warning"])
        defer { kill(worker, SIGKILL) }

        let backend = try await SQLiteQueueBackend(path: databasePath, configuration: .init())
        defer { Task { await backend.shutdown() } }
        let request = QueueRequest(payload: Data("why?\n".utf8))
        try await backend.publishRequest(request)
        let read = try await value(within: .seconds(60)) {
            var text = ""
            var progress: [RequestProgress] = []
            var final: QueueResponse?
            for try await element in backend.events(for: request.correlationID) {
                switch element {
                case .event(let record):
                    if case .chunk(let bytes) = record.event { text += String(decoding: bytes, as: UTF8.self) }
                    if case .progress(let value) = record.event { progress.append(value) }
                case .gap: Issue.record("a gap in an untrimmed log")
                case .final(let response): final = response
                }
                if text == "first " && !FileManager.default.fileExists(atPath: marker) {
                    _ = FileManager.default.createFile(atPath: marker, contents: nil)
                }
            }
            return (text, progress, final)
        }
        let (text, progress, final) = try #require(read, "the events did not end within 60 s")
        #expect(text == "first second: why?", "the chunks, in order, byte for byte")
        #expect(progress == [RequestProgress(fraction: 0.5, message: "half way", counter: 2)])
        #expect(
            final?.status == .completed && final?.payload == Data("first second: why?".utf8),
            "\(String(describing: final))")
        let report = try await backend.statusReport(of: request.correlationID)
        #expect(report.progress == RequestProgress(fraction: 0.5, message: "half way", counter: 2), "\(report)")
    }
}
