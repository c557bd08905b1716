import Synchronization

/// The value of `operation`, or nil when it has not finished within `limit`. The operation runs on a task of
/// its own and is cancelled, never awaited, when the limit passes: a wait in a test is bounded even when what
/// it waits for ignores cancellation (a task group would wait for its child).
/// - Throws: What `operation` threw, when it finished in time.
public func value<T: Sendable>(
    within limit: Duration, of operation: @escaping @Sendable () async throws -> T
) async throws -> T? {
    let outcome = Outcome<T>()
    let task = Task { await outcome.set(await Result { try await operation() }) }
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let result = outcome.value { return try result.get() }
        try await Task.sleep(for: .milliseconds(10))
    }
    if let result = outcome.value { return try result.get() }
    task.cancel()
    return nil
}

/// The result of an operation, once it finished.
private final class Outcome<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    var value: Result<T, any Error>? { result.withLock { $0 } }
    func set(_ value: Result<T, any Error>) async { result.withLock { $0 = value } }
}

extension Result where Failure == any Error {
    /// Captures the outcome of an async throwing operation.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
