import ArgumentParser
import Courier
import CourierRuntime
import Foundation
import Logging

/// `courier bench`: the round-trip workload against whichever `QUEUE_TYPE` is configured.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure round trips per second and latency percentiles against the configured queue.",
        discussion: """
            Runs --workers echo workers in this process (each with WORKER_CONCURRENCY slots, default \
            --inflight), or none with --workers 0 to drive workers started separately with 'courier worker'. \
            \(environmentNote)
            """
    )

    @Option(help: "How many round trips.")
    var requests = 10_000

    @Option(help: "How many round trips are in flight at once.")
    var inflight = 32

    @Option(help: "Echo workers to run in this process (0: use workers started separately).")
    var workers = 1

    @Option(help: "Request payload size in bytes.")
    var payloadBytes = 64

    @Option(help: "Seconds each round trip may take before it counts as failed (0.001…31,536,000).")
    var timeout: Double = 60

    @Option(
        help: """
            Chunks each handler streams per request (0: none, the plain round trip). With workers started \
            separately, run them with 'courier worker --handler bench'.
            """)
    var chunks = 0

    @Option(help: "Bytes per streamed chunk (8…1 MiB; each starts with the time it was written).")
    var chunkBytes = 16

    @Option(help: "Milliseconds between a handler's chunks (0…10,000; 0: all at once, 10: a model at 100 tokens/s).")
    var chunkIntervalMs: Double = 0

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (1...100_000_000).contains(requests) else { throw ValidationError("--requests must be 1…100,000,000") }
        guard (1...100_000).contains(inflight) else { throw ValidationError("--inflight must be 1…100,000") }
        guard (0...64).contains(workers) else { throw ValidationError("--workers must be 0…64") }
        guard (0...(64 << 20)).contains(payloadBytes) else { throw ValidationError("--payload-bytes must be 0…64 MiB") }
        guard (0...100_000).contains(chunks) else { throw ValidationError("--chunks must be 0…100,000") }
        guard (8...(1 << 20)).contains(chunkBytes) else { throw ValidationError("--chunk-bytes must be 8…1 MiB") }
        guard (0...10_000).contains(chunkIntervalMs) else {
            throw ValidationError("--chunk-interval-ms must be 0…10,000")
        }
    }

    func run() async throws {
        let environment = QueueEnvironment()
        let queueType = try environment.queueType()
        if workers == 0 && queueType.isInProcess {
            throw CommandFailure.usage(
                "--workers 0 drives workers in other processes, which QUEUE_TYPE=memory cannot reach; "
                    + "use QUEUE_TYPE=sqlite or redis-list/redis-pubsub/redis-streams")
        }
        let concurrency =
            environment.values["WORKER_CONCURRENCY"] == nil ? inflight : try environment.workerConcurrency()
        let backend = try await BackendFactory.makeBackend(environment)
        let (limits, globalGate) = try await BackendFactory.makeLimits(environment)
        defer { globalGate?.close() }
        var quiet = Logger(label: "courier.bench")
        quiet.logLevel = .warning
        var configuration = WorkerConfiguration(concurrency: concurrency)
        configuration.eventFlushInterval = try environment.eventFlushInterval()
        let workerTasks = (0..<workers).map { _ in
            // A plain echo worker unless chunks are asked for, so the plain figures pay nothing for streaming.
            let worker =
                chunks > 0
                ? Worker(
                    backend: backend, configuration: configuration, limits: limits, logger: quiet,
                    streamingHandler: StreamingBench.handle)
                : Worker(backend: backend, configuration: configuration, limits: limits, logger: quiet) { $0.payload }
            return Task { try await worker.run() }
        }
        let payload = Data((0..<payloadBytes).map { UInt8(truncatingIfNeeded: $0) })
        let limit = try SettingValue.seconds(timeout, name: "--timeout", in: waitRange)
        let measured: Measured
        if chunks > 0 {
            measured = .streaming(
                await StreamingBench.run(
                    backend: backend, requests: requests, inflight: inflight, chunks: chunks, chunkBytes: chunkBytes,
                    chunkInterval: chunkIntervalMs, payload: payload, timeout: limit))
        } else {
            measured = .roundTrips(
                await RoundTripLoad(
                    backend: backend, requests: requests, inflight: inflight, payload: payload, timeout: limit
                ).run())
        }
        for task in workerTasks { task.cancel() }
        for task in workerTasks { _ = try? await task.value }
        let commands = QueueRuntime.commandsSent(by: backend)
        await backend.shutdown()
        let failures: Int
        switch measured {
        case .roundTrips(let result):
            try report(result, queueType: queueType, commands: commands)
            failures = result.failures
        case .streaming(let result):
            try reportStreaming(result, queueType: queueType, commands: commands)
            failures = result.failures
        }
        if failures > 0 { throw CommandFailure.requestFailed("\(failures) round trips failed") }
    }

    /// What a run measured: plain round trips, or streamed ones.
    private enum Measured {
        case roundTrips(RoundTripLoad.Result)
        case streaming(StreamingBench.Result)
    }

    /// - Parameter commands: commands this process sent to the store, for adapters that count them (Redis).
    private func report(_ result: RoundTripLoad.Result, queueType: QueueType, commands: Int?) throws {
        let figures: [(String, Double)] = [
            ("p50_ms", result.percentile(0.5)), ("p95_ms", result.percentile(0.95)),
            ("p99_ms", result.percentile(0.99)), ("max_ms", result.percentile(1)),
        ]
        if json {
            var fields = [
                "\"queue_type\": \"\(queueType)\"", "\"requests\": \(requests)", "\"inflight\": \(inflight)",
                "\"workers\": \(workers)", "\"payload_bytes\": \(payloadBytes)", "\"failures\": \(result.failures)",
                String(format: "\"round_trips_per_second\": %.1f", result.roundTripsPerSecond),
                String(format: "\"seconds\": %.3f", result.seconds),
            ]
            fields += figures.map { String(format: "\"\($0.0)\": %.3f", $0.1) }
            fields.append("\"peak_rss_bytes\": \(peakResidentBytes())")
            if let commands { fields.append("\"store_commands\": \(commands)") }
            try StandardOutput.line("{" + fields.joined(separator: ", ") + "}")
        } else {
            try StandardOutput.line(
                "bench \(queueType): \(requests) round trips, \(inflight) in flight, \(workers) in-process worker(s), "
                    + "\(payloadBytes)-byte payloads")
            try StandardOutput.line(
                String(
                    format: "  %.0f round trips/s in %.3f s, %d failed", result.roundTripsPerSecond, result.seconds,
                    result.failures))
            try StandardOutput.line(
                "  latency " + figures.map { String(format: "%@ %.3f", $0.0, $0.1) }.joined(separator: ", "))
            try StandardOutput.line("  peak RSS \(peakResidentBytes() / 1_048_576) MiB")
            if let commands {
                let perRoundTrip = Double(commands) / Double(max(1, requests))
                try StandardOutput.line(
                    String(
                        format: "  %d store commands from this process (%.2f per round trip)", commands, perRoundTrip))
            }
        }
    }

    private func reportStreaming(_ result: StreamingBench.Result, queueType: QueueType, commands: Int?) throws {
        let percentile = StreamingBench.Result.percentile
        let figures: [(String, Double)] = [
            ("chunk_p50_ms", percentile(result.chunkLatencies, 0.5)),
            ("chunk_p99_ms", percentile(result.chunkLatencies, 0.99)),
            ("chunk_max_ms", percentile(result.chunkLatencies, 1)),
            ("round_trip_p50_ms", percentile(result.roundTrips, 0.5)),
            ("round_trip_p99_ms", percentile(result.roundTrips, 0.99)),
        ]
        if json {
            var fields = [
                "\"queue_type\": \"\(queueType)\"", "\"requests\": \(requests)", "\"inflight\": \(inflight)",
                "\"workers\": \(workers)", "\"chunks\": \(chunks)", "\"chunk_bytes\": \(chunkBytes)",
                "\"chunk_interval_ms\": \(chunkIntervalMs)",
                "\"failures\": \(result.failures)", "\"chunks_received\": \(result.chunkLatencies.count)",
                String(format: "\"chunks_per_second\": %.1f", result.chunksPerSecond),
                String(format: "\"round_trips_per_second\": %.1f", result.roundTripsPerSecond),
                String(format: "\"seconds\": %.3f", result.seconds),
            ]
            fields += figures.map { String(format: "\"\($0.0)\": %.3f", $0.1) }
            if let commands { fields.append("\"store_commands\": \(commands)") }
            try StandardOutput.line("{" + fields.joined(separator: ", ") + "}")
        } else {
            try StandardOutput.line(
                "bench \(queueType): \(requests) streamed round trips of \(chunks) × \(chunkBytes)-byte chunks, "
                    + "\(inflight) in flight, \(workers) in-process worker(s)")
            try StandardOutput.line(
                String(
                    format: "  %.0f chunks/s, %.0f round trips/s in %.3f s, %d failed", result.chunksPerSecond,
                    result.roundTripsPerSecond, result.seconds, result.failures))
            try StandardOutput.line(
                "  latency " + figures.map { String(format: "%@ %.3f", $0.0, $0.1) }.joined(separator: ", "))
            if let commands { try StandardOutput.line("  \(commands) store commands from this process") }
        }
    }
}
