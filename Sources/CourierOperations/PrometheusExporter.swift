import Courier
import Dispatch
import Prometheus

/// Collects Courier's metrics in a Prometheus registry and serves them on `/metrics`.
///
/// The CLI makes one per process and bootstraps `MetricsSystem` with ``factory``; tests pass ``factory`` to
/// ``QueueMetrics`` directly instead, so no global state is touched.
public final class PrometheusExporter: Sendable {
    /// The registry every metric lands in.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory writing into ``registry``.
    public let factory: PrometheusMetricsFactory

    /// Creates an exporter with an empty registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// The registry's metrics in the Prometheus text format.
    public func render() -> String {
        registry.emitToString()
    }

    /// Starts serving ``render()`` on `host`:`port`, sampling `backend`'s queue depth before each scrape.
    /// - Throws: ``MetricsEndpointError`` when the port cannot be bound.
    public func serve(
        host: String = "127.0.0.1", port: Int, sampling backend: InstrumentedQueueBackend? = nil
    ) throws -> MetricsEndpoint {
        try MetricsEndpoint(host: host, port: port) { [self] in
            if let backend {
                // The endpoint's own thread (never a pool thread) waits up to a second for the sample.
                let sampled = DispatchSemaphore(value: 0)
                Task {
                    await backend.sampleQueueDepth()
                    sampled.signal()
                }
                _ = sampled.wait(timeout: .now() + 1)
            }
            return render()
        }
    }
}
