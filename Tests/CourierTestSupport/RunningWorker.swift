import Courier

/// Runs `worker` in the background for the duration of `body`, then cancels it (the worker's hard stop).
public func running<T: Sendable>(_ worker: Worker, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await worker.run() }
    defer { task.cancel() }
    return try await body()
}
