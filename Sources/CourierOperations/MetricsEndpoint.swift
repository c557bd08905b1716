import Courier
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A running `/metrics` server (a Hummingbird application of its own), started by
/// ``PrometheusExporter/serve(host:port:sampling:)``. Safe to stop from any task.
public final class MetricsEndpoint: Sendable {
    /// The port it listens on (the one chosen by the system when started with port 0).
    public let port: Int
    private let server: Task<Void, Never>

    init(port: Int, server: Task<Void, Never>) {
        self.port = port
        self.server = server
    }

    /// Stops listening; a scrape under way is cut off.
    public func stop() {
        server.cancel()
    }
}

/// Why a metrics endpoint could not start.
public struct MetricsEndpointError: Error, CustomStringConvertible {
    /// What went wrong, such as the address that could not be bound.
    public let reason: String

    /// `metrics endpoint: ` and the reason.
    public var description: String { "metrics endpoint: \(reason)" }
}

extension PrometheusExporter {
    /// Adds `GET /metrics` (the Prometheus text exposition) to `router`, sampling `backend`'s queue depth before
    /// each scrape (for at most a second, so a store that is down does not hold the scrape).
    public func addRoutes<Context: RequestContext>(
        to router: Router<Context>, sampling backend: InstrumentedQueueBackend? = nil
    ) {
        router.get("metrics") { [self] _, _ -> Response in
            if let backend {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await backend.sampleQueueDepth() }
                    group.addTask { try? await Task.sleep(for: .seconds(1)) }
                    await group.next()
                    group.cancelAll()
                }
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: render())))
        }
    }

    /// Starts serving `/metrics` on `host`:`port` in an application of its own, sampling `backend`'s queue depth
    /// before each scrape; returns once it listens.
    /// - Throws: ``MetricsEndpointError`` when the address cannot be bound.
    public func serve(
        host: String = "127.0.0.1", port: Int, sampling backend: InstrumentedQueueBackend? = nil
    ) async throws -> MetricsEndpoint {
        let router = Router()
        addRoutes(to: router, sampling: backend)
        let (bound, announce) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "courier.metrics")
        logger.logLevel = .warning
        let application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "courier"),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? port)
                announce.finish()
            },
            logger: logger)
        let failure = Mutex<String?>(nil)
        let server = Task {
            do {
                try await application.runService(gracefulShutdownSignals: [])
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            announce.finish()
        }
        var iterator = bound.makeAsyncIterator()
        guard let listening = await iterator.next() else {
            let reason = failure.withLock { $0 } ?? "the server stopped"
            throw MetricsEndpointError(reason: "cannot listen on \(host):\(port): \(reason)")
        }
        return MetricsEndpoint(port: listening, server: server)
    }
}
