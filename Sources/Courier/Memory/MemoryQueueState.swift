import DequeModule
import Foundation

/// Everything a ``MemoryQueueBackend`` knows, guarded by its lock. All methods run under that lock and never
/// resume a continuation: they collect resumptions in ``MemoryQueueEffects`` to run after the lock is released.
struct MemoryQueueState {
    typealias Instant = ContinuousClock.Instant

    enum Phase {
        case ready
        case delayed(until: Instant)
        case leased(token: UInt64, expiresAt: Instant)
    }

    struct Record {
        var request: QueueRequest
        /// The attempt number of the current (leased) or next delivery.
        var attempt: Int
        var phase: Phase
        /// Identifies this publication in ``readyQueue`` entries.
        var sequence: UInt64
        var deadline: Instant?
        /// The token of the most recent delivery, kept after expiry until the next claim.
        var lastToken: UInt64?
        /// The request's streamed events (the first is written by its first claim).
        var events: MemoryEventLog?
        var timeline: MemoryRequestTimeline
    }

    struct StoredResponse {
        var response: QueueResponse
        var expiresAt: Instant
        /// The events of the request, kept with its response until the response expires.
        var events: MemoryEventLog?
        /// The request's timeline, finished; `nil` for a response stored without a request.
        var timeline: MemoryRequestTimeline?
    }

    struct Waiter {
        var continuation: CheckedContinuation<QueueResponse, any Error>
        var deadline: Instant
        var timeout: Duration
    }

    let configuration: QueueConfiguration
    var records: [CorrelationID: Record] = [:]
    var readyQueue: Deque<(id: CorrelationID, sequence: UInt64)> = []
    var leasedIDs: Set<CorrelationID> = []
    var delayedIDs: Set<CorrelationID> = []
    var deadlineIDs: Set<CorrelationID> = []
    var responses: [CorrelationID: StoredResponse] = [:]
    var expiryQueue: Deque<(expiresAt: Instant, id: CorrelationID)> = []
    /// The newest published ids, newest last, at most ``RequestSummary/listingLimit``.
    var recentIDs: Deque<CorrelationID> = []
    /// The stored responses by status, kept as they are stored and expire.
    var finishedCounts: [ResponseStatus: Int] = [:]
    var consumers = WaitQueue<CheckedContinuation<Delivery?, Never>>()
    var waiters: [CorrelationID: [UInt64: Waiter]] = [:]
    var eventWaiters: [CorrelationID: [UInt64: MemoryEventWaiter]] = [:]
    var nextToken: UInt64 = 1
    var isShutDown = false
    var timerDeadline: Instant?
    var timer: TimeoutScheduler.Token?

    init(configuration: QueueConfiguration) { self.configuration = configuration }

    mutating func makeToken() -> UInt64 {
        defer { nextToken &+= 1 }
        return nextToken
    }

    func checkOpen() throws(CourierError) {
        if isShutDown { throw CourierError(.shutDown, "the memory queue '\(configuration.queueName)' was shut down") }
    }

    func storedResponse(_ id: CorrelationID, now: Instant) -> QueueResponse? {
        guard let stored = responses[id], stored.expiresAt > now else { return nil }
        return stored.response
    }

    // MARK: Requests

    mutating func enqueue(_ request: QueueRequest, now: Instant, effects: inout MemoryQueueEffects) {
        let sequence = makeToken()
        var deadline: Instant?
        if let date = request.deadline {
            deadline = now.advanced(by: .seconds(date.timeIntervalSinceNow))
            deadlineIDs.insert(request.correlationID)
        }
        records[request.correlationID] = Record(
            request: request, attempt: 1, phase: .ready, sequence: sequence, deadline: deadline,
            timeline: MemoryRequestTimeline(submittedAt: Date(), fingerprint: request.fingerprint))
        readyQueue.append((request.correlationID, sequence))
        recentIDs.append(request.correlationID)
        if recentIDs.count > RequestSummary.listingLimit { recentIDs.removeFirst() }
        if let deadline { effects.wake(at: deadline) }
        dispatch(now: now, effects: &effects)
    }

    /// Pairs waiting consumers with ready requests.
    mutating func dispatch(now: Instant, effects: inout MemoryQueueEffects) {
        while !consumers.isEmpty, let delivery = claim(now: now, effects: &effects) {
            effects.deliveries.append((consumers.popFirst()!, delivery))
        }
    }

    /// Leases the oldest ready request, timing out any whose deadline passed.
    mutating func claim(now: Instant, effects: inout MemoryQueueEffects) -> Delivery? {
        while let (id, sequence) = readyQueue.popFirst() {
            guard var record = records[id], record.sequence == sequence, case .ready = record.phase else { continue }
            if let deadline = record.deadline, deadline <= now {
                store(
                    .failure(id, status: .timedOut, error: "the request's deadline passed before a worker took it"),
                    now: now, effects: &effects)
                continue
            }
            let token = makeToken()
            let expiresAt = now.advanced(by: configuration.leaseDuration)
            record.phase = .leased(token: token, expiresAt: expiresAt)
            record.lastToken = token
            record.timeline.started(attempt: record.attempt, at: Date())
            records[id] = record
            leasedIDs.insert(id)
            deadlineIDs.remove(id)
            effects.wake(at: expiresAt)
            let lease = Lease(
                correlationID: id, attempt: record.attempt, token: String(token),
                expiresAt: Date(timeIntervalSinceNow: configuration.leaseDuration.inSeconds))
            return Delivery(request: record.request, lease: lease, maxAttempts: configuration.maxAttempts)
        }
        return nil
    }

    /// Puts a delivered request back for another attempt, or dead-letters it after the last one.
    mutating func requeue(
        _ id: CorrelationID, after delay: Duration, reason: String, now: Instant, effects: inout MemoryQueueEffects
    ) {
        guard var record = records[id] else { return }
        leasedIDs.remove(id)
        if record.attempt >= configuration.maxAttempts {
            let text = "dead-lettered after \(record.attempt) attempt(s): \(reason)"
            store(.failure(id, status: .deadLettered, error: text), now: now, effects: &effects)
            return
        }
        record.attempt += 1
        if delay > .zero {
            hold(record, until: now.advanced(by: delay), effects: &effects)
        } else {
            record.phase = .ready
            records[id] = record
            readyQueue.append((id, record.sequence))
            dispatch(now: now, effects: &effects)
        }
    }

    /// Puts a delivered request back with the same attempt number: at the head of the queue, or after `delay`.
    mutating func putBack(
        _ id: CorrelationID, after delay: Duration = .zero, now: Instant, effects: inout MemoryQueueEffects
    ) {
        guard var record = records[id] else { return }
        leasedIDs.remove(id)
        if delay > .zero {
            hold(record, until: now.advanced(by: delay), effects: &effects)
            return
        }
        record.phase = .ready
        records[id] = record
        readyQueue.prepend((id, record.sequence))
        dispatch(now: now, effects: &effects)
    }

    /// Keeps a request out of the queue until `until` (a retry delay, or a delayed give-back).
    private mutating func hold(_ record: Record, until: Instant, effects: inout MemoryQueueEffects) {
        var record = record
        record.phase = .delayed(until: until)
        delayedIDs.insert(record.request.correlationID)
        effects.wake(at: until)
        records[record.request.correlationID] = record
    }

    /// Checks that `lease` is the request's current delivery.
    func currentRecord(for lease: Lease) throws(CourierError) -> Record {
        guard let record = records[lease.correlationID], let token = UInt64(lease.token),
            record.lastToken == token
        else {
            throw CourierError(.leaseLost, "the lease on \(lease.correlationID) (attempt \(lease.attempt)) was lost")
        }
        return record
    }

    // MARK: Responses

    /// Stores a response (the caller checked none is stored), forgets the request and wakes every waiter.
    mutating func store(_ response: QueueResponse, now: Instant, effects: inout MemoryQueueEffects) {
        let id = response.correlationID
        let record = records.removeValue(forKey: id)
        var timeline = record?.timeline
        timeline?.finished(at: Date())
        leasedIDs.remove(id)
        delayedIDs.remove(id)
        deadlineIDs.remove(id)
        let expiresAt = now.advanced(by: configuration.responseTTL)
        if let replaced = responses[id] { uncount(replaced.response.status) }
        responses[id] = StoredResponse(
            response: response, expiresAt: expiresAt, events: record?.events, timeline: timeline)
        expiryQueue.append((expiresAt, id))
        finishedCounts[response.status, default: 0] += 1
        effects.wake(at: expiresAt)
        for waiter in (waiters.removeValue(forKey: id) ?? [:]).values {
            effects.answer(waiter, with: .success(response))
        }
        wakeEventWaiters(of: id, effects: &effects)
    }

    /// Takes an expired or replaced response out of ``finishedCounts``.
    private mutating func uncount(_ status: ResponseStatus) {
        let left = (finishedCounts[status] ?? 1) - 1
        finishedCounts[status] = left > 0 ? left : nil
    }

    // MARK: Events

    /// Appends to a running request's log (after an attempt boundary when this delivery had not appended yet)
    /// and wakes its event waiters.
    @discardableResult
    mutating func appendEvents(
        _ events: [RequestEvent], holding lease: Lease, effects: inout MemoryQueueEffects
    )
        -> UInt64
    {
        let id = lease.correlationID
        guard let record = records[id] else { return 0 }
        let log: MemoryEventLog
        if let existing = record.events {
            log = existing
        } else {
            log = MemoryEventLog()
            records[id]?.events = log
        }
        if !events.isEmpty && log.deliveryToken != lease.token {
            _ = log.append(.attemptStarted(attempt: lease.attempt), limit: configuration.maxEventsPerRequest)
            log.deliveryToken = lease.token
        }
        for event in events { _ = log.append(event, limit: configuration.maxEventsPerRequest) }
        if !events.isEmpty { log.updatedAt = Date().timeIntervalSinceReferenceDate }
        for case .progress(let value) in events.reversed() {
            log.progress = (value, lease.attempt)
            break
        }
        if !events.isEmpty { wakeEventWaiters(of: id, effects: &effects) }
        return log.lastSequence
    }

    /// A request's log, running or answered.
    func eventLog(_ id: CorrelationID, now: Instant) -> MemoryEventLog? {
        if let record = records[id] { return record.events ?? MemoryEventLog() }
        guard let stored = responses[id], stored.expiresAt > now else { return nil }
        return stored.events ?? MemoryEventLog()
    }

    mutating func wakeEventWaiters(of id: CorrelationID, effects: inout MemoryQueueEffects) {
        if eventWaiters.isEmpty { return }
        for waiter in (eventWaiters.removeValue(forKey: id) ?? [:]).values {
            effects.eventWakeups.append((waiter, .success(true)))
            if let timer = waiter.timer { effects.cancelledTimers.append(timer) }
        }
    }

    // MARK: Time

    /// Applies everything due by `now`: lease expiry, delayed retries, request deadlines and response TTLs.
    mutating func expire(now: Instant, effects: inout MemoryQueueEffects) {
        for id in leasedIDs {
            if case .leased(_, let expiresAt) = records[id]?.phase, expiresAt <= now {
                requeue(id, after: .zero, reason: "the lease expired", now: now, effects: &effects)
            }
        }
        for id in delayedIDs {
            guard var record = records[id], case .delayed(let until) = record.phase, until <= now else { continue }
            delayedIDs.remove(id)
            record.phase = .ready
            records[id] = record
            readyQueue.append((id, record.sequence))
        }
        for id in deadlineIDs {
            guard let record = records[id], let deadline = record.deadline, deadline <= now else { continue }
            if case .leased = record.phase { continue }
            store(
                .failure(id, status: .timedOut, error: "the request's deadline passed before a worker took it"),
                now: now, effects: &effects)
        }
        for (id, waitersOfID) in waiters {
            for (token, waiter) in waitersOfID where waiter.deadline <= now {
                waiters[id]?[token] = nil
                let error = CourierError(.timedOut, "no response to \(id) within \(waiter.timeout)")
                effects.answer(waiter, with: .failure(error))
            }
            if waiters[id]?.isEmpty == true { waiters[id] = nil }
        }
        while let first = expiryQueue.first, first.expiresAt <= now {
            expiryQueue.removeFirst()
            if let stored = responses[first.id], stored.expiresAt == first.expiresAt {
                responses[first.id] = nil
                uncount(stored.response.status)
            }
        }
        dispatch(now: now, effects: &effects)
    }

    /// The earliest time anything is due, if anything is.
    func nextDeadline() -> Instant? {
        var next = expiryQueue.first?.expiresAt
        func consider(_ instant: Instant?) {
            if let instant, next == nil || instant < next! { next = instant }
        }
        for id in leasedIDs {
            if case .leased(_, let expiresAt) = records[id]?.phase { consider(expiresAt) }
        }
        for id in delayedIDs {
            if case .delayed(let until) = records[id]?.phase { consider(until) }
        }
        for id in deadlineIDs { consider(records[id]?.deadline) }
        for waitersOfID in waiters.values {
            for waiter in waitersOfID.values { consider(waiter.deadline) }
        }
        return next
    }
}

/// Continuations to resume and timers to change once the lock is released.
struct MemoryQueueEffects {
    var deliveries: [(CheckedContinuation<Delivery?, Never>, Delivery?)] = []
    var answers: [(MemoryQueueState.Waiter, Result<QueueResponse, any Error>)] = []
    var eventWakeups: [(MemoryEventWaiter, Result<Bool, any Error>)] = []
    /// Timeouts of event waiters that were woken, to cancel once the lock is released.
    var cancelledTimers: [TimeoutScheduler.Token] = []
    var earliestWake: ContinuousClock.Instant?

    mutating func answer(_ waiter: MemoryQueueState.Waiter, with result: Result<QueueResponse, any Error>) {
        answers.append((waiter, result))
    }

    mutating func wake(at instant: ContinuousClock.Instant) {
        if earliestWake == nil || instant < earliestWake! { earliestWake = instant }
    }

    func run() {
        for (continuation, delivery) in deliveries { continuation.resume(returning: delivery) }
        for (waiter, result) in answers { waiter.continuation.resume(with: result) }
        for (waiter, result) in eventWakeups { waiter.continuation.resume(with: result) }
    }
}
