import ArgumentParser
import CourierRuntime

/// `--metrics-port` and `--metrics-host`: serve Prometheus metrics on `/metrics` while the command runs.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve Prometheus metrics on http://HOST:PORT/metrics (off when omitted; or COURIER_METRICS_PORT).")
    var metricsPort: Int?

    @Option(help: "The IPv4 address the metrics endpoint binds.")
    var metricsHost = "127.0.0.1"

    func validate() throws {
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be 0…65535")
        }
    }

    /// The endpoint the flags ask for, if any.
    var settings: MetricsSettings? { metricsPort.map { MetricsSettings(host: metricsHost, port: $0) } }
}
