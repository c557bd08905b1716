import Courier
import CourierOperations
import CourierRedis
import Foundation
import Logging
import ServiceLifecycle

/// What a ``WorkerApplication`` runs inside its service group: opens the queue (waiting while it is unreachable,
/// so that workers and their store can start in any order), then runs a ``Worker`` until graceful shutdown.
struct WorkerService: Service {
    let runtime: QueueRuntime
    let configuration: WorkerConfiguration
    let handlerName: String
    let handler: Worker.StreamingHandler
    let metrics: MetricsSettings?
    let logger: Logger

    /// The longest wait between two attempts to reach the queue at start.
    static let maximumConnectDelay: Duration = .seconds(30)

    func run() async throws {
        guard let (backend, limits, globalGate) = try await connect() else {
            logger.info("worker stopped before its queue could be reached")
            return
        }
        defer { globalGate?.close() }
        var served: (backend: InstrumentedQueueBackend, endpoint: MetricsEndpoint)?
        do {
            served = try await metrics?.instrument(backend)
        } catch {
            await backend.shutdown()
            throw error
        }
        defer { served?.endpoint.stop() }
        var work = handler
        if let served {
            work = served.backend.tracedHandler(work)
            logger.info(
                "serving metrics",
                metadata: ["url": "http://\(metrics?.host ?? "127.0.0.1"):\(served.endpoint.port)/metrics"])
        }
        let worker = Worker(
            backend: served?.backend ?? backend, configuration: configuration, limits: limits, logger: logger,
            streamingHandler: work)
        logger.info(
            "worker started",
            metadata: [
                "queue_type": "\((try? runtime.adapter().type) ?? .memory)",
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
        let commands = QueueRuntime.commandsSent(by: backend)
        await backend.shutdown()
        logger.info("worker stopped", metadata: commands.map { ["store_commands": "\($0)"] } ?? [:])
    }

    /// Opens the queue and the limits, retrying with backoff while the store is unreachable; nil when a
    /// shutdown signal arrived first.
    private func connect() async throws -> (any QueueBackend, WorkerLimits, RedisConcurrencyGate?)? {
        var failures = 0
        while true {
            do {
                let backend = try await runtime.makeBackend(logger: logger)
                do {
                    let (limits, gate) = try await runtime.makeLimits()
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
