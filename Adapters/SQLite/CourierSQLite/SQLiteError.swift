import CSQLite
import Courier

/// An SQLite failure: the C result code and SQLite's own message.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The (extended) SQLite result code, such as `SQLITE_BUSY` (5) or `SQLITE_NOTADB` (26).
    public let code: Int32
    /// SQLite's message.
    public let message: String

    /// `SQLite error N: message`.
    public var description: String { "SQLite error \(code): \(message)" }

    /// Whether the failure means the database was locked by another connection for too long.
    var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }

    /// The same failure as a ``CourierError`` with the code callers compare.
    func courierError(_ what: String) -> CourierError {
        CourierError(
            isBusy ? .backendUnavailable : .storageFailure, "\(what): \(description)\(hint)", underlying: self)
    }

    /// What to check, for the failures a user can fix.
    private var hint: String {
        switch code & 0xff {
        case SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM:
            "; check that the file, its -wal and -shm files and their directory exist and are writable by this user"
        case SQLITE_NOTADB: "; the file is not an SQLite database (it was left as it is)"
        case SQLITE_CORRUPT: "; the file is damaged (it was left as it is)"
        default: ""
        }
    }
}
