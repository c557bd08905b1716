import Foundation
import Synchronization

/// A connection confined to a thread of its own, so SQLite's blocking calls (busy waits, fsync) never run on
/// Swift's cooperative pool. Async callers hop onto it and back.
///
/// Writes are group-committed: the writes that callers submit while the thread is busy run together in the next
/// `BEGIN IMMEDIATE … COMMIT`, each in its own savepoint, and every caller is answered only after that commit.
final class SQLiteDatabase: @unchecked Sendable {
    // The connection is touched only from `queue`, a serial queue whose thread this type owns.
    private let connection: SQLiteConnection
    private let queue: DispatchQueue
    private let pending = Mutex<(writes: [any GroupedWrite], isScheduled: Bool)>(([], false))

    init(
        path: String, create: Bool, readOnly: Bool, synchronous: SQLiteQueueBackend.Synchronous,
        busyTimeout: Duration
    ) async throws {
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
                                    path: path, create: create, readOnly: readOnly, synchronous: synchronous,
                                    busyTimeout: busyTimeout)
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

    /// Calls `body` on the database thread after `delay`, then again after each delay it returns, until it
    /// returns `nil`. For cheap periodic checks that should not hop through Swift's cooperative pool; one timer
    /// is re-armed each time rather than a new one made per call.
    func repeatedly(after delay: Duration, _ body: @escaping @Sendable (SQLiteConnection) -> Duration?) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [connection] in
            if let next = body(connection) {
                timer.schedule(deadline: .now() + next.dispatchInterval, leeway: .microseconds(100))
            } else {
                timer.cancel()
            }
        }
        timer.schedule(deadline: .now() + delay.dispatchInterval, leeway: .microseconds(100))
        timer.activate()
    }

    /// Runs `body` inside a write transaction shared with the other writes waiting at that moment, and returns
    /// once that transaction has committed. When `body` throws, only its own changes are rolled back.
    ///
    /// `check`, when given, runs first outside the transaction; a non-`nil` answer is returned without writing
    /// (so a caller that usually finds nothing to do does not take the file's write lock).
    func write<T: Sendable>(
        skipIf check: (@Sendable (SQLiteConnection) throws -> T?)? = nil,
        _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let write = ContinuationWrite(continuation, check: check, body: body)
            let schedule = pending.withLock { pending in
                pending.writes.append(write)
                defer { pending.isScheduled = true }
                return !pending.isScheduled
            }
            if schedule { queue.async { [self] in commitGroup() } }
        }
    }

    /// Runs every write submitted so far in one transaction. Writes submitted meanwhile wait for the next group.
    private func commitGroup() {
        let submitted = pending.withLock { pending in
            defer { pending = ([], false) }
            return pending.writes
        }
        let writes = submitted.filter { !$0.precheck(connection) }
        guard !writes.isEmpty else { return }
        var groupError: (any Error)?
        do {
            try connection.begin()
            if writes.count == 1 {
                // No savepoint needed: a failing body rolls back the whole (one-write) transaction.
                if writes[0].perform(connection) { try connection.rollback() } else { try connection.commit() }
            } else {
                for write in writes {
                    try connection.savepoint()
                    let failed = write.perform(connection)
                    // A severe error (disk full, I/O) can end the transaction itself: then nothing commits.
                    guard connection.isInTransaction else {
                        throw SQLiteError(code: 1, message: "the transaction was rolled back by an earlier failure")
                    }
                    try connection.releaseSavepoint(rollingBack: failed)
                }
                try connection.commit()
            }
        } catch {
            groupError = error
            if connection.isInTransaction { try? connection.rollback() }
        }
        for write in writes { write.finish(groupError: groupError) }
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

extension Duration {
    fileprivate var dispatchInterval: DispatchTimeInterval {
        .nanoseconds(Int(components.seconds) * 1_000_000_000 + Int(components.attoseconds / 1_000_000_000))
    }
}
