import Courier
import Foundation
import Synchronization

/// The backend a case works with: the adapter's own, with every call it has in flight written down, so that a
/// case that runs out of time can say which operation never returned.
final class WatchedBackend: QueueBackend {
    let base: any QueueBackend
    private let calls: Mutex<(next: Int, running: [Int: (what: String, since: ContinuousClock.Instant)])>

    init(_ base: any QueueBackend) {
        self.base = base
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

    var capabilities: QueueCapabilities { base.capabilities }
    var configuration: QueueConfiguration { base.configuration }

    func publishRequest(_ request: QueueRequest) async throws {
        try await watch("publishRequest(\(request.correlationID))") { try await base.publishRequest(request) }
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
        try await watch("publishResponse(\(response.correlationID), \(response.status))") {
            try await base.publishResponse(response, settling: lease)
        }
    }

    func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse? {
        try await watch("getResponse(for: \(correlationID))") { try await base.getResponse(for: correlationID) }
    }

    func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        try await watch("subscribe(to: \(correlationID), timeout: \(timeout))") {
            try await base.subscribe(to: correlationID, timeout: timeout)
        }
    }

    func status(of correlationID: CorrelationID) async throws -> RequestState {
        try await watch("status(of: \(correlationID))") { try await base.status(of: correlationID) }
    }

    func cancel(_ correlationID: CorrelationID) async throws -> CancelResult {
        try await watch("cancel(\(correlationID))") { try await base.cancel(correlationID) }
    }

    func extendLease(_ lease: Lease) async throws -> Lease {
        try await watch("extendLease(\(lease.correlationID))") { try await base.extendLease(lease) }
    }

    func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws {
        try await watch("release(\(lease.correlationID))") {
            try await base.release(lease, retryAfter: retryAfter, reason: reason)
        }
    }

    func giveBack(_ lease: Lease) async throws {
        try await watch("giveBack(\(lease.correlationID))") { try await base.giveBack(lease) }
    }

    func shutdown() async {
        await watch("shutdown()") { await base.shutdown() }
    }
}
