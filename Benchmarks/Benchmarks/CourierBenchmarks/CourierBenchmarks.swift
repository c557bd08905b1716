import Benchmark
import Courier
import CourierRedis
import CourierSQLite
import Foundation
import Logging

// Hot paths of a round trip: encoding and decoding a request, one memory-adapter round trip (publish, claim,
// answer, wait), one SQLite claim, and one Redis round trip (when REDIS_URL names a server to use).
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .peakMemoryResident, .throughput]
    Benchmark.defaultConfiguration = .init(metrics: metrics, maxDuration: .seconds(3), maxIterations: 1_000_000)

    let chat = ChatRequest(message: String(repeating: "x", count: 64), sessionID: "session-1")
    let request = try! QueueRequest(json: chat, headers: ["stage": "summarise", "model": "small"])

    Benchmark("QueueRequest(json:) encode") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try QueueRequest(json: chat, headers: ["stage": "summarise"]))
        }
    }

    Benchmark("QueueRequest.decode(ChatRequest)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try request.decode(ChatRequest.self))
        }
    }

    Benchmark("QueueRequest Codable round trip (JSON)") { benchmark in
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        for _ in benchmark.scaledIterations {
            blackHole(try decoder.decode(QueueRequest.self, from: encoder.encode(request)))
        }
    }

    Benchmark("Memory round trip (publish, claim, answer, wait)") { benchmark in
        try await measureRoundTrips(on: try MemoryQueueBackend(), benchmark)
    }

    // What `courier bench` does, 1,024 round trips per iteration: 32 clients publish and wait while a Worker
    // with 32 slots answers (task group, lease renewal task and subscribe timeout included). Divide the
    // malloc count by 1,024 for allocations per round trip.
    Benchmark(
        "Worker round trips x1024, 32 in flight",
        configuration: .init(metrics: metrics, maxDuration: .seconds(5), maxIterations: 10_000)
    ) { benchmark in
        let queue = try MemoryQueueBackend()
        var quiet = Logger(label: "bench")
        quiet.logLevel = .warning
        let worker = Worker(backend: queue, configuration: .init(concurrency: 32), logger: quiet) { $0.payload }
        let running = Task { try await worker.run() }
        let payload = Data(repeating: 7, count: 64)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        for _ in 0..<32 {
                            blackHole(try? await queue.send(QueueRequest(payload: payload), timeout: .seconds(30)))
                        }
                    }
                }
            }
        }
        benchmark.stopMeasurement()
        running.cancel()
        await queue.shutdown()
    }

    // One claim (`UPDATE … RETURNING` that sets the lease) from a file already holding the requests; publishing
    // them is not measured.
    Benchmark("SQLite claim", configuration: .init(metrics: metrics, maxDuration: .seconds(3), maxIterations: 20_000)) {
        benchmark in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-bench-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let queue = try await SQLiteQueueBackend(
            path: directory.appendingPathComponent("claims.sqlite3").path, configuration: .init(queueName: "claims"))
        let payload = Data(repeating: 7, count: 64)
        for _ in benchmark.scaledIterations { try await queue.publishRequest(QueueRequest(payload: payload)) }
        var consumer = queue.consumeRequests().makeAsyncIterator()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await consumer.next()) }
        benchmark.stopMeasurement()
        await queue.shutdown()
    }

    // One redis-pubsub round trip in one process (publish, claim, answer, wait) against the server REDIS_URL
    // names; skipped without it, because a benchmark must not start servers behind the user's back.
    if let url = ProcessInfo.processInfo.environment["REDIS_URL"] {
        Benchmark("Redis round trip (redis-pubsub)") { benchmark in
            let queue = try await RedisQueueBackend(
                url: url, wakeMode: .pubSub, configuration: .init(queueName: "bench-\(UUID().uuidString.prefix(8))"))
            try await measureRoundTrips(on: queue, benchmark)
        }
    }
}

/// One request at a time through `queue`: publish, claim, answer, wait. Shuts the queue down afterwards.
func measureRoundTrips(on queue: any QueueBackend, _ benchmark: Benchmark) async throws {
    var consumer = queue.consumeRequests().makeAsyncIterator()
    let payload = Data(repeating: 7, count: 64)
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        let request = QueueRequest(payload: payload)
        try await queue.publishRequest(request)
        guard let delivery = try await consumer.next() else { break }
        try await queue.complete(delivery, payload: delivery.request.payload)
        blackHole(try await queue.subscribe(to: request.correlationID, timeout: .seconds(5)))
    }
    benchmark.stopMeasurement()
    await queue.shutdown()
}
