import CoreMetrics
import Foundation
import Synchronization

/// The metrics Courier records for one queue, through swift-metrics.
///
/// Names and labels (documented in `docs/operations.md`); every series carries `queue`, and request series
/// carry the request's `stage` and `model` headers when present (cut to 64 characters). Correlation ids are
/// never labels.
///
/// | name | kind | extra labels |
/// |---|---|---|
/// | `courier_requests_submitted_total` | counter | `stage`, `model` |
/// | `courier_requests_finished_total` | counter | `status` (`completed`, `failed`, `cancelled`, `deadLettered`, …), `stage`, `model` |
/// | `courier_requests_retried_total` | counter | `stage`, `model` |
/// | `courier_requests_in_flight` | gauge | — |
/// | `courier_queue_depth` | gauge (sampled) | — |
/// | `courier_request_duration_seconds` | timer: submit to response stored | `status` |
/// | `courier_queue_wait_seconds` | timer: submit to claim | — |
/// | `courier_handler_duration_seconds` | timer: claim to settle | `status` |
///
/// Safe to use from any number of tasks.
public final class QueueMetrics: Sendable {
    /// The queue the metrics are labelled with.
    public let queueName: String
    private let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let inFlightGauge: Gauge
    private let depthGauge: Gauge

    /// Creates the metrics of a queue.
    /// - Parameters:
    ///   - queueName: The `queue` label.
    ///   - factory: Where metrics go; the bootstrapped `MetricsSystem.factory` by default.
    public init(queueName: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.queueName = queueName
        self.factory = factory
        inFlightGauge = Gauge(label: "courier_requests_in_flight", dimensions: [("queue", queueName)], factory: factory)
        depthGauge = Gauge(label: "courier_queue_depth", dimensions: [("queue", queueName)], factory: factory)
    }

    /// The `stage` and `model` labels of a request, taken from its headers.
    public struct RequestLabels: Sendable, Hashable {
        /// The `stage` header, cut to 64 characters, or `nil`.
        public var stage: String?
        /// The `model` header, cut to 64 characters, or `nil`.
        public var model: String?

        /// Reads the labels from request headers.
        public init(headers: [String: String]) {
            stage = headers["stage"].map { String($0.prefix(64)) }
            model = headers["model"].map { String($0.prefix(64)) }
        }
    }

    /// Counts a published request.
    public func recordSubmitted(_ labels: RequestLabels) {
        counter("courier_requests_submitted_total", status: nil, labels).increment()
    }

    /// Counts a request that ended with `status` (a stored response).
    public func recordFinished(_ status: ResponseStatus, _ labels: RequestLabels) {
        counter("courier_requests_finished_total", status: status.rawValue, labels).increment()
    }

    /// Counts a delivery released for another attempt.
    public func recordRetried(_ labels: RequestLabels) {
        counter("courier_requests_retried_total", status: nil, labels).increment()
    }

    /// Sets the number of requests claimed and not yet settled by this process.
    public func recordInFlight(_ count: Int) { inFlightGauge.record(count) }

    /// Sets the sampled number of pending requests.
    public func recordDepth(_ count: Int) { depthGauge.record(count) }

    /// Records the time from submit to a stored response.
    public func recordEndToEnd(seconds: Double, status: ResponseStatus) {
        timer("courier_request_duration_seconds", status: status.rawValue).recordSeconds(max(0, seconds))
    }

    /// Records the time a request waited in the queue before it was claimed.
    public func recordQueueWait(seconds: Double) {
        timer("courier_queue_wait_seconds", status: nil).recordSeconds(max(0, seconds))
    }

    /// Records the time from claim to settle.
    public func recordHandler(_ duration: Duration, status: ResponseStatus) {
        let (seconds, attoseconds) = duration.components
        timer("courier_handler_duration_seconds", status: status.rawValue)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    private func counter(_ label: String, status: String?, _ labels: RequestLabels) -> Counter {
        let key = "\(label)|\(status ?? "")|\(labels.stage ?? "")|\(labels.model ?? "")"
        if let existing = counters.withLock({ $0[key] }) { return existing }
        var dimensions = [("queue", queueName)]
        if let status { dimensions.append(("status", status)) }
        if let stage = labels.stage { dimensions.append(("stage", stage)) }
        if let model = labels.model { dimensions.append(("model", model)) }
        let made = Counter(label: label, dimensions: dimensions, factory: factory)
        return counters.withLock { counters in
            if let raced = counters[key] { return raced }
            counters[key] = made
            return made
        }
    }

    private func timer(_ label: String, status: String?) -> CoreMetrics.Timer {
        let key = "\(label)|\(status ?? "")"
        if let existing = timers.withLock({ $0[key] }) { return existing }
        var dimensions = [("queue", queueName)]
        if let status { dimensions.append(("status", status)) }
        let made = CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory)
        return timers.withLock { timers in
            if let raced = timers[key] { return raced }
            timers[key] = made
            return made
        }
    }
}
