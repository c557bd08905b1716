import Foundation

/// A connection confined to a thread of its own, so SQLite's blocking calls (busy waits, fsync) never run on
/// Swift's cooperative pool. Async callers hop onto it and back.
final class SQLiteDatabase: @unchecked Sendable {
    // The connection is touched only from `queue`, a serial queue whose thread this type owns.
    private let connection: SQLiteConnection
    private let queue: DispatchQueue

    init(path: String, create: Bool, synchronous: SQLiteQueueBackend.Synchronous, busyTimeout: Duration) async throws {
        let queue = DispatchQueue(label: "courier.sqlite")
        self.queue = queue
        self.connection = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(
                    with: Result {
                        try SQLiteConnection(
                            path: path, create: create, synchronous: synchronous, busyTimeout: busyTimeout)
                    })
            }
        }
    }

    /// Runs `body` with the connection on the database's own thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [connection] in continuation.resume(with: Result { try body(connection) }) }
        }
    }
}
