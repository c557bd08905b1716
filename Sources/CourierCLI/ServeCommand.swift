import ArgumentParser
import Courier
import CourierHTTP
import CourierOperations
import Foundation
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle

/// `courier serve [--host H] [--port P] [--handler echo|bench|chat]`: the HTTP gateway over the configured queue.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP gateway (submit, status, wait, events, cancel) over the configured queue.",
        discussion: """
            Routes: POST /v1/tasks/submit, GET /v1/tasks/{id}/status, GET /v1/tasks/{id}/wait, \
            GET /v1/tasks/{id}/events (Server-Sent Events), POST /v1/tasks/{id}/cancel, GET /healthz, GET /readyz, \
            GET /metrics (Prometheus) (docs/gateway.md). COURIER_HTTP_TOKENS (comma-separated) requires 'Authorization: Bearer <token>' on \
            the task routes; without tokens the gateway warns when it listens beyond loopback. \
            COURIER_HTTP_MAX_WAIT_SECONDS (default 60) caps every wait a client asks for; \
            COURIER_HTTP_HEARTBEAT_SECONDS (default 15) is the longest an event stream goes without a write (a comment when idle); \
            COURIER_HTTP_RATE_LIMIT (requests a second per client, by token or address; default none) answers 429 with \
            Retry-After beyond it, COURIER_HTTP_RATE_BURST (default one second's worth) sets the burst. With --handler, a worker \
            runs in the same process (the way to use QUEUE_TYPE=memory). SIGTERM or SIGINT stops accepting new \
            connections and lets those open finish: an event stream ends at its next event or heartbeat, a long poll \
            when its task finishes or its timeout (at most COURIER_HTTP_MAX_WAIT_SECONDS) passes. \(environmentNote)
            """)

    enum HandlerKind: String, ExpressibleByArgument, CaseIterable {
        case echo, bench, chat
    }

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one; the log says which).")
    var port = 8080

    @Option(
        help: """
            Also run a worker in this process: echo (answers with the payload), bench (streams), or chat (a slow \
            stand-in for an LLM: progress, then the answer a word at a time).
            """)
    var handler: HandlerKind?

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be from 0 to 65,535") }
    }

    func run() async throws {
        let environment = QueueEnvironment()
        var logger = Logger(label: "courier.serve")
        logger.logLevel = try environment.logLevel()
        let configuration = try Self.gatewayConfiguration(ProcessInfo.processInfo.environment)
        if handler == nil { try BackendFactory.requireShared(environment, for: "serve without --handler") }
        let store = try await BackendFactory.makeBackend(environment)
        // Every call through the gateway (and the in-process worker) is counted for GET /metrics.
        let exporter = PrometheusExporter()
        MetricsSystem.bootstrap(exporter.factory)
        let backend = InstrumentedQueueBackend(
            base: store, metrics: QueueMetrics(queueName: store.configuration.queueName, factory: exporter.factory))
        let router = Router(context: GatewayRequestContext.self)
        CourierGateway(backend: backend, configuration: configuration).addRoutes(to: router)
        exporter.addRoutes(to: router, sampling: backend)
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host)
        if configuration.tokens.isEmpty && !loopback {
            logger.warning(
                "the gateway listens beyond loopback without authentication; set COURIER_HTTP_TOKENS",
                metadata: ["host": "\(host)"])
        }
        var services: [any Service] = []
        if let handler {
            let echo: Worker.StreamingHandler = { @Sendable request, _ in request.payload }
            let work =
                switch handler {
                case .echo: echo
                case .bench: StreamingBench.handle
                case .chat: ChatDemoHandler.handle
                }
            services.append(
                Worker(
                    backend: backend, configuration: .init(concurrency: try environment.workerConcurrency()),
                    logger: Logger(label: "courier.worker"), streamingHandler: work))
        }
        let host = self.host
        let serverLogger = logger
        let application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "courier"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                serverLogger.notice("serving", metadata: ["url": "http://\(host):\(port)"])
            },
            logger: logger)
        services.append(application)
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await backend.shutdown()
            throw error
        }
        await backend.shutdown()
    }

    /// The gateway's settings from the environment.
    /// - Throws: `CourierError` with code `invalidConfiguration` for a bad value (exit code 2).
    static func gatewayConfiguration(_ environment: [String: String]) throws -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        configuration.tokens = (environment["COURIER_HTTP_TOKENS"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        if let text = environment["COURIER_HTTP_MAX_WAIT_SECONDS"] {
            configuration.maxWait = try SettingValue.seconds(
                text, name: "COURIER_HTTP_MAX_WAIT_SECONDS", in: 0.001...3600)
            configuration.defaultWait = min(configuration.defaultWait, configuration.maxWait)
        }
        if let text = environment["COURIER_HTTP_HEARTBEAT_SECONDS"] {
            configuration.heartbeatInterval = try SettingValue.seconds(
                text, name: "COURIER_HTTP_HEARTBEAT_SECONDS", in: 0.1...3600)
        }
        if let text = environment["COURIER_HTTP_RATE_LIMIT"] {
            configuration.rateLimit = try SettingValue.number(
                text, name: "COURIER_HTTP_RATE_LIMIT", in: 0.01...1_000_000, unit: "requests a second")
        }
        if let text = environment["COURIER_HTTP_RATE_BURST"] {
            configuration.rateBurst = try SettingValue.number(
                text, name: "COURIER_HTTP_RATE_BURST", in: 1...1_000_000, unit: "requests")
        }
        return configuration
    }
}
