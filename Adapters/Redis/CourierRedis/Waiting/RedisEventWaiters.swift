import Courier
import Synchronization

/// The tasks of one backend instance waiting in `waitForEvents`, grouped by correlation id. Every waiter is
/// resumed exactly once: `true` when there may be something new to read, `false` at its timeout, or an error.
final class RedisEventWaiters: Sendable {
    typealias Continuation = CheckedContinuation<Bool, any Error>

    private struct Waiter {
        var continuation: Continuation
        var timeout: TimeoutScheduler.Token?
    }

    private struct State {
        var entries: [CorrelationID: [UInt64: Waiter]] = [:]
        var nextToken: UInt64 = 1
        var closed = false
    }

    private let state = Mutex(State())
    let timeouts: TimeoutScheduler

    init(timeouts: TimeoutScheduler) { self.timeouts = timeouts }

    func makeToken() -> UInt64 {
        state.withLock { state in
            defer { state.nextToken &+= 1 }
            return state.nextToken
        }
    }

    /// Adds a waiter; `false` when the registry is closed (the waiter was not added).
    func add(_ id: CorrelationID, token: UInt64, _ continuation: Continuation) -> Bool {
        state.withLock { state in
            if state.closed { return false }
            state.entries[id, default: [:]][token] = Waiter(continuation: continuation)
            return true
        }
    }

    /// Attaches a waiter's timeout, cancelling it at once if the waiter already left.
    func attach(timeout: TimeoutScheduler.Token, to id: CorrelationID, token: UInt64) {
        let attached = state.withLock { state in
            guard state.entries[id]?[token] != nil else { return false }
            state.entries[id]?[token]?.timeout = timeout
            return true
        }
        if !attached { timeouts.cancel(timeout) }
    }

    /// Ends one waiter. Returns true when it was the last one on its id (stop watching the id).
    @discardableResult
    func finish(_ id: CorrelationID, token: UInt64, with result: Result<Bool, any Error>) -> Bool {
        let (waiter, last) = state.withLock { state -> (Waiter?, Bool) in
            guard let waiter = state.entries[id]?.removeValue(forKey: token) else { return (nil, false) }
            let last = state.entries[id]?.isEmpty == true
            if last { state.entries[id] = nil }
            return (waiter, last)
        }
        if let timeout = waiter?.timeout { timeouts.cancel(timeout) }
        waiter?.continuation.resume(with: result)
        return last
    }

    /// Wakes every waiter on `id` with `true`. Returns false when nobody was waiting.
    @discardableResult
    func wakeAll(_ id: CorrelationID) -> Bool {
        guard let waiters = state.withLock({ $0.entries.removeValue(forKey: id) }) else { return false }
        for waiter in waiters.values {
            if let timeout = waiter.timeout { timeouts.cancel(timeout) }
            waiter.continuation.resume(returning: true)
        }
        return true
    }

    /// Wakes every waiter (a notification may have been lost); returns the ids they waited on.
    func wakeEveryone() -> [CorrelationID] {
        let ids = state.withLock { Array($0.entries.keys) }
        return ids.filter(wakeAll)
    }

    /// Fails every waiter and refuses new ones.
    func close(with error: any Error) {
        let entries = state.withLock { state in
            state.closed = true
            defer { state.entries = [:] }
            return state.entries
        }
        for waiter in entries.values.flatMap(\.values) {
            if let timeout = waiter.timeout { timeouts.cancel(timeout) }
            waiter.continuation.resume(throwing: error)
        }
    }

    /// Whether anybody still waits on `id`.
    func isWaiting(on id: CorrelationID) -> Bool { state.withLock { $0.entries[id] != nil } }

    /// How many tasks wait.
    var count: Int { state.withLock { $0.entries.values.reduce(0) { $0 + $1.count } } }
}
