import ArgumentParser
import Courier
import Foundation
import Logging

/// `courier demo`: an in-process worker and client doing a few hundred chat round trips on the memory queue.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a worker and a client in this process for a few hundred round trips and print a summary.",
        discussion: """
            Always uses an in-process memory queue, whatever QUEUE_TYPE says: nothing to start or configure. The \
            other commands choose their queue with QUEUE_TYPE; see 'courier --help'.
            """)

    @Option(help: "How many round trips.")
    var requests = 500

    func validate() throws {
        guard (1...1_000_000).contains(requests) else { throw ValidationError("--requests must be 1…1,000,000") }
    }

    func run() async throws {
        let backend = try MemoryQueueBackend(configuration: QueueConfiguration(queueName: "demo"))
        var quiet = Logger(label: "courier.demo")
        quiet.logLevel = .warning
        let worker = Worker(backend: backend, configuration: WorkerConfiguration(concurrency: 8), logger: quiet) {
            request in
            let question = try request.decode(ChatRequest.self)
            let answer = ChatResponse(
                message: "You said: \(question.message)", plan: "echo the question back",
                thinkingLog: ["read the message", "answered it"])
            return try JSONEncoder().encode(answer)
        }
        let workerTask = Task { try await worker.run() }
        let question = try JSONEncoder().encode(ChatRequest(message: "What is Courier?", sessionID: "demo"))
        let sample = try await backend.send(QueueRequest(payload: question), timeout: .seconds(10))
        let answer = try sample.decode(ChatResponse.self)
        try StandardOutput.line("demo: one round trip through the memory queue answered: \"\(answer.message)\"")

        let load = RoundTripLoad(
            backend: backend, requests: requests, inflight: 32, payload: question, timeout: .seconds(30))
        let total = requests
        let result = await load.run { done in
            FileHandle.standardError.write(Data("\rdemo: \(done)/\(total) round trips".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        workerTask.cancel()
        _ = try? await workerTask.value
        await backend.shutdown()
        try StandardOutput.line(
            "demo: \(result.requests - result.failures)/\(result.requests) round trips answered in "
                + String(
                    format: "%.3f s: %.0f round trips/s, p50 %.3f ms, p99 %.3f ms", result.seconds,
                    result.roundTripsPerSecond, result.percentile(0.5), result.percentile(0.99)))
        if result.failures > 0 { throw CommandFailure.requestFailed("\(result.failures) round trips failed") }
    }
}
