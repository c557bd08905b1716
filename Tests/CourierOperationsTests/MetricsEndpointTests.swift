import Courier
import CourierOperations
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Metrics endpoint")
struct MetricsEndpointTests {
    private func scrape(_ port: Int, path: String = "/metrics") async throws -> (Int, String) {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The value of the first sample line that starts with `prefix`, or 0.
    private func value(_ text: String, _ prefix: String) -> Double {
        let line = text.split(separator: "\n").first { $0.hasPrefix(prefix) && !$0.hasPrefix("#") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    @Test func countersMoveOnTheScrapedEndpointWhileRequestsFlow() async throws {
        let exporter = PrometheusExporter()
        let queueName = "ops-\(UUID().uuidString.prefix(8).lowercased())"
        let memory = try MemoryQueueBackend(configuration: .init(queueName: queueName, maxAttempts: 2))
        let queue = InstrumentedQueueBackend(
            base: memory, metrics: QueueMetrics(queueName: queueName, factory: exporter.factory))
        let endpoint = try await exporter.serve(port: 0, sampling: queue)
        defer { endpoint.stop() }
        let worker = Worker(
            backend: queue,
            configuration: .init(concurrency: 4, retry: .init(initialDelay: .milliseconds(1), jitter: 0)),
            handler: queue.tracedHandler { request in
                if request.headers["stage"] == "fail" { throw CourierError(.storageFailure, "provider said no") }
                return request.payload
            })
        let running = Task { try await worker.run() }
        defer { running.cancel() }

        let headers = ["stage": "summarise", "model": "small"]
        for _ in 0..<5 {
            let response = try await queue.send(QueueRequest(payload: Data("hi".utf8), headers: headers))
            #expect(response.status == .completed)
        }
        let (status, first) = try await scrape(endpoint.port)
        #expect(status == 200)
        let completed =
            "courier_requests_finished_total{queue=\"\(queueName)\",status=\"completed\",stage=\"summarise\",model=\"small\"}"
        #expect(value(first, completed) == 5, "scraped:\n\(first)")
        #expect(value(first, "courier_requests_submitted_total{queue=\"\(queueName)\"") == 5)
        #expect(first.contains("courier_queue_wait_seconds"))
        #expect(first.contains("courier_handler_duration_seconds"))
        #expect(first.contains("courier_request_duration_seconds"))
        #expect(first.contains("courier_queue_depth{queue=\"\(queueName)\"} 0"))
        #expect(!first.contains("correlation"))

        for _ in 0..<3 {
            _ = try await queue.send(QueueRequest(payload: Data("hi".utf8), headers: headers))
        }
        let failed = try await queue.send(QueueRequest(payload: Data(), headers: ["stage": "fail"]))
        #expect(failed.status == .failed)
        let (_, second) = try await scrape(endpoint.port)
        #expect(value(second, completed) == 8, "the counter did not move:\n\(second)")
        #expect(value(second, "courier_requests_retried_total{queue=\"\(queueName)\",stage=\"fail\"}") == 1)
        #expect(
            value(second, "courier_requests_finished_total{queue=\"\(queueName)\",status=\"failed\",stage=\"fail\"}")
                == 1)
        #expect(value(second, "courier_requests_in_flight{queue=\"\(queueName)\"}") == 0)

        let (missing, _) = try await scrape(endpoint.port, path: "/other")
        #expect(missing == 404)
    }
}
