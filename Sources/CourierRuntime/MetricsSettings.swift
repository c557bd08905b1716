import Courier
import CourierOperations
import Metrics

/// Where a process serves Prometheus metrics on `/metrics`: `COURIER_METRICS_PORT` (off when unset) and
/// `COURIER_METRICS_HOST` (`127.0.0.1`), or the `courier` command's `--metrics-port` and `--metrics-host`.
public struct MetricsSettings: Sendable, Hashable {
    /// The IPv4 address the endpoint binds.
    public var host: String
    /// The port (0 picks a free one).
    public var port: Int

    /// Settings for an endpoint on `host:port`.
    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// The settings the environment gives, or nil when `COURIER_METRICS_PORT` is unset or empty.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for a port outside 0…65535.
    public init?(environment: QueueEnvironment) throws(CourierError) {
        guard let text = environment.values["COURIER_METRICS_PORT"]?.trimmingCharacters(in: .whitespaces),
            !text.isEmpty
        else { return nil }
        guard let port = Int(text), (0...65_535).contains(port) else {
            throw CourierError(
                .invalidConfiguration, "COURIER_METRICS_PORT='\(text.prefix(40))' is not valid: it must be 0…65535")
        }
        let host = environment.values["COURIER_METRICS_HOST"]?.trimmingCharacters(in: .whitespaces) ?? ""
        self.init(host: host.isEmpty ? "127.0.0.1" : host, port: port)
    }

    /// Wraps `backend` so it records metrics and spans, bootstraps `MetricsSystem` with a Prometheus registry
    /// (once per process) and starts the endpoint.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` when the port cannot be bound.
    public func instrument(
        _ backend: any QueueBackend
    ) async throws -> (backend: InstrumentedQueueBackend, endpoint: MetricsEndpoint) {
        let exporter = PrometheusExporter()
        MetricsSystem.bootstrap(exporter.factory)
        let instrumented = InstrumentedQueueBackend(
            base: backend, metrics: QueueMetrics(queueName: backend.configuration.queueName, factory: exporter.factory))
        do {
            let endpoint = try await exporter.serve(host: host, port: port, sampling: instrumented)
            return (instrumented, endpoint)
        } catch let error as MetricsEndpointError {
            throw CourierError(.invalidConfiguration, "metrics port \(port): \(error.reason)")
        }
    }
}
