import CSQLite
import Foundation

/// One SQLite connection. Not thread-safe: ``SQLiteDatabase`` confines it to its own thread.
final class SQLiteConnection: @unchecked Sendable {  // confined to SQLiteDatabase's thread
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]

    /// Opens the database file and refuses one that holds another application's tables before changing anything.
    ///
    /// Read-write (`readOnly == false`): creates the file with owner-only permissions when `create` is set and it
    /// is missing, then (only once the schema check passed) sets the queue's pragmas, switching the file to WAL.
    /// Read-only: opens with `SQLITE_OPEN_READONLY` and issues no pragma that writes; the file must exist.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for a foreign database; ``SQLiteError`` when
    ///   the file cannot be opened or read.
    init(
        path: String, create: Bool, readOnly: Bool, synchronous: SQLiteQueueBackend.Synchronous,
        busyTimeout: Duration
    ) throws {
        let create = create && !readOnly
        if create && !FileManager.default.fileExists(atPath: path) {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
                throw SQLiteError(code: SQLITE_CANTOPEN, message: "the directory '\(directory)' does not exist")
            }
            let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            if descriptor >= 0 { close(descriptor) }
        }
        let access = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        let result = sqlite3_open_v2(path, &handle, access | SQLITE_OPEN_NOMUTEX, nil)
        if result != SQLITE_OK {
            let error = SQLiteError(code: result, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "")
            sqlite3_close_v2(handle)
            handle = nil
            throw error
        }
        sqlite3_extended_result_codes(handle, 1)
        // SQLite's own busy handler backs off in steps of up to 100 ms, which dominates latency when a client
        // and a worker process take turns at the write lock. Retry every 100 µs instead, up to the timeout.
        let attempts = max(1, Int(busyTimeout.inSecondsForSQLite * 10_000))
        sqlite3_busy_handler(
            handle,
            { context, count in
                guard Int(count) < Int(bitPattern: context) else { return 0 }
                usleep(100)
                return 1
            }, UnsafeMutableRawPointer(bitPattern: attempts))
        do {
            // Before any pragma: switching to WAL rewrites the file's header, which a foreign file must keep.
            try SQLiteSchema.checkNotForeign(self, path: path)
            if !readOnly {
                try execute("PRAGMA journal_mode = WAL")
                try execute("PRAGMA synchronous = \(synchronous.rawValue)")
            }
            try execute("PRAGMA foreign_keys = ON")
        } catch {
            closeNow()
            throw error
        }
    }

    /// Finalizes the cached statements and closes the handle at once (for a failed open).
    private func closeNow() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        sqlite3_close_v2(handle)
        handle = nil
    }

    deinit { closeNow() }

    /// Runs SQL that returns no rows (several statements allowed).
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        if result != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? ""
            sqlite3_free(message)
            throw SQLiteError(code: result, message: text)
        }
    }

    /// Runs one cached statement with `bindings`, returning every row.
    @discardableResult
    func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in bindings.enumerated() { try bind(value, at: Int32(index + 1), in: statement) }
        var rows: [[SQLiteValue]] = []
        while true {
            let result = sqlite3_step(statement)
            if result == SQLITE_DONE { return rows }
            guard result == SQLITE_ROW else { throw lastError(result) }
            rows.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
        }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws.
    func immediateTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in one read transaction (one snapshot, one round of file locks for all its queries).
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try query("BEGIN")
        defer { _ = try? query("COMMIT") }
        return try body()
    }

    /// Starts a `BEGIN IMMEDIATE` transaction (waiting for the write lock through the busy handler).
    func begin() throws { try query("BEGIN IMMEDIATE") }

    /// Commits the open transaction.
    func commit() throws { try query("COMMIT") }

    /// Rolls the open transaction back.
    func rollback() throws { try query("ROLLBACK") }

    /// Opens a savepoint inside the transaction, so one write of a group can be undone alone.
    func savepoint() throws { try query("SAVEPOINT courier_write") }

    /// Closes the savepoint, first undoing its changes when `rollingBack`.
    func releaseSavepoint(rollingBack: Bool) throws {
        if rollingBack { try query("ROLLBACK TO courier_write") }
        try query("RELEASE courier_write")
    }

    /// Whether a transaction is open (SQLite ends it by itself after some severe errors).
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// The number of rows the last statement changed.
    var changes: Int { Int(sqlite3_changes(handle)) }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw lastError(result) }
        statements[sql] = statement
        return statement
    }

    private func bind(_ value: SQLiteValue, at index: Int32, in statement: OpaquePointer) throws {
        let result: Int32
        switch value {
        case .null: result = sqlite3_bind_null(statement, index)
        case .integer(let number): result = sqlite3_bind_int64(statement, index, number)
        case .real(let number): result = sqlite3_bind_double(statement, index, number)
        case .text(let text): result = sqlite3_bind_text(statement, index, text, -1, CSQLite_transient())
        case .blob(let data):
            result = data.withUnsafeBytes { bytes in
                sqlite3_bind_blob(
                    statement, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count),
                    CSQLite_transient())
            }
        }
        if result != SQLITE_OK { throw lastError(result) }
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, index)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob(Data()) }
            return .blob(Data(bytes: bytes, count: count))
        default: return .null
        }
    }

    private func lastError(_ result: Int32) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }
}

/// A value bound to or read from SQLite.
enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
    var real: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
    var text: String? { if case .text(let value) = self { value } else { nil } }
    var blob: Data? {
        switch self {
        case .blob(let value): value
        case .null: nil
        default: nil
        }
    }
}

extension Duration {
    fileprivate var inSecondsForSQLite: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
