import CSQLite
import Courier
import CourierSQLite
import Foundation
import Testing

/// What `SQLiteQueueBackend` refuses to open, and what it may not change: special paths, other applications'
/// databases, and every file opened read-only.
@Suite("SQLite paths and access")
struct SQLiteSafetyTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func open(
        _ path: String, _ access: SQLiteQueueBackend.Access = .readWrite,
        configuration: QueueConfiguration = .init(queueName: "safety")
    ) async throws -> SQLiteQueueBackend {
        try await SQLiteQueueBackend(
            path: path, configuration: configuration, options: .init(access: access))
    }

    /// The names in the test's directory, to show that nothing (no -wal, -shm or journal) was created.
    private func listing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Expects `open` to fail with `invalidConfiguration` and a message containing every one of `parts`.
    private func expectRefused(
        _ parts: [String], sourceLocation: SourceLocation = #_sourceLocation,
        _ open: () async throws -> SQLiteQueueBackend
    ) async {
        do {
            let backend = try await open()
            await backend.shutdown()
            Issue.record("opened, but should have been refused", sourceLocation: sourceLocation)
        } catch let error as CourierError {
            #expect(error.code == .invalidConfiguration, "\(error)", sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n"), "not one line: \(error)", sourceLocation: sourceLocation)
            for part in parts {
                #expect(error.message.contains(part), "\(error) does not name \(part)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected a CourierError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    private func expectReadOnlyError(
        sourceLocation: SourceLocation = #_sourceLocation, _ operation: () async throws -> Void
    ) async {
        do {
            try await operation()
            Issue.record("a write succeeded on a read-only queue", sourceLocation: sourceLocation)
        } catch let error as CourierError {
            #expect(error.code == .invalidConfiguration, "\(error)", sourceLocation: sourceLocation)
            #expect(error.message.contains("opened read-only"), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a CourierError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Special paths

    @Test(arguments: [SQLiteQueueBackend.Access.readWrite, .readOnly])
    func specialPathsAreRefusedAndCreateNothing(_ access: SQLiteQueueBackend.Access) async throws {
        let relativeURI = "file:courier-safety-\(UUID().uuidString).sqlite3"
        let cases: [(path: String, why: String)] = [
            (":memory:", "memory"),
            ("", "empty"),
            ("file:" + file("uri.sqlite3"), "URI"),
            ("file:" + file("uri.sqlite3") + "?mode=memory&cache=shared", "URI"),
            (relativeURI, "URI"),
        ]
        for (path, why) in cases {
            await expectRefused(["'\(path)'", why]) { try await open(path, access) }
        }
        // A relative path would have been created in the working directory.
        #expect(!FileManager.default.fileExists(atPath: ":memory:"))
        #expect(!FileManager.default.fileExists(atPath: relativeURI))
        #expect(try listing().isEmpty)
    }

    @Test func aFileNamedLikeASpecialPathCanBeGivenAsAPlainPath() async throws {
        let backend = try await open(file(":memory:"))
        let id = try await backend.publishRequest(payload: Data("kept".utf8))
        #expect(try await backend.status(of: id) == .pending(attempt: 1))
        await backend.shutdown()
        #expect(FileManager.default.fileExists(atPath: file(":memory:")))
    }

    // MARK: Other applications' databases

    @Test(arguments: [SQLiteQueueBackend.Access.readWrite, .readOnly])
    func aForeignDatabaseIsRefusedAndLeftUnchanged(_ access: SQLiteQueueBackend.Access) async throws {
        let path = file("app.db")
        try RawSQLite.execute(
            path,
            """
            CREATE TABLE invoices (id INTEGER PRIMARY KEY AUTOINCREMENT, total REAL);
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
            CREATE INDEX customers_name ON customers (name);
            INSERT INTO invoices (total) VALUES (12.5), (99);
            INSERT INTO customers (name) VALUES ('Ada');
            """)
        let before = try bytes(path)
        let files = try listing()
        #expect(try RawSQLite.journalMode(path) == "delete")

        await expectRefused(["'\(path)'", "customers", "invoices"]) { try await open(path, access) }

        #expect(try bytes(path) == before, "the foreign database was changed")
        #expect(try listing() == files, "files were created next to the foreign database")
        #expect(try RawSQLite.journalMode(path) == "delete")
        #expect(try RawSQLite.tables(path) == ["customers", "invoices", "sqlite_sequence"])
    }

    @Test func aForeignDatabaseInWALModeKeepsItsTables() async throws {
        let path = file("wal-app.db")
        try RawSQLite.execute(path, "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT);")
        await expectRefused(["'\(path)'", "notes"]) { try await open(path) }
        #expect(try RawSQLite.tables(path) == ["notes"])
    }

    @Test func emptyDatabasesAreAdoptedReadWrite() async throws {
        let zeroBytes = file("zero.sqlite3")
        #expect(FileManager.default.createFile(atPath: zeroBytes, contents: nil))
        let headerOnly = file("header-only.sqlite3")
        try RawSQLite.execute(headerOnly, "PRAGMA user_version = 7")
        #expect(try bytes(headerOnly).count > 0)

        for path in [zeroBytes, headerOnly] {
            let backend = try await open(path)
            let id = try await backend.publishRequest(payload: Data("adopted".utf8))
            #expect(try await backend.status(of: id) == .pending(attempt: 1))
            await backend.shutdown()
            #expect(try RawSQLite.journalMode(path) == "wal")
            #expect(try RawSQLite.tables(path).contains("courier_requests"))
        }
    }

    // MARK: Read-only

    @Test func readOnlyRefusesAMissingFileAndCreatesNothing() async throws {
        let path = file("missing.sqlite3")
        await expectRefused(["no Courier queue at '\(path)'", "does not exist"]) { try await open(path, .readOnly) }
        #expect(try listing().isEmpty)
    }

    @Test func readOnlyRefusesAnEmptyDatabaseAndChangesNothing() async throws {
        let zeroBytes = file("zero.sqlite3")
        #expect(FileManager.default.createFile(atPath: zeroBytes, contents: nil))
        let headerOnly = file("header-only.sqlite3")
        try RawSQLite.execute(headerOnly, "PRAGMA user_version = 7")
        let files = try listing()

        for path in [zeroBytes, headerOnly] {
            let before = try bytes(path)
            await expectRefused(["'\(path)' is not a Courier queue"]) { try await open(path, .readOnly) }
            #expect(try bytes(path) == before)
            #expect(try RawSQLite.tables(path).isEmpty)
        }
        #expect(try listing() == files)
    }

    @Test func readOnlyReadsStatusAndResponsesWithoutChangingTheFile() async throws {
        let path = file("queue.sqlite3")
        let writer = try await open(path)
        let pending = try await writer.publishRequest(payload: Data("pending".utf8))
        let answered = try await writer.publishRequest(payload: Data("answered".utf8))
        try await writer.publishResponse(.completed(answered, payload: Data("done".utf8)))
        await writer.shutdown()
        let before = try bytes(path)

        let reader = try await open(path, .readOnly)
        #expect(try await reader.status(of: pending) == .pending(attempt: 1))
        #expect(try await reader.status(of: answered) == .finished(.completed))
        #expect(try await reader.getResponse(for: answered)?.payload == Data("done".utf8))
        #expect(try await reader.subscribe(to: answered, timeout: .seconds(1)).payload == Data("done".utf8))
        #expect(try await reader.pendingRequestCount() == 1)
        #expect(try await reader.integrityCheck() == "ok")
        await reader.shutdown()

        #expect(try bytes(path) == before, "a read-only open changed the database file")
        #expect(try RawSQLite.journalMode(path) == "wal")
    }

    @Test func aReadOnlyWaiterIsWokenByAnotherInstancesResponse() async throws {
        let path = file("wake.sqlite3")
        let writer = try await open(path)
        let id = try await writer.publishRequest(payload: Data("question".utf8))
        let reader = try await open(path, .readOnly)

        let waiter = Task { try await reader.subscribe(to: id, timeout: .seconds(20)) }
        try await Task.sleep(for: .milliseconds(50))
        var consumer = writer.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await consumer.next())
        try await writer.publishResponse(.completed(id, payload: Data("answer".utf8)), settling: delivery.lease)
        let published = ContinuousClock.now

        #expect(try await waiter.value.payload == Data("answer".utf8))
        // The waiters' own re-check comes 5 s after they start waiting: sooner means the data_version watch woke
        // it (the watch takes milliseconds; the margin is for a loaded machine).
        #expect(ContinuousClock.now - published < .milliseconds(4500))
        await reader.shutdown()
        await writer.shutdown()
    }

    @Test func everyWriteThrowsInReadOnlyModeAndTheFileStaysUnchanged() async throws {
        let path = file("writes.sqlite3")
        // A short lease and TTL, so a reaper or sweep in the read-only backend would have something to write.
        let configuration = QueueConfiguration(
            queueName: "safety", leaseDuration: .milliseconds(200), responseTTL: .milliseconds(200))
        let writer = try await open(path, configuration: configuration)
        let leased = try await writer.publishRequest(payload: Data("leased".utf8))
        let waiting = try await writer.publishRequest(payload: Data("waiting".utf8))
        var consumer = writer.consumeRequests().makeAsyncIterator()
        let lease = try #require(try await consumer.next()).lease
        #expect(lease.correlationID == leased)
        let answered = try await writer.publishRequest(payload: Data("answered".utf8), correlationID: .generate())
        try await writer.publishResponse(.completed(answered, payload: Data("done".utf8)))
        await writer.shutdown()
        let before = try bytes(path)
        let responsesBefore = try RawSQLite.count(path, "SELECT count(*) FROM courier_responses")

        let reader = try await open(path, .readOnly, configuration: configuration)
        // On a loaded machine the writer may have reaped the 200 ms lease before it shut down: what matters is
        // that the read-only backend changes nothing from here on.
        let leasedState = try await reader.status(of: leased)
        await expectReadOnlyError { try await reader.publishRequest(payload: Data("new".utf8)) }
        await expectReadOnlyError {
            var readerConsumer = reader.consumeRequests().makeAsyncIterator()
            _ = try await readerConsumer.next()
        }
        await expectReadOnlyError { _ = try await reader.extendLease(lease) }
        await expectReadOnlyError { try await reader.release(lease, retryAfter: .zero, reason: nil) }
        await expectReadOnlyError {
            try await reader.publishResponse(.completed(leased, payload: Data("late".utf8)), settling: lease)
        }
        await expectReadOnlyError { try await reader.publishResponse(.completed(waiting, payload: Data())) }
        await expectReadOnlyError { try await reader.cancel(waiting) }

        // Past the lease, the TTL and the once-a-second sweep: a read-only backend reaps and sweeps nothing.
        try await Task.sleep(for: .milliseconds(1300))
        #expect(try await reader.status(of: leased) == leasedState)
        #expect(try await reader.status(of: waiting) == .pending(attempt: 1))
        await reader.shutdown()

        #expect(try bytes(path) == before, "a read-only backend changed the database file")
        #expect(try RawSQLite.count(path, "SELECT count(*) FROM courier_responses") == responsesBefore)
    }
}

/// Plain SQLite, for making and inspecting files without Courier.
enum RawSQLite {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `sql` on `path` (created when missing) and closes it.
    static func execute(_ path: String, _ sql: String) throws {
        try withConnection(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) { handle in
            var message: UnsafeMutablePointer<CChar>?
            if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
                defer { sqlite3_free(message) }
                throw Failure(description: message.map { String(cString: $0) } ?? "sqlite3_exec failed")
            }
        }
    }

    /// The file's journal mode, read without changing it.
    static func journalMode(_ path: String) throws -> String {
        try rows(path, "PRAGMA journal_mode").first ?? ""
    }

    /// The names of the file's tables, sorted.
    static func tables(_ path: String) throws -> [String] {
        try rows(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    }

    /// The first column of the first row of `sql`, as an integer.
    static func count(_ path: String, _ sql: String) throws -> Int {
        Int(try rows(path, sql).first ?? "") ?? -1
    }

    /// The first column of each row of `sql`, as text, read through a read-only connection.
    private static func rows(_ path: String, _ sql: String) throws -> [String] {
        try withConnection(path, flags: SQLITE_OPEN_READONLY) { handle in
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
                throw Failure(description: String(cString: sqlite3_errmsg(handle)))
            }
            defer { sqlite3_finalize(statement) }
            var result: [String] = []
            while sqlite3_step(statement) == SQLITE_ROW {
                result.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
            }
            return result
        }
    }

    private static func withConnection<T>(
        _ path: String, flags: Int32, _ body: (OpaquePointer?) throws -> T
    ) throws -> T {
        var handle: OpaquePointer?
        defer { sqlite3_close_v2(handle) }
        guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK else {
            throw Failure(description: "cannot open \(path)")
        }
        return try body(handle)
    }
}
