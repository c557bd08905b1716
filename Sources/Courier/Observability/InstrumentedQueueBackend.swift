import Foundation
import Synchronization
import Tracing

/// Wraps any ``QueueBackend`` and records metrics (``QueueMetrics``) and trace spans for what passes through it.
///
/// Spans: `courier.publish` (producer; its context is injected into the request headers), `courier.consume`
/// (consumer, a child of the publisher's span) and `courier.respond` (a child of the publisher's span too),
/// so a worker's spans continue the client's trace even across hosts. Wrap the worker's handler with
/// ``tracedHandler(_:)`` to add the `courier.handle` span around the handler itself.
///
/// Metrics are counted where this process sees them: a client process counts submissions and cancellations,
/// a worker process counts finished, retried and dead-lettered requests and its in-flight gauge. Outcomes
/// the store produces on its own (a lease that runs out on its last attempt, a deadline that passes while
/// pending) are not seen by any process and not counted here.
///
/// Semantics are exactly the wrapped backend's; errors pass through unchanged. Safe to use from any task.
public final class InstrumentedQueueBackend: QueueBackend {
    /// The backend doing the work.
    public let base: any QueueBackend
    /// Where the metrics go.
    public let metrics: QueueMetrics
    /// Where the spans go.
    public let tracer: any Tracer

    private struct Claim: Sendable {
        var labels: QueueMetrics.RequestLabels
        var createdAt: Date
        var claimedAt: ContinuousClock.Instant
        var context: ServiceContext
    }

    private let claims = Mutex<[CorrelationID: Claim]>([:])

    /// Wraps a backend.
    /// - Parameters:
    ///   - base: The backend to instrument.
    ///   - metrics: The metrics to record; by default through the bootstrapped `MetricsSystem`.
    ///   - tracer: The tracer; by default the bootstrapped `InstrumentationSystem.tracer`.
    public init(base: any QueueBackend, metrics: QueueMetrics? = nil, tracer: (any Tracer)? = nil) {
        self.base = base
        self.metrics = metrics ?? QueueMetrics(queueName: base.configuration.queueName)
        self.tracer = tracer ?? InstrumentationSystem.tracer
    }

    /// The wrapped backend's capabilities.
    public var capabilities: QueueCapabilities { base.capabilities }
    /// The wrapped backend's configuration.
    public var configuration: QueueConfiguration { base.configuration }

    /// Publishes inside a `courier.publish` span whose context is injected into the request's headers.
    /// - Throws: As the wrapped ``QueueBackend/publishRequest(_:)``.
    public func publishRequest(_ request: QueueRequest) async throws {
        let (span, request) = startPublishSpan(request)
        defer { span.end() }
        do {
            try await base.publishRequest(request)
        } catch {
            span.recordError(error)
            throw error
        }
        metrics.recordSubmitted(QueueMetrics.RequestLabels(headers: request.headers))
    }

    /// Publishes and waits inside a `courier.publish` span (which lasts the wait) whose context is injected into the
    /// request's headers; the request counts as submitted once published, answered within the wait or not.
    /// - Throws: As the wrapped ``QueueBackend/publishRequestAndWait(_:timeout:)``.
    public func publishRequestAndWait(_ request: QueueRequest, timeout: Duration) async throws -> FinishedRequest {
        let (span, request) = startPublishSpan(request)
        defer { span.end() }
        let labels = QueueMetrics.RequestLabels(headers: request.headers)
        do {
            let finished = try await base.publishRequestAndWait(request, timeout: timeout)
            metrics.recordSubmitted(labels)
            return finished
        } catch let error as CourierError where error.code == .timedOut {
            metrics.recordSubmitted(labels)
            throw error
        } catch {
            span.recordError(error)
            throw error
        }
    }

    /// Starts a `courier.publish` span for `request` and returns it with the request carrying its context.
    private func startPublishSpan(_ request: QueueRequest) -> (any Span, QueueRequest) {
        let span = tracer.startSpan("courier.publish", context: ServiceContext.current ?? .topLevel, ofKind: .producer)
        span.attributes["courier.queue"] = configuration.queueName
        var request = request
        tracer.inject(span.context, into: &request.headers, using: RequestHeaderInjector())
        return (span, request)
    }

    /// The wrapped stream; each claim records the queue wait and a `courier.consume` span.
    public func consumeRequests() -> DeliverySequence {
        let sequence = base.consumeRequests()
        return DeliverySequence { [self] in
            var iterator = sequence.makeAsyncIterator()
            guard let delivery = try await iterator.next() else { return nil }
            claimed(delivery)
            return delivery
        }
    }

    private func claimed(_ delivery: Delivery) {
        let request = delivery.request
        let context = request.traceContext(using: tracer)
        let span = tracer.startSpan("courier.consume", context: context, ofKind: .consumer)
        span.attributes["courier.queue"] = configuration.queueName
        span.attributes["courier.attempt"] = delivery.attempt
        span.end()
        metrics.recordQueueWait(seconds: Date().timeIntervalSince(request.createdAt))
        let claim = Claim(
            labels: QueueMetrics.RequestLabels(headers: request.headers), createdAt: request.createdAt,
            claimedAt: .now, context: context)
        let count = claims.withLock { claims in
            claims[request.correlationID] = claim
            return claims.count
        }
        metrics.recordInFlight(count)
    }

    private func settled(_ id: CorrelationID) -> Claim? {
        let (claim, count) = claims.withLock { claims in (claims.removeValue(forKey: id), claims.count) }
        if claim != nil { metrics.recordInFlight(count) }
        return claim
    }

    /// Stores a response inside a `courier.respond` span and counts the request as finished.
    /// - Throws: As the wrapped ``QueueBackend/publishResponse(_:settling:)``.
    @discardableResult
    public func publishResponse(_ response: QueueResponse, settling lease: Lease?) async throws -> PublishResponseResult
    {
        let claim = claims.withLock { $0[response.correlationID] }
        let span = tracer.startSpan(
            "courier.respond", context: claim?.context ?? ServiceContext.current ?? .topLevel, ofKind: .producer)
        defer { span.end() }
        span.attributes["courier.status"] = response.status.rawValue
        let result: PublishResponseResult
        do {
            result = try await base.publishResponse(response, settling: lease)
        } catch {
            span.recordError(error)
            if lease != nil { _ = settled(response.correlationID) }
            throw error
        }
        let finished = settled(response.correlationID) ?? claim
        if case .stored = result {
            let labels = finished?.labels ?? QueueMetrics.RequestLabels(headers: [:])
            metrics.recordFinished(response.status, labels)
            if let finished {
                metrics.recordEndToEnd(
                    seconds: response.finishedAt.timeIntervalSince(finished.createdAt), status: response.status)
                metrics.recordHandler(.now - finished.claimedAt, status: response.status)
            }
        }
        return result
    }

    /// Passes through. See ``QueueBackend/getResponse(for:)``.
    /// - Throws: As the wrapped backend.
    public func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse? {
        try await base.getResponse(for: correlationID)
    }

    /// Passes through. See ``QueueBackend/subscribe(to:timeout:)``.
    /// - Throws: As the wrapped backend.
    public func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        try await base.subscribe(to: correlationID, timeout: timeout)
    }

    /// Passes through. See ``QueueBackend/subscribeWithStatusReport(to:timeout:)``.
    /// - Throws: As the wrapped backend.
    public func subscribeWithStatusReport(
        to correlationID: CorrelationID, timeout: Duration
    ) async throws -> FinishedRequest {
        try await base.subscribeWithStatusReport(to: correlationID, timeout: timeout)
    }

    /// Passes through. See ``QueueBackend/appendEvents(_:holding:)``.
    /// - Throws: As the wrapped backend.
    @discardableResult
    public func appendEvents(_ events: [RequestEvent], holding lease: Lease) async throws -> UInt64 {
        try await base.appendEvents(events, holding: lease)
    }

    /// Passes through. See ``QueueBackend/readEvents(of:after:limit:)``.
    /// - Throws: As the wrapped backend.
    public func readEvents(
        of correlationID: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws
        -> RequestEventPage?
    {
        try await base.readEvents(of: correlationID, after: sequence, limit: limit)
    }

    /// Passes through. See ``QueueBackend/waitForEvents(of:after:timeout:)``.
    /// - Throws: As the wrapped backend.
    public func waitForEvents(
        of correlationID: CorrelationID, after sequence: UInt64, timeout: Duration
    )
        async throws -> Bool
    {
        try await base.waitForEvents(of: correlationID, after: sequence, timeout: timeout)
    }

    /// Passes through. See ``QueueBackend/requestCounts()``.
    public func requestCounts() async throws -> RequestCounts { try await base.requestCounts() }

    /// Passes through. See ``QueueBackend/recentRequests(limit:matching:)``.
    public func recentRequests(limit: Int, matching filter: RequestStateFilter) async throws -> [RequestSummary] {
        try await base.recentRequests(limit: limit, matching: filter)
    }

    /// Passes through. See ``QueueBackend/status(of:)``.
    /// - Throws: As the wrapped backend.
    public func status(of correlationID: CorrelationID) async throws -> RequestState {
        try await base.status(of: correlationID)
    }

    /// Passes through. See ``QueueBackend/statusReport(of:)``.
    /// - Throws: As the wrapped backend.
    public func statusReport(of correlationID: CorrelationID) async throws -> RequestStatusReport {
        try await base.statusReport(of: correlationID)
    }

    /// Cancels and counts the request as finished with status `cancelled`.
    /// - Throws: As the wrapped ``QueueBackend/cancel(_:)``.
    @discardableResult
    public func cancel(_ correlationID: CorrelationID) async throws -> CancelResult {
        let result = try await base.cancel(correlationID)
        let labels = claims.withLock { $0[correlationID]?.labels } ?? QueueMetrics.RequestLabels(headers: [:])
        metrics.recordFinished(.cancelled, labels)
        return result
    }

    /// Extends a lease; a lease that ended stops counting as in flight.
    /// - Throws: As the wrapped ``QueueBackend/extendLease(_:)``.
    public func extendLease(_ lease: Lease) async throws -> Lease {
        do {
            return try await base.extendLease(lease)
        } catch let error as CourierError where error.code == .leaseLost || error.code == .requestCancelled {
            _ = settled(lease.correlationID)
            throw error
        }
    }

    /// Gives a delivery back without spending its attempt; nothing is counted (the request is neither retried
    /// nor finished).
    /// - Throws: As the wrapped ``QueueBackend/giveBack(_:)``.
    public func giveBack(_ lease: Lease) async throws {
        defer { _ = settled(lease.correlationID) }
        try await base.giveBack(lease)
    }

    /// Gives a delivery back after a delay without spending its attempt; nothing is counted.
    /// - Throws: As the wrapped ``QueueBackend/giveBack(_:after:)``.
    public func giveBack(_ lease: Lease, after delay: Duration) async throws {
        defer { _ = settled(lease.correlationID) }
        try await base.giveBack(lease, after: delay)
    }

    /// Releases a delivery and counts a retry, or a dead letter when it was the last attempt.
    /// - Throws: As the wrapped ``QueueBackend/release(_:retryAfter:reason:)``.
    public func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws {
        do {
            try await base.release(lease, retryAfter: retryAfter, reason: reason)
        } catch {
            _ = settled(lease.correlationID)
            throw error
        }
        let labels = settled(lease.correlationID)?.labels ?? QueueMetrics.RequestLabels(headers: [:])
        if lease.attempt >= configuration.maxAttempts {
            metrics.recordFinished(.deadLettered, labels)
        } else {
            metrics.recordRetried(labels)
        }
    }

    /// Samples the wrapped backend's queue depth into `courier_queue_depth` when it adopts
    /// ``QueueDepthReporting``; does nothing otherwise. Errors are ignored (the gauge keeps its last value).
    public func sampleQueueDepth() async {
        guard let reporting = base as? any QueueDepthReporting else { return }
        if let count = try? await reporting.pendingRequestCount() { metrics.recordDepth(count) }
    }

    /// Shuts the wrapped backend down.
    public func shutdown() async {
        await base.shutdown()
    }

    /// Wraps a worker handler in a `courier.handle` span that continues the publisher's trace (extracted from
    /// the request headers); the handler runs with that span's context as `ServiceContext.current`.
    public func tracedHandler(_ handler: @escaping Worker.Handler) -> Worker.Handler {
        let tracer = self.tracer
        let queueName = configuration.queueName
        return { request in
            try await tracer.withSpan(
                "courier.handle", context: request.traceContext(using: tracer), ofKind: .internal
            ) { span in
                span.attributes["courier.queue"] = queueName
                return try await handler(request)
            }
        }
    }

    /// Wraps a streaming handler in the same `courier.handle` span.
    public func tracedHandler(_ handler: @escaping Worker.StreamingHandler) -> Worker.StreamingHandler {
        let tracer = self.tracer
        let queueName = configuration.queueName
        return { request, events in
            try await tracer.withSpan(
                "courier.handle", context: request.traceContext(using: tracer), ofKind: .internal
            ) { span in
                span.attributes["courier.queue"] = queueName
                return try await handler(request, events)
            }
        }
    }
}
