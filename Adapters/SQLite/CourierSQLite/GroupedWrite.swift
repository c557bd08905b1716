/// One write waiting for the next group commit on the database thread (see ``SQLiteDatabase/write(skipIf:_:)``).
///
/// The database thread calls ``precheck(_:)`` outside any transaction, then ``perform(_:)`` inside the group's
/// `BEGIN IMMEDIATE` transaction, then ``finish(groupError:)`` once the group has committed (`nil`) or failed.
protocol GroupedWrite: AnyObject, Sendable {
    /// Runs the write's read-only check; returns `true` when that already answered the caller (no write needed).
    func precheck(_ connection: SQLiteConnection) -> Bool
    /// Runs the write's body; returns whether it threw (its changes must then be rolled back).
    func perform(_ connection: SQLiteConnection) -> Bool
    /// Answers the caller: with the group's error when the group did not commit, else with the body's result.
    func finish(groupError: (any Error)?)
}

/// A ``GroupedWrite`` that answers an async caller through a continuation.
final class ContinuationWrite<T: Sendable>: GroupedWrite, @unchecked Sendable {
    // `result` is touched only on the database thread, between `perform` and `finish`.
    private let continuation: CheckedContinuation<T, any Error>
    private let check: (@Sendable (SQLiteConnection) throws -> T?)?
    private let body: @Sendable (SQLiteConnection) throws -> T
    private var result: Result<T, any Error>?

    init(
        _ continuation: CheckedContinuation<T, any Error>, check: (@Sendable (SQLiteConnection) throws -> T?)?,
        body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) {
        self.continuation = continuation
        self.check = check
        self.body = body
    }

    func precheck(_ connection: SQLiteConnection) -> Bool {
        guard let check else { return false }
        do {
            guard let answer = try check(connection) else { return false }
            continuation.resume(returning: answer)
        } catch {
            continuation.resume(throwing: error)
        }
        return true
    }

    func perform(_ connection: SQLiteConnection) -> Bool {
        let result = Result { try body(connection) }
        self.result = result
        if case .failure = result { return true }
        return false
    }

    func finish(groupError: (any Error)?) {
        switch result {
        case .failure(let error):
            // The body's own failure: its changes were rolled back whatever became of the group.
            continuation.resume(throwing: error)
        case .success(let value) where groupError == nil:
            continuation.resume(returning: value)
        default:
            continuation.resume(throwing: groupError ?? SQLiteError(code: 1, message: "the write did not run"))
        }
    }
}
