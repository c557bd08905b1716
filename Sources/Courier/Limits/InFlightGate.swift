import Synchronization

/// An in-process ``ConcurrencyGate``: at most ``limit`` permits are out at once; further callers wait in FIFO
/// order without blocking a thread.
///
/// Create one per process and hand it to every ``Worker`` (via ``WorkerLimits``) so that raising the number
/// of workers or their concurrency never raises the number of requests in flight above ``limit``.
/// Safe to use from any number of tasks.
public final class InFlightGate: ConcurrencyGate {
    /// The most permits that can be out at once.
    public let limit: Int

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<GatePermit, any Error>
    }

    private struct State {
        var nextID: UInt64 = 0
        var outstanding: Set<UInt64> = []
        var waiters = WaitQueue<Waiter>()
        var cancelledBeforeWaiting: Set<UInt64> = []
    }

    private let state = Mutex(State())

    /// Creates a gate with `limit` slots (at least 1).
    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// How many permits are out now.
    public var inFlight: Int { state.withLock { $0.outstanding.count } }

    /// How many callers are waiting for a permit now.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Takes a slot, waiting in FIFO order when all ``limit`` are out.
    /// - Throws: `CancellationError` when the task is cancelled while it waits; no slot is taken then.
    public func acquire() async throws -> GatePermit {
        try Task.checkCancellation()
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<GatePermit, any Error>) in
                let immediate = state.withLock { state -> Result<GatePermit, any Error>? in
                    if state.cancelledBeforeWaiting.remove(id) != nil { return .failure(CancellationError()) }
                    if state.outstanding.count < limit && state.waiters.isEmpty {
                        state.outstanding.insert(id)
                        return .success(GatePermit(token: String(id)))
                    }
                    state.waiters.append(id, Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                if let waiter = state.waiters.remove(id) { return waiter }
                if !state.outstanding.contains(id) { state.cancelledBeforeWaiting.insert(id) }
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back and hands it to the longest waiter, if any.
    public func release(_ permit: GatePermit) async {
        releaseNow(permit)
    }

    /// The synchronous body of ``release(_:)``.
    func releaseNow(_ permit: GatePermit) {
        guard let id = UInt64(permit.token) else { return }
        let next = state.withLock { state -> Waiter? in
            guard state.outstanding.remove(id) != nil else { return nil }
            guard let waiter = state.waiters.popFirst() else { return nil }
            state.outstanding.insert(waiter.id)
            return waiter
        }
        if let next { next.continuation.resume(returning: GatePermit(token: String(next.id))) }
    }
}
