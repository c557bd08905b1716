import Courier
import Synchronization

/// A connection opened on first use (consumers and subscribers only cost a connection once they are used),
/// opened again on the next use if opening failed, and closed for good by ``close()``.
///
/// A server that cannot be reached at first use (restarting, say) is retried with backoff for up to `patience`
/// (the reconnect window), as an established connection would wait for it to come back.
final class RedisLazyConnection: Sendable {
    private let opener: @Sendable () async throws -> RedisConnection
    private let patience: Duration
    private let state = Mutex<(opening: Task<RedisConnection, any Error>?, opened: RedisConnection?, closed: Bool)>(
        (nil, nil, false))

    init(patience: Duration, _ opener: @escaping @Sendable () async throws -> RedisConnection) {
        self.opener = opener
        self.patience = patience
    }

    /// The connection, opening it if needed.
    /// - Throws: ``CourierError`` with code `backendUnavailable` when it cannot be opened, `shutDown` after
    ///   ``close()``.
    func get() async throws -> RedisConnection {
        let task: Task<RedisConnection, any Error> = try state.withLock { state in
            if state.closed { throw CourierError(.shutDown, "the Redis backend was shut down") }
            if let opening = state.opening { return opening }
            let opening = Task { try await openPatiently() }
            state.opening = opening
            return opening
        }
        do {
            let connection = try await task.value
            let closed = state.withLock { state in
                state.opened = connection
                return state.closed
            }
            if closed { connection.close() }
            return connection
        } catch {
            state.withLock { if $0.opening == task { $0.opening = nil } }
            throw error
        }
    }

    private func openPatiently() async throws -> RedisConnection {
        let deadline = ContinuousClock.now.advanced(by: patience)
        var delay = Duration.milliseconds(20)
        while true {
            do {
                return try await opener()
            } catch let error as CourierError where error.code == .backendUnavailable {
                if ContinuousClock.now.advanced(by: delay) > deadline || state.withLock({ $0.closed }) { throw error }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    /// The connection once it has been opened, without waiting (nil before, or while it is being opened).
    var open: RedisConnection? { state.withLock { $0.opened } }

    /// Commands sent on the connection so far (zero while it was never opened).
    var commandsSent: Int { open?.commandsSent ?? 0 }

    func close() {
        let task = state.withLock { state in
            state.closed = true
            return state.opening
        }
        guard let task else { return }
        Task { try? await task.value.close() }
    }
}
