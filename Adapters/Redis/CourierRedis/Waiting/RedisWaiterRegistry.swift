import Courier
import Synchronization

/// Tasks of one backend instance waiting on correlation ids, each resumed exactly once with a `Value` or an
/// error: response waiters (``RedisWaiters``) and event readers (``RedisEventWaiters``) share it.
///
/// The first waiter on an id makes the backend start watching it; when the last one leaves (answered, timed
/// out, cancelled) it stops.
final class RedisWaiterRegistry<Value: Sendable>: Sendable {
    typealias Continuation = CheckedContinuation<Value, any Error>

    private struct Waiter {
        var continuation: Continuation
        var timeout: TimeoutScheduler.Token?
    }

    private struct State {
        var entries: [CorrelationID: [UInt64: Waiter]] = [:]
        var nextToken: UInt64 = 1
        var closed = false
    }

    enum Added { case first, joined, closed }

    private let state = Mutex(State())
    /// The backend's timer, on which every waiter's timeout is scheduled.
    let timeouts: TimeoutScheduler

    init(timeouts: TimeoutScheduler) { self.timeouts = timeouts }

    func makeToken() -> UInt64 {
        state.withLock { state in
            defer { state.nextToken &+= 1 }
            return state.nextToken
        }
    }

    /// Adds a waiter. `.first` means nobody was waiting on this id yet; `.closed` that it was not added.
    func add(_ id: CorrelationID, token: UInt64, _ continuation: Continuation) -> Added {
        state.withLock { state in
            if state.closed { return .closed }
            let isFirst = state.entries[id] == nil
            state.entries[id, default: [:]][token] = Waiter(continuation: continuation)
            return isFirst ? .first : .joined
        }
    }

    /// Attaches a waiter's scheduled timeout, cancelling it at once if the waiter already left.
    func attach(timeout: TimeoutScheduler.Token, to id: CorrelationID, token: UInt64) {
        let attached = state.withLock { state in
            guard state.entries[id]?[token] != nil else { return false }
            state.entries[id]?[token]?.timeout = timeout
            return true
        }
        if !attached { timeouts.cancel(timeout) }
    }

    /// Ends one waiter with `result`. Returns true when it was the last one on its id (stop watching the id).
    @discardableResult
    func finish(_ id: CorrelationID, token: UInt64, with result: Result<Value, any Error>) -> Bool {
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

    /// Ends every waiter on `id` with `result`. Returns false when nobody was waiting.
    @discardableResult
    func finishAll(_ id: CorrelationID, with result: Result<Value, any Error>) -> Bool {
        guard let waiters = state.withLock({ $0.entries.removeValue(forKey: id) }) else { return false }
        for waiter in waiters.values {
            if let timeout = waiter.timeout { timeouts.cancel(timeout) }
            waiter.continuation.resume(with: result)
        }
        return true
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

    /// Every id waited on.
    var ids: [CorrelationID] { state.withLock { Array($0.entries.keys) } }

    /// How many ids are waited on.
    var count: Int { state.withLock { $0.entries.count } }
}

/// The tasks waiting for responses.
typealias RedisWaiters = RedisWaiterRegistry<RedisStoredResponse>

extension RedisWaiterRegistry where Value == RedisStoredResponse {
    /// Ends one waiter with `error`. Returns true when it was the last one on its id.
    @discardableResult
    func remove(_ id: CorrelationID, token: UInt64, with error: any Error) -> Bool {
        finish(id, token: token, with: .failure(error))
    }

    /// Resumes every waiter on the response's id. Returns false when nobody was waiting.
    @discardableResult
    func resolve(_ stored: RedisStoredResponse) -> Bool {
        finishAll(stored.response.correlationID, with: .success(stored))
    }

    /// Fails every waiter on `id`. Returns false when nobody was waiting.
    @discardableResult
    func fail(_ id: CorrelationID, with error: any Error) -> Bool { finishAll(id, with: .failure(error)) }
}

/// The tasks in `waitForEvents`: resumed with `true` when there may be something new to read, `false` at their
/// timeout.
typealias RedisEventWaiters = RedisWaiterRegistry<Bool>

extension RedisWaiterRegistry where Value == Bool {
    /// Wakes every waiter on `id`. Returns false when nobody was waiting.
    @discardableResult
    func wakeAll(_ id: CorrelationID) -> Bool { finishAll(id, with: .success(true)) }

    /// Wakes every waiter (a notification may have been lost); returns the ids they waited on.
    func wakeEveryone() -> [CorrelationID] { ids.filter(wakeAll) }
}
