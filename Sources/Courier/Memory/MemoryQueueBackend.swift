import Foundation
import Synchronization

/// A complete queue that lives in this process's memory: the reference adapter and the one to use in tests.
///
/// `let backend = try MemoryQueueBackend()` is all a test needs. It honours the whole ``QueueBackend``
/// contract with ``QueueCapabilities/fifo`` and ``QueueCapabilities/pushWakeups``: nothing polls — consumers and
/// waiters are resumed directly, and one timer (a ``TimeoutScheduler``) fires at the next lease expiry, retry,
/// request deadline or response expiry. It is neither durable nor shared: its requests vanish with the process, and another
/// process (or another instance) never sees them.
///
/// Safe to use from any number of tasks; every operation takes one short lock and never blocks a thread.
public final class MemoryQueueBackend: QueueBackend {
    /// Always `[fifo, pushWakeups, eventStreams]`.
    public var capabilities: QueueCapabilities { [.fifo, .pushWakeups, .eventStreams, .requestListing] }
    /// The settings this instance was created with.
    public let configuration: QueueConfiguration

    private let state: Mutex<MemoryQueueState>
    let waiterTokens = Atomic<UInt64>(0)
    let timeouts = TimeoutScheduler()

    /// Creates an empty queue.
    /// - Throws: ``CourierError`` when the configuration is invalid (see ``QueueConfiguration/validate()``).
    public init(configuration: QueueConfiguration = QueueConfiguration()) throws {
        try configuration.validate()
        self.configuration = configuration
        self.state = Mutex(MemoryQueueState(configuration: configuration))
    }

    deinit {
        timeouts.close()
    }

    // MARK: Requests

    /// Enqueues a request. See ``QueueBackend/publishRequest(_:)``.
    /// - Throws: ``CourierError`` with code `duplicateRequest`, `payloadTooLarge` or `shutDown`.
    public func publishRequest(_ request: QueueRequest) async throws {
        try configuration.checkPayloadSize(request.payload.count, of: "the request payload")
        try request.checkFingerprint()
        try mutate { state, now, effects in
            try state.checkOpen()
            let id = request.correlationID
            if state.records[id] != nil || state.storedResponse(id, now: now) != nil {
                throw CourierError(.duplicateRequest, "a request with correlation id \(id) already exists")
            }
            state.enqueue(request, now: now, effects: &effects)
        }
    }

    /// Returns a consumer's stream of leased deliveries. See ``QueueBackend/consumeRequests()``.
    public func consumeRequests() -> DeliverySequence {
        DeliverySequence { [self] in await nextDelivery() }
    }

    private func nextDelivery() async -> Delivery? {
        let token = waiterTokens.add(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Delivery?, Never>) in
                mutate { state, now, effects in
                    if state.isShutDown {
                        effects.deliveries.append((continuation, nil))
                    } else if let delivery = state.claim(now: now, effects: &effects) {
                        effects.deliveries.append((continuation, delivery))
                    } else if Task.isCancelled {
                        effects.deliveries.append((continuation, nil))
                    } else {
                        state.consumers.append(token, continuation)
                    }
                }
            }
        } onCancel: {
            mutate { state, _, effects in
                if let continuation = state.consumers.remove(token) {
                    effects.deliveries.append((continuation, nil))
                }
            }
        }
    }

    // MARK: Leases

    /// Extends a lease. See ``QueueBackend/extendLease(_:)``.
    /// - Throws: ``CourierError`` with code `requestCancelled`, `leaseLost` or `shutDown`.
    public func extendLease(_ lease: Lease) async throws -> Lease {
        try mutate { state, now, effects in
            try state.checkOpen()
            let id = lease.correlationID
            if state.storedResponse(id, now: now)?.status == .cancelled {
                throw CourierError(.requestCancelled, "request \(id) was cancelled")
            }
            var record = try state.currentRecord(for: lease)
            guard case .leased(let token, _) = record.phase else {
                throw CourierError(.leaseLost, "the lease on \(id) (attempt \(lease.attempt)) expired")
            }
            let expiresAt = now.advanced(by: configuration.leaseDuration)
            record.phase = .leased(token: token, expiresAt: expiresAt)
            state.records[id] = record
            effects.wake(at: expiresAt)
            return Lease(
                correlationID: id, attempt: lease.attempt, token: lease.token,
                expiresAt: Date(timeIntervalSinceNow: configuration.leaseDuration.inSeconds))
        }
    }

    /// Gives a delivery back for a later attempt. See ``QueueBackend/release(_:retryAfter:reason:)``.
    /// - Throws: ``CourierError`` with code `leaseLost` or `shutDown`.
    public func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws {
        try mutate { state, now, effects in
            try state.checkOpen()
            if state.storedResponse(lease.correlationID, now: now) != nil { return }
            _ = try state.currentRecord(for: lease)
            state.requeue(
                lease.correlationID, after: retryAfter, reason: reason ?? "released by its consumer", now: now,
                effects: &effects)
        }
    }

    /// Gives a delivery back without spending its attempt. See ``QueueBackend/giveBack(_:)``.
    /// - Throws: ``CourierError`` with code `leaseLost` or `shutDown`.
    public func giveBack(_ lease: Lease) async throws {
        try await giveBack(lease, after: .zero)
    }

    /// Gives a delivery back without spending its attempt, pending again after `delay`. See
    /// ``QueueBackend/giveBack(_:after:)``.
    /// - Throws: ``CourierError`` with code `leaseLost` or `shutDown`.
    public func giveBack(_ lease: Lease, after delay: Duration) async throws {
        try mutate { state, now, effects in
            try state.checkOpen()
            if state.storedResponse(lease.correlationID, now: now) != nil { return }
            guard case .leased = try state.currentRecord(for: lease).phase else {
                throw CourierError(
                    .leaseLost, "the lease on \(lease.correlationID) (attempt \(lease.attempt)) was lost")
            }
            state.putBack(lease.correlationID, after: delay, now: now, effects: &effects)
        }
    }

    // MARK: Responses

    /// Stores a response, first one wins. See ``QueueBackend/publishResponse(_:settling:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `payloadTooLarge` or `shutDown`.
    @discardableResult
    public func publishResponse(
        _ response: QueueResponse, settling lease: Lease?
    ) async throws
        -> PublishResponseResult
    {
        try configuration.checkPayloadSize(response.payload.count, of: "the response payload")
        return try mutate { state, now, effects in
            try state.checkOpen()
            if let existing = state.storedResponse(response.correlationID, now: now) {
                return .alreadyAnswered(existing: existing)
            }
            if let lease { _ = try state.currentRecord(for: lease) }
            state.store(response, now: now, effects: &effects)
            return .stored
        }
    }

    /// Returns the stored response, if any. See ``QueueBackend/getResponse(for:)``.
    /// - Throws: ``CourierError`` with code `shutDown`.
    public func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse? {
        try mutate { state, now, _ in
            try state.checkOpen()
            return state.storedResponse(correlationID, now: now)
        }
    }

    /// Waits for the response to an id. See ``QueueBackend/subscribe(to:timeout:)``.
    /// - Throws: ``CourierError`` with code `timedOut` or `shutDown`, or `CancellationError`.
    public func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        let token = waiterTokens.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<QueueResponse, any Error>) in
                mutate { state, now, effects in
                    let waiter = MemoryQueueState.Waiter(
                        continuation: continuation, deadline: now.advanced(by: timeout), timeout: timeout)
                    if let response = state.storedResponse(correlationID, now: now) {
                        effects.answer(waiter, with: .success(response))
                    } else if state.isShutDown {
                        effects.answer(
                            waiter, with: .failure(CourierError(.shutDown, "the memory queue was shut down")))
                    } else if Task.isCancelled {
                        effects.answer(waiter, with: .failure(CancellationError()))
                    } else {
                        state.waiters[correlationID, default: [:]][token] = waiter
                        effects.wake(at: waiter.deadline)
                    }
                }
            }
        } onCancel: {
            removeWaiter(correlationID, token: token, error: CancellationError())
        }
    }

    private func removeWaiter(_ id: CorrelationID, token: UInt64, error: any Error) {
        mutate { state, _, effects in
            guard let waiter = state.waiters[id]?.removeValue(forKey: token) else { return }
            if state.waiters[id]?.isEmpty == true { state.waiters[id] = nil }
            effects.answer(waiter, with: .failure(error))
        }
    }

    // MARK: Status and cancel

    /// Reports a request's state. See ``QueueBackend/status(of:)``.
    /// - Throws: ``CourierError`` with code `shutDown`.
    public func status(of correlationID: CorrelationID) async throws -> RequestState {
        try mutate { state, now, _ in
            try state.checkOpen()
            if let record = state.records[correlationID] {
                if case .leased = record.phase { return .running(attempt: record.attempt) }
                return .pending(attempt: record.attempt)
            }
            if let response = state.storedResponse(correlationID, now: now) { return .finished(response.status) }
            return .unknown
        }
    }

    /// Reports a request's state, progress and times. See ``QueueBackend/statusReport(of:)``.
    /// - Throws: ``CourierError`` with code `shutDown`.
    public func statusReport(of correlationID: CorrelationID) async throws -> RequestStatusReport {
        try mutate { state, now, _ in
            try state.checkOpen()
            return state.report(of: correlationID, now: now)
        }
    }

    /// Cancels a request without a response. See ``QueueBackend/cancel(_:)``.
    /// - Throws: ``CourierError`` with code `notFound`, `alreadyFinished` or `shutDown`.
    @discardableResult
    public func cancel(_ correlationID: CorrelationID) async throws -> CancelResult {
        try mutate { state, now, effects in
            try state.checkOpen()
            if state.storedResponse(correlationID, now: now) != nil {
                throw CourierError(.alreadyFinished, "request \(correlationID) already has a response")
            }
            guard let record = state.records[correlationID] else {
                throw CourierError(.notFound, "no request with correlation id \(correlationID)")
            }
            state.store(.failure(correlationID, status: .cancelled, error: "cancelled"), now: now, effects: &effects)
            if case .leased = record.phase { return .cancelledRunning }
            return .removedPending
        }
    }

    // MARK: Lifecycle

    /// Ends every consumer stream, fails every waiter with `shutDown` and stops the timer. Idempotent.
    public func shutdown() async {
        mutate { state, _, effects in
            guard !state.isShutDown else { return }
            state.isShutDown = true
            if let timer = state.timer { timeouts.cancel(timer) }
            state.timer = nil
            while let consumer = state.consumers.popFirst() { effects.deliveries.append((consumer, nil)) }
            let error = CourierError(.shutDown, "the memory queue '\(configuration.queueName)' was shut down")
            for waiter in state.waiters.values.flatMap(\.values) { effects.answer(waiter, with: .failure(error)) }
            state.waiters = [:]
            for waiter in state.eventWaiters.values.flatMap(\.values) {
                effects.eventWakeups.append((waiter, .failure(error)))
            }
            state.eventWaiters = [:]
        }
    }

    /// Counts of what the queue currently holds, for leak checks in tests and for diagnostics.
    public struct Diagnostics: Sendable, Hashable {
        /// Tasks waiting in ``subscribe(to:timeout:)``.
        public var waiters: Int
        /// Consumers waiting for a request.
        public var idleConsumers: Int
        /// Requests pending or leased.
        public var requests: Int
        /// Requests currently leased.
        public var leased: Int
        /// Responses stored (including any not yet swept after their TTL).
        public var responses: Int
    }

    /// Returns counts of what the queue currently holds.
    public func diagnostics() -> Diagnostics {
        state.withLock {
            Diagnostics(
                waiters: $0.waiters.values.reduce(0) { $0 + $1.count }, idleConsumers: $0.consumers.count,
                requests: $0.records.count, leased: $0.leasedIDs.count, responses: $0.responses.count)
        }
    }

    // MARK: Locking and time

    /// Runs `body` under the lock, then reschedules the timer if something became due sooner, then resumes
    /// whatever continuations `body` collected, outside the lock.
    func mutate<Result>(
        _ body: (inout MemoryQueueState, ContinuousClock.Instant, inout MemoryQueueEffects) throws -> Result
    ) rethrows -> Result {
        var effects = MemoryQueueEffects()
        defer {
            for timer in effects.cancelledTimers { timeouts.cancel(timer) }
            effects.run()
        }
        let now = ContinuousClock.now
        return try state.withLock { state in
            defer {
                if let wake = effects.earliestWake, !state.isShutDown { schedule(&state, at: wake) }
            }
            return try body(&state, now, &effects)
        }
    }

    private func schedule(_ state: inout MemoryQueueState, at wake: ContinuousClock.Instant) {
        if let current = state.timerDeadline, current <= wake { return }
        state.timerDeadline = wake
        if let timer = state.timer { timeouts.cancel(timer) }
        state.timer = timeouts.schedule(after: ContinuousClock.now.duration(to: wake)) { [weak self] in self?.fire() }
    }

    private func fire() {
        mutate { state, now, effects in
            state.timerDeadline = nil
            state.timer = nil
            state.expire(now: now, effects: &effects)
            if let next = state.nextDeadline() { effects.wake(at: next) }
        }
    }
}
