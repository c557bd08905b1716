import ArgumentParser
import Courier
import CourierOperations
import Metrics

/// `--metrics-port` and `--metrics-host`: serve Prometheus metrics on `/metrics` while the command runs.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve Prometheus metrics on http://HOST:PORT/metrics (off when omitted).")
    var metricsPort: Int?

    @Option(help: "The IPv4 address the metrics endpoint binds.")
    var metricsHost = "127.0.0.1"

    func validate() throws {
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be 0…65535")
        }
    }

    /// Wraps `backend` so it records metrics and spans, bootstraps `MetricsSystem` with a Prometheus registry
    /// and starts the endpoint; returns `backend` unchanged and no endpoint when no port was given.
    /// - Throws: `CourierError` with code `invalidConfiguration` when the port cannot be bound.
    func instrument(
        _ backend: any QueueBackend
    ) async throws -> (backend: any QueueBackend, endpoint: MetricsEndpoint?) {
        guard let metricsPort else { return (backend, nil) }
        let exporter = PrometheusExporter()
        MetricsSystem.bootstrap(exporter.factory)
        let instrumented = InstrumentedQueueBackend(
            base: backend, metrics: QueueMetrics(queueName: backend.configuration.queueName, factory: exporter.factory))
        do {
            let endpoint = try await exporter.serve(host: metricsHost, port: metricsPort, sampling: instrumented)
            return (instrumented, endpoint)
        } catch let error as MetricsEndpointError {
            throw CourierError(.invalidConfiguration, "--metrics-port: \(error.reason)")
        }
    }
}
