import Courier
import Synchronization

/// The tasks of one backend instance waiting for responses, grouped by correlation id.
///
/// The first waiter on an id makes the backend start watching it; when the last one leaves (answered, timed
/// out, cancelled) it stops. Every waiter is resumed exactly once.
final class RedisWaiters: Sendable {
    typealias Continuation = CheckedContinuation<QueueResponse, any Error>

    private struct Waiter {
        var continuation: Continuation
        var timeout: TimeoutScheduler.Token?
    }

    private struct Entry {
        var waiters: [UInt64: Waiter] = [:]
    }

    private struct State {
        var entries: [CorrelationID: Entry] = [:]
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

    /// Adds a waiter. `.first` means nobody was watching this id yet.
    func add(_ id: CorrelationID, token: UInt64, _ continuation: Continuation) -> Added {
        state.withLock { state in
            if state.closed { return .closed }
            let isFirst = state.entries[id] == nil
            state.entries[id, default: Entry()].waiters[token] = Waiter(
                continuation: continuation)
            return isFirst ? .first : .joined
        }
    }

    /// Attaches a waiter's scheduled timeout, cancelling it at once if the waiter already left.
    func attach(timeout: TimeoutScheduler.Token, to id: CorrelationID, token: UInt64) {
        let attached = state.withLock { state in
            guard state.entries[id]?.waiters[token] != nil else { return false }
            state.entries[id]?.waiters[token]?.timeout = timeout
            return true
        }
        if !attached { timeouts.cancel(timeout) }
    }

    /// Ends one waiter with `error`. Returns true when it was the last one on its id (stop watching the id).
    @discardableResult
    func remove(_ id: CorrelationID, token: UInt64, with error: any Error) -> Bool {
        let (waiter, last) = state.withLock { state -> (Waiter?, Bool) in
            guard let waiter = state.entries[id]?.waiters.removeValue(forKey: token) else { return (nil, false) }
            let last = state.entries[id]?.waiters.isEmpty == true
            if last { state.entries[id] = nil }
            return (waiter, last)
        }
        if let timeout = waiter?.timeout { timeouts.cancel(timeout) }
        waiter?.continuation.resume(throwing: error)
        return last
    }

    /// Resumes every waiter on the response's id. Returns false when nobody was waiting.
    @discardableResult
    func resolve(_ response: QueueResponse) -> Bool {
        finish(response.correlationID, with: .success(response))
    }

    /// Fails every waiter on `id`. Returns false when nobody was waiting.
    @discardableResult
    func fail(_ id: CorrelationID, with error: any Error) -> Bool {
        finish(id, with: .failure(error))
    }

    private func finish(_ id: CorrelationID, with result: Result<QueueResponse, any Error>) -> Bool {
        guard let entry = state.withLock({ $0.entries.removeValue(forKey: id) }) else { return false }
        for waiter in entry.waiters.values {
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
        for waiter in entries.values.flatMap(\.waiters.values) {
            if let timeout = waiter.timeout { timeouts.cancel(timeout) }
            waiter.continuation.resume(throwing: error)
        }
    }

    /// Whether anybody still waits on `id`.
    func isWaiting(on id: CorrelationID) -> Bool { state.withLock { $0.entries[id] != nil } }

    /// Every watched id.
    var ids: [CorrelationID] { state.withLock { Array($0.entries.keys) } }

    /// How many ids are watched.
    var count: Int { state.withLock { $0.entries.count } }
}
