import Courier
import Logging
import ServiceLifecycle

/// A worker process in one call: reads the environment, opens the queue `QUEUE_TYPE` names (waiting while its
/// server is unreachable), applies the limits, serves metrics when `COURIER_METRICS_PORT` is set, logs at
/// `LOG_LEVEL`, and runs the handler until SIGTERM or SIGINT, finishing in-flight requests within the grace
/// period. `courier worker` is this with its own handlers.
///
/// ```swift
/// @main struct ChatWorker {
///     static func main() async throws {
///         try await WorkerApplication { request in try await answer(request.payload) }.run()
///     }
/// }
/// ```
///
/// Settings read, besides the queue's own (see ``QueueEnvironment``): `WORKER_CONCURRENCY`,
/// `COURIER_HANDLER_TIMEOUT_SECONDS`, `COURIER_EVENT_FLUSH_SECONDS`, `COURIER_MAX_INFLIGHT`,
/// `COURIER_GLOBAL_INFLIGHT`, `COURIER_RATE_LIMIT`, `COURIER_RATE_BURST`, `COURIER_MAX_RETRY_HINT_SECONDS`,
/// `COURIER_BREAKER_FAILURES`, `COURIER_BREAKER_COOL_DOWN_SECONDS`, `COURIER_BREAKER_HEADER`,
/// `COURIER_METRICS_PORT`, `COURIER_METRICS_HOST`, `LOG_LEVEL`.
public struct WorkerApplication: Sendable {
    /// Where the queue and limits come from.
    public var runtime: QueueRuntime
    /// Concurrency, timeouts, retries, grace period, breaker: read from the environment, then yours to change.
    public var configuration: WorkerConfiguration
    /// The metrics endpoint, from `COURIER_METRICS_PORT` and `COURIER_METRICS_HOST`; nil for none.
    public var metrics: MetricsSettings?
    /// The worker's logger, at `LOG_LEVEL`.
    public var logger: Logger
    /// The handler's name in the start-up log line.
    public var handlerName = "application"
    /// What answers each request.
    public var handler: Worker.StreamingHandler

    /// A worker application whose handler turns a request into response bytes (throwing fails the attempt; see
    /// ``Worker`` for how failures are retried).
    /// - Throws: ``CourierError`` with code `unknownQueueType` or `invalidConfiguration` for bad variables, or
    ///   `invalidConfiguration` for an in-process queue type (`memory`), which no other process can reach.
    public init(
        environment: QueueEnvironment = QueueEnvironment(), registry: QueueAdapterRegistry = .standard,
        handler: @escaping Worker.Handler
    ) throws(CourierError) {
        try self.init(
            environment: environment, registry: registry,
            streamingHandler: { request, _ in
                try await handler(request)
            })
    }

    /// A worker application whose handler also streams chunks and progress through a ``RequestEventWriter``.
    /// - Throws: As ``init(environment:registry:handler:)``.
    public init(
        environment: QueueEnvironment = QueueEnvironment(), registry: QueueAdapterRegistry = .standard,
        streamingHandler: @escaping Worker.StreamingHandler
    ) throws(CourierError) {
        runtime = QueueRuntime(environment: environment, registry: registry)
        let adapter = try runtime.adapter()
        guard adapter.reachesOtherProcesses else {
            throw CourierError(
                .invalidConfiguration,
                "QUEUE_TYPE=\(adapter.type) keeps requests inside one process, so a worker process cannot reach "
                    + "them; set QUEUE_TYPE=sqlite (one host) or a Redis type (many hosts)")
        }
        _ = try environment.queueConfiguration()
        try runtime.checkLimits()
        configuration = WorkerConfiguration(
            concurrency: try environment.workerConcurrency(), handlerTimeout: try environment.handlerTimeout())
        configuration.eventFlushInterval = try environment.eventFlushInterval()
        configuration.maximumRetryHint = try environment.maximumRetryHint()
        configuration.circuitBreaker = try environment.circuitBreaker()
        metrics = try MetricsSettings(environment: environment)
        logger = Logger(label: "courier.worker")
        logger.logLevel = try environment.logLevel()
        handler = streamingHandler
    }

    /// The worker as a service, for an application that runs its own `ServiceGroup` (beside an HTTP server,
    /// say): it opens the queue, runs until graceful shutdown, and closes everything it opened.
    public var service: some Service {
        WorkerService(
            runtime: runtime, configuration: configuration, handlerName: handlerName, handler: handler,
            metrics: metrics, logger: logger)
    }

    /// Runs the worker in a `ServiceGroup` that shuts down gracefully on SIGTERM and SIGINT, and returns once
    /// every in-flight request is settled.
    /// - Throws: ``CourierError`` for a store that cannot be opened at all or a metrics port that cannot be
    ///   bound; an unreachable server is waited for, not thrown.
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
