import Courier
import Foundation
import Synchronization

/// The backend a case works with: the adapter's own, with every call it has in flight written down (so that a
/// case that runs out of time can say which operation never returned) and held to the time the contract allows.
///
/// A call that promises not to wait (everything but the delivery stream and `subscribe`) must return within
/// ``callBound``; `subscribe(to:timeout:)` must return within its timeout plus ``slack``. A call past its bound
/// fails the case at once, naming the call, and is abandoned.
final class WatchedBackend: QueueBackend {
    let base: any QueueBackend
    /// The longest a call that does not wait may take: a store round trip on a slow machine.
    let callBound: Duration
    /// How late a timed wait may return: the machine's allowance, not a promise of the contract.
    let slack: Duration
    private let calls: Mutex<(next: Int, running: [Int: (what: String, since: ContinuousClock.Instant)])>

    init(_ base: any QueueBackend, timing: ConformanceTiming) {
        self.base = base
        self.slack = timing.scaled(timing.wakeBound) + timing.machineAllowance
        self.callBound = max(timing.scaled(timing.lease * 2), .seconds(5))
        self.calls = Mutex((0, [:]))
    }

    /// The calls that have not returned, oldest first, as `subscribe(to: x) (running 2.1 s)`.
    var callsInFlight: [String] {
        let now = ContinuousClock.now
        return calls.withLock { $0.running.values.sorted { $0.since < $1.since } }.map {
            "\($0.what) (running \(String(format: "%.1f", (now - $0.since).inSeconds)) s)"
        }
    }

    private func watch<T>(_ what: @autoclosure () -> String, _ operation: () async throws -> T) async rethrows -> T {
        let key = calls.withLock { state in
            state.next += 1
            state.running[state.next] = (what(), .now)
            return state.next
        }
        defer { _ = calls.withLock { $0.running.removeValue(forKey: key) } }
        return try await operation()
    }

    /// Runs `operation`, failing (and abandoning it) when it has not returned within `bound`.
    private func bounded<T: Sendable>(
        _ what: String, _ bound: Duration, promise: String = "the contract says it does not wait",
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await watch(what) {
            switch await Deadline.race(bound, operation) {
            case .finished(let result): return try result.get()
            case .expired:
                throw ConformanceFailure(
                    rule: "call bounds", "\(what) did not return within \(bound); \(promise)")
            }
        }
    }

    var capabilities: QueueCapabilities { base.capabilities }
    var configuration: QueueConfiguration { base.configuration }

    func publishRequest(_ request: QueueRequest) async throws {
        try await bounded("publishRequest(\(request.correlationID))", callBound) { [base] in
            try await base.publishRequest(request)
        }
    }

    func consumeRequests() -> DeliverySequence {
        let sequence = base.consumeRequests()
        return DeliverySequence { [self] in
            try await watch("the delivery stream's next()") {
                // A base iterator is only a handle on the adapter's claim: a fresh one per call is the same consumer.
                var iterator = sequence.makeAsyncIterator()
                return try await iterator.next()
            }
        }
    }

    func publishResponse(_ response: QueueResponse, settling lease: Lease?) async throws -> PublishResponseResult {
        try await bounded("publishResponse(\(response.correlationID), \(response.status))", callBound) { [base] in
            try await base.publishResponse(response, settling: lease)
        }
    }

    func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse? {
        try await bounded("getResponse(for: \(correlationID))", callBound) { [base] in
            try await base.getResponse(for: correlationID)
        }
    }

    func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        try await bounded(
            "subscribe(to: \(correlationID), timeout: \(timeout))", timeout + slack,
            promise: "a wait ends by its timeout (plus \(slack) for a slow machine)"
        ) { [base] in
            try await base.subscribe(to: correlationID, timeout: timeout)
        }
    }

    // The adapter's own, not the protocol's defaults: an override is what G10 and G11 certify.
    func subscribeWithStatusReport(to correlationID: CorrelationID, timeout: Duration) async throws -> FinishedRequest {
        try await bounded(
            "subscribeWithStatusReport(to: \(correlationID), timeout: \(timeout))", timeout + slack + callBound,
            promise: "a wait ends by its timeout (plus \(slack) for a slow machine and one call for the report)"
        ) { [base] in
            try await base.subscribeWithStatusReport(to: correlationID, timeout: timeout)
        }
    }

    func publishRequestAndWait(_ request: QueueRequest, timeout: Duration) async throws -> FinishedRequest {
        try await bounded(
            "publishRequestAndWait(\(request.correlationID), timeout: \(timeout))", timeout + slack + callBound * 2,
            promise: "a wait ends by its timeout (plus \(slack) for a slow machine and a call each for the publish "
                + "and the report)"
        ) { [base] in
            try await base.publishRequestAndWait(request, timeout: timeout)
        }
    }

    func appendEvents(_ events: [RequestEvent], holding lease: Lease) async throws -> UInt64 {
        try await bounded("appendEvents(\(events.count) to \(lease.correlationID))", callBound) { [base] in
            try await base.appendEvents(events, holding: lease)
        }
    }

    func readEvents(
        of correlationID: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws
        -> RequestEventPage?
    {
        try await bounded("readEvents(of: \(correlationID), after: \(sequence))", callBound) { [base] in
            try await base.readEvents(of: correlationID, after: sequence, limit: limit)
        }
    }

    func waitForEvents(
        of correlationID: CorrelationID, after sequence: UInt64, timeout: Duration
    ) async throws
        -> Bool
    {
        try await bounded(
            "waitForEvents(of: \(correlationID), after: \(sequence), timeout: \(timeout))", timeout + slack,
            promise: "a wait ends by its timeout (plus \(slack) for a slow machine)"
        ) { [base] in
            try await base.waitForEvents(of: correlationID, after: sequence, timeout: timeout)
        }
    }

    func status(of correlationID: CorrelationID) async throws -> RequestState {
        try await bounded("status(of: \(correlationID))", callBound) { [base] in
            try await base.status(of: correlationID)
        }
    }

    func requestCounts() async throws -> RequestCounts {
        try await bounded("requestCounts()", callBound) { [base] in try await base.requestCounts() }
    }

    func recentRequests(limit: Int, matching filter: RequestStateFilter) async throws -> [RequestSummary] {
        try await bounded("recentRequests(limit: \(limit), matching: \(filter))", callBound) { [base] in
            try await base.recentRequests(limit: limit, matching: filter)
        }
    }

    func statusReport(of correlationID: CorrelationID) async throws -> RequestStatusReport {
        try await bounded("statusReport(of: \(correlationID))", callBound) { [base] in
            try await base.statusReport(of: correlationID)
        }
    }

    func cancel(_ correlationID: CorrelationID) async throws -> CancelResult {
        try await bounded("cancel(\(correlationID))", callBound) { [base] in try await base.cancel(correlationID) }
    }

    func extendLease(_ lease: Lease) async throws -> Lease {
        try await bounded("extendLease(\(lease.correlationID))", callBound) { [base] in
            try await base.extendLease(lease)
        }
    }

    func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws {
        try await bounded("release(\(lease.correlationID))", callBound) { [base] in
            try await base.release(lease, retryAfter: retryAfter, reason: reason)
        }
    }

    func giveBack(_ lease: Lease) async throws {
        try await bounded("giveBack(\(lease.correlationID))", callBound) { [base] in try await base.giveBack(lease) }
    }

    func giveBack(_ lease: Lease, after delay: Duration) async throws {
        try await bounded("giveBack(\(lease.correlationID), after: \(delay))", callBound) { [base] in
            try await base.giveBack(lease, after: delay)
        }
    }

    func shutdown() async {
        await watch("shutdown()") { await base.shutdown() }
    }
}
