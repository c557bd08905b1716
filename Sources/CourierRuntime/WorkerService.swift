import Courier
import CourierOperations
import CourierRedis
import Foundation
import Logging
import ServiceLifecycle

/// What `courier worker` runs inside its service group: opens the queue (waiting while it is unreachable, so
/// that workers and their store can start in any order), then runs a ``Worker`` until graceful shutdown.
struct WorkerService: Service {
    let environment: QueueEnvironment
    let configuration: WorkerConfiguration
    let handlerName: String
    let handler: Worker.StreamingHandler
    let metrics: MetricsOptions
    let logger: Logger

    /// The longest wait between two attempts to reach the queue at start.
    static let maximumConnectDelay: Duration = .seconds(30)

    func run() async throws {
        guard let (backend, limits, globalGate) = try await connect() else {
            logger.info("worker stopped before its queue could be reached")
            return
        }
        defer { globalGate?.close() }
        let (instrumented, metricsEndpoint): (any QueueBackend, MetricsEndpoint?)
        do {
            (instrumented, metricsEndpoint) = try await metrics.instrument(backend)
        } catch {
            await backend.shutdown()
            throw error
        }
        defer { metricsEndpoint?.stop() }
        var work = handler
        if let traced = instrumented as? InstrumentedQueueBackend { work = traced.tracedHandler(work) }
        if let metricsEndpoint {
            logger.info(
                "serving metrics", metadata: ["url": "http://\(metrics.metricsHost):\(metricsEndpoint.port)/metrics"])
        }
        let worker = Worker(
            backend: instrumented, configuration: configuration, limits: limits, logger: logger,
            streamingHandler: work)
        logger.info(
            "worker started",
            metadata: [
                "queue_type": "\((try? environment.queueType()) ?? .memory)",
                "queue": "\(backend.configuration.queueName)",
                "concurrency": "\(configuration.concurrency)", "handler": "\(handlerName)",
                "handler_timeout": "\(configuration.handlerTimeout.map { "\($0)" } ?? "none")",
            ])
        do {
            try await worker.run()
        } catch {
            await backend.shutdown()
            throw error
        }
        let commands = BackendFactory.commandsSent(by: backend)
        await backend.shutdown()
        logger.info("worker stopped", metadata: commands.map { ["store_commands": "\($0)"] } ?? [:])
    }

    /// Opens the queue and the limits, retrying with backoff while the store is unreachable; nil when a
    /// shutdown signal arrived first.
    private func connect() async throws -> (any QueueBackend, WorkerLimits, RedisConcurrencyGate?)? {
        var failures = 0
        while true {
            do {
                let backend = try await BackendFactory.makeSharedBackend(environment, for: "worker")
                do {
                    let (limits, gate) = try await BackendFactory.makeLimits(environment)
                    if failures > 0 { logger.info("reached the queue") }
                    return (backend, limits, gate)
                } catch {
                    await backend.shutdown()
                    throw error
                }
            } catch let error as CourierError where error.code == .backendUnavailable {
                failures += 1
                let delay = min(Self.maximumConnectDelay, .seconds(1 << min(failures - 1, 5)))
                logger.warning(
                    "cannot reach the queue; retrying", metadata: ["error": "\(error.message)", "retry_in": "\(delay)"])
                _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                if Task.isCancelled || Task.isShuttingDownGracefully { return nil }
            }
        }
    }
}
