import Courier
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
}
