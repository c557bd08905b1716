import Courier
import CourierSQLite
import Foundation
import Testing

@Suite("SQLite files")
struct SQLiteFileTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private func open(_ path: String) async throws -> SQLiteQueueBackend {
        try await SQLiteQueueBackend(path: path, configuration: .init(queueName: "files"))
    }

    @Test func aMissingDirectoryIsAClearError() async throws {
        let path = directory.appendingPathComponent("no/such/dir/q.sqlite3").path
        await #expect {
            _ = try await open(path)
        } throws: { error in
            (error as? CourierError)?.code == .storageFailure && "\(error)".contains("does not exist")
        }
    }

    @Test func aFileThatIsNotSQLiteIsRefusedAndLeftAlone() async throws {
        let path = directory.appendingPathComponent("notes.txt").path
        let text = Data(String(repeating: "not a database\n", count: 200).utf8)
        try text.write(to: URL(fileURLWithPath: path))
        await #expect(throws: CourierError.self) { _ = try await open(path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == text, "the file was changed")
    }

    @Test func aCorruptFileIsRefused() async throws {
        let path = directory.appendingPathComponent("corrupt.sqlite3").path
        let backend = try await open(path)
        try await backend.publishRequest(payload: Data("x".utf8))
        await backend.shutdown()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for index in 0..<min(100, bytes.count) { bytes[index] = 0xAB }
        try bytes.write(to: URL(fileURLWithPath: path))
        await #expect(throws: CourierError.self) { _ = try await open(path) }
    }

    @Test func anUnreadableFileIsAClearError() async throws {
        let path = directory.appendingPathComponent("locked.sqlite3").path
        let backend = try await open(path)
        await backend.shutdown()
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
        if getuid() == 0 { return }  // root ignores file permissions
        await #expect(throws: CourierError.self) { _ = try await open(path) }
    }

    @Test func stateSurvivesReopening() async throws {
        let path = directory.appendingPathComponent("durable.sqlite3").path
        let first = try await open(path)
        let pending = try await first.publishRequest(payload: Data("pending".utf8))
        let answered = try await first.publishRequest(payload: Data("answered".utf8))
        var consumer = first.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await consumer.next())
        #expect(delivery.request.correlationID == pending)
        try await first.release(delivery.lease, retryAfter: .zero, reason: nil)
        try await first.publishResponse(.completed(answered, payload: Data("done".utf8)))
        await first.shutdown()

        let second = try await open(path)
        #expect(try await second.getResponse(for: answered)?.payload == Data("done".utf8))
        #expect(try await second.status(of: pending) == .pending(attempt: 2))
        await second.shutdown()
    }
}

@Test func sqliteReportsItsQueueDepth() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("depth-\(UUID().uuidString).sqlite3").path
    let backend = try await SQLiteQueueBackend(path: path, configuration: .init(queueName: "depth"))
    for _ in 0..<3 { try await backend.publishRequest(payload: Data()) }
    #expect(try await backend.pendingRequestCount() == 3)
    var consumer = backend.consumeRequests().makeAsyncIterator()
    _ = try await consumer.next()
    #expect(try await backend.pendingRequestCount() == 2)
    await backend.shutdown()
}
