import Courier
import Foundation
import Testing

@Suite("Streaming worker")
struct StreamingWorkerTests {
    private func backend() throws -> MemoryQueueBackend {
        try MemoryQueueBackend(configuration: .init(queueName: "stream-\(UUID().uuidString.prefix(8))"))
    }

    /// Reads every element of a request's events, within a generous bound.
    private func follow(_ queue: any QueueBackend, _ id: CorrelationID) async throws -> [RequestEventElement] {
        try await withThrowingTaskGroup(of: [RequestEventElement]?.self) { group in
            group.addTask {
                var elements: [RequestEventElement] = []
                for try await element in queue.events(for: id) { elements.append(element) }
                return elements
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return nil
            }
            defer { group.cancelAll() }
            let first = try await group.next() ?? nil
            guard let elements = first else {
                throw CourierError(.timedOut, "the events did not end within 30 s")
            }
            return elements
        }
    }

    @Test func tokensArriveInOrderInFewAppendsAndBeforeTheResponse() async throws {
        let queue = try backend()
        let tokens = (0..<100).map { "token\($0) " }
        let worker = Worker(backend: queue, configuration: .init(concurrency: 1)) { request, events in
            try await events.progress(fraction: 0, message: "starting")
            // A burst, as a model's first tokens arrive: the first goes out at once, the rest are batched.
            for token in tokens { try await events.write(token) }
            try await events.progress(fraction: 1, message: "done", counter: 1)
            return Data("answer".utf8)
        }
        let task = Task { try await worker.run() }
        defer { task.cancel() }
        let request = QueueRequest(payload: Data("question".utf8))
        try await queue.publishRequest(request)
        let elements = try await follow(queue, request.correlationID)

        var text = ""
        var sequences: [UInt64] = []
        var progress: [RequestProgress] = []
        for case .event(let record) in elements {
            sequences.append(record.sequence)
            switch record.event {
            case .chunk(let data): text += String(decoding: data, as: UTF8.self)
            case .progress(let value): progress.append(value)
            default: break
            }
        }
        #expect(text == tokens.joined(), "every token, in order, exactly once")
        #expect(sequences == Array(1...UInt64(sequences.count)), "no gaps and no repeats")
        #expect(progress.first?.message == "starting" && progress.last?.counter == 1)
        // 100 writes in a burst are batched by the 20 ms flush interval: far fewer events than writes.
        #expect(sequences.count < 40, "\(sequences.count) events for 100 writes: writes were not coalesced")
        guard case .final(let response)? = elements.last else {
            Issue.record("the events did not end with the final response")
            return
        }
        #expect(response.status == .completed && response.payload == Data("answer".utf8))
    }

    @Test func aCancelledRequestStopsTheWriter() async throws {
        let queue = try backend()
        let started = AsyncStream<Void>.makeStream()
        let outcome = AsyncStream<String>.makeStream()
        let worker = Worker(backend: queue, configuration: .init(concurrency: 1)) { _, events in
            started.continuation.yield()
            do {
                for _ in 0..<2000 {
                    try await events.write("x")
                    try await Task.sleep(for: .milliseconds(5))
                }
                outcome.continuation.yield("finished")
            } catch let error as CourierError {
                outcome.continuation.yield("\(error.code)")
                throw error
            } catch {
                outcome.continuation.yield("cancelled")
                throw error
            }
            return Data()
        }
        let task = Task { try await worker.run() }
        defer { task.cancel() }
        let request = QueueRequest(payload: Data("q".utf8))
        try await queue.publishRequest(request)
        var startedIterator = started.stream.makeAsyncIterator()
        _ = await startedIterator.next()
        try await Task.sleep(for: .milliseconds(50))
        try await queue.cancel(request.correlationID)
        var outcomeIterator = outcome.stream.makeAsyncIterator()
        let ended = await outcomeIterator.next()
        #expect(ended == "requestCancelled" || ended == "cancelled", "the handler ended with \(ended ?? "nothing")")
        let elements = try await follow(queue, request.correlationID)
        guard case .final(let response)? = elements.last else {
            Issue.record("the events did not end with the final response")
            return
        }
        #expect(response.status == .cancelled)
    }
}
