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
        // Opening switches the file to WAL, which needs a moment of exclusive access: when another process is
        // opening the same file at that instant, SQLite reports busy without calling the busy handler. Retry.
        let deadline = ContinuousClock.now.advanced(by: busyTimeout)
        while true {
            do {
                self.connection = try await withCheckedThrowingContinuation { continuation in
                    queue.async {
                        continuation.resume(
                            with: Result {
                                try SQLiteConnection(
                                    path: path, create: create, synchronous: synchronous, busyTimeout: busyTimeout)
                            })
                    }
                }
                return
            } catch let error as SQLiteError where error.isBusy && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...25)))
            }
        }
    }

    /// Runs `body` with the connection on the database's own thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [connection] in continuation.resume(with: Result { try body(connection) }) }
        }
    }

    /// Runs `body`, retrying from the start while the file is busy for up to `limit` (for schema set-up).
    func runRetryingWhileBusy<T: Sendable>(
        for limit: Duration, _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while true {
            do {
                return try await run(body)
            } catch let error as SQLiteError where error.isBusy && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...25)))
            }
        }
    }
}
