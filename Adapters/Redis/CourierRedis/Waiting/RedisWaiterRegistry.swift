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
        /// Nil for a waiter registered before it waits (``expect(_:token:)``) until ``wait(_:on:token:)``.
        var continuation: Continuation?
        var timeout: TimeoutScheduler.Token?
        /// What ended a waiter before it had a continuation, for when it gets one. Boxed: it is rare, and a stored
        /// response inline would make every waiter (10,000 open long polls) as large as one.
        var early: Early?
        /// Added with ``add(_:token:_:)``: the id's watch is in place for it. A waiter registered with
        /// ``expect(_:token:)`` hears its answer on the instance's reply channel and watches nothing.
        var watching = false

        init(continuation: Continuation? = nil, early: Result<Value, any Error>? = nil, watching: Bool = false) {
            self.continuation = continuation
            self.early = early.map(Early.init)
            self.watching = watching
        }
    }

    private final class Early: Sendable {
        let result: Result<Value, any Error>
        init(_ result: Result<Value, any Error>) { self.result = result }
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

    /// Adds a waiter that needs the id watched. `.first` means no waiter on this id had its watch yet (nobody
    /// waited, or only waiters registered with ``expect(_:token:)``, which watch nothing): start it. `.closed`
    /// means it was not added.
    func add(_ id: CorrelationID, token: UInt64, _ continuation: Continuation) -> Added {
        state.withLock { state in
            if state.closed { return .closed }
            let isFirst = state.entries[id]?.values.contains(where: \.watching) != true
            state.entries[id, default: [:]][token] = Waiter(continuation: continuation, watching: true)
            return isFirst ? .first : .joined
        }
    }

    /// Registers a waiter that will wait later (``wait(_:on:token:)``): a result for its id that arrives before is
    /// kept for it. Returns false when the registry is closed.
    func expect(_ id: CorrelationID, token: UInt64) -> Bool {
        state.withLock { state in
            if state.closed { return false }
            state.entries[id, default: [:]][token] = Waiter()
            return true
        }
    }

    /// Gives a waiter registered with ``expect(_:token:)`` its continuation. Returns false when the waiter was
    /// already ended; the continuation was then resumed with what ended it (its result, a cancellation or the
    /// registry's closing).
    func wait(_ continuation: Continuation, on id: CorrelationID, token: UInt64) -> Bool {
        let outcome = state.withLock { state -> Result<Value, any Error>? in
            guard let waiter = state.entries[id]?[token] else {
                return .failure(
                    state.closed ? CourierError(.shutDown, "the Redis queue was shut down") : CancellationError())
            }
            guard let early = waiter.early else {
                state.entries[id]?[token]?.continuation = continuation
                return nil
            }
            state.entries[id]?[token] = nil
            if state.entries[id]?.isEmpty == true { state.entries[id] = nil }
            return early.result
        }
        guard let outcome else { return true }
        continuation.resume(with: outcome)
        return false
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
        waiter?.continuation?.resume(with: result)
        return last
    }

    /// Ends every waiter on `id` with `result`. Returns false when nobody was waiting.
    @discardableResult
    func finishAll(_ id: CorrelationID, with result: Result<Value, any Error>) -> Bool {
        let waiters = state.withLock { state -> [UInt64: Waiter]? in
            guard let waiters = state.entries.removeValue(forKey: id) else { return nil }
            // A waiter without its continuation yet keeps the first result for when it waits.
            for (token, waiter) in waiters where waiter.continuation == nil {
                state.entries[id, default: [:]][token] = Waiter(early: waiter.early?.result ?? result)
            }
            return waiters
        }
        guard let waiters else { return false }
        for waiter in waiters.values {
            if let timeout = waiter.timeout { timeouts.cancel(timeout) }
            waiter.continuation?.resume(with: result)
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
            waiter.continuation?.resume(throwing: error)
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
