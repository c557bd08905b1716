import Courier
import Foundation
import InMemoryTracing
import Synchronization
import Testing
import Tracing

@Suite("Tracing")
struct TracingTests {
    @Test func workerSpansContinueTheClientsTrace() async throws {
        let tracer = InMemoryTracer()
        let memory = try MemoryQueueBackend(configuration: .init(queueName: "trace-\(UUID().uuidString.prefix(8))"))
        let queue = InstrumentedQueueBackend(base: memory, tracer: tracer)
        let seenInHandler = Mutex<String?>(nil)
        let worker = Worker(
            backend: queue,
            handler: queue.tracedHandler { request in
                let context = ServiceContext.current ?? .topLevel
                seenInHandler.withLock { $0 = tracer.activeSpan(identifiedBy: context)?.traceID }
                return request.payload
            })
        let running = Task { try await worker.run() }
        defer { running.cancel() }

        let clientTraceID = try await tracer.withSpan("client.ask", context: .topLevel) { span in
            let response = try await queue.send(QueueRequest(payload: Data("hi".utf8)), timeout: .seconds(30))
            #expect(response.status == .completed)
            return span.traceID
        }
        let traceID = clientTraceID
        let spans = tracer.finishedSpans
        for name in ["courier.publish", "courier.consume", "courier.handle", "courier.respond"] {
            let span = try #require(
                spans.first { $0.operationName == name }, "no \(name) span in \(spans.map(\.operationName))")
            #expect(span.traceID == traceID, "\(name) is not in the client's trace")
        }
        #expect(seenInHandler.withLock { $0 } == traceID, "the handler did not run inside the worker's span")
    }
}
