import ArgumentParser
import Courier
import Foundation
import Logging
import ServiceLifecycle

/// `courier worker [--handler echo|exec] [-- CMD ARGS…]`: answer requests until SIGTERM or SIGINT.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Answer requests from the configured queue until SIGTERM or SIGINT.",
        discussion: """
            --handler echo answers each request with its own payload. --handler exec runs CMD ARGS once per \
            request with the payload on standard input; its standard output is the response payload and a \
            non-zero exit fails the attempt (it is retried, then answered as failed).
            """
    )

    enum HandlerKind: String, ExpressibleByArgument, CaseIterable {
        case echo, exec
    }

    @Option(help: "What answers each request: echo or exec.")
    var handler: HandlerKind = .echo

    @Option(help: "Seconds in-flight requests may finish after a shutdown signal.")
    var gracePeriod: Double = 30

    @OptionGroup var metrics: MetricsOptions

    @Argument(parsing: .postTerminator, help: "The command run per request by --handler exec.")
    var command: [String] = []

    func validate() throws {
        if handler == .exec && command.isEmpty {
            throw ValidationError(
                "--handler exec needs a command after '--', e.g. courier worker --handler exec -- cat")
        }
        if handler == .echo && !command.isEmpty {
            throw ValidationError("a command after '--' needs --handler exec")
        }
        if !(gracePeriod >= 0) { throw ValidationError("--grace-period must be zero or more seconds") }
    }

    func run() async throws {
        let environment = QueueEnvironment()
        let queueType = try environment.queueType()
        let (backend, metricsEndpoint) = try metrics.instrument(
            try await BackendFactory.makeSharedBackend(environment, for: "worker"))
        defer { metricsEndpoint?.stop() }
        let logger = Logger(label: "courier.worker")
        var work: Worker.Handler
        switch handler {
        case .echo: work = { $0.payload }
        case .exec: work = ExecHandler(command: command).handle
        }
        if let instrumented = backend as? InstrumentedQueueBackend { work = instrumented.tracedHandler(work) }
        if let metricsEndpoint {
            logger.info(
                "serving metrics", metadata: ["url": "http://\(metrics.metricsHost):\(metricsEndpoint.port)/metrics"])
        }
        let (limits, globalGate) = try await BackendFactory.makeLimits(environment)
        defer { globalGate?.close() }
        let worker = Worker(
            backend: backend,
            configuration: WorkerConfiguration(
                concurrency: try environment.workerConcurrency(),
                gracePeriod: .milliseconds(Int64(gracePeriod * 1000))),
            limits: limits, logger: logger, handler: work)
        logger.info(
            "worker started",
            metadata: [
                "queue_type": "\(queueType)",
                "queue": "\(backend.configuration.queueName)",
                "concurrency": "\(worker.configuration.concurrency)", "handler": "\(handler.rawValue)",
            ])
        let group = ServiceGroup(
            configuration: .init(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await backend.shutdown()
            throw error
        }
        let commands = BackendFactory.commandsSent(by: backend)
        await backend.shutdown()
        logger.info("worker stopped", metadata: commands.map { ["store_commands": "\($0)"] } ?? [:])
    }
}
