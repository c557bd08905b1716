import Courier
import CourierTestSupport
import Foundation
import Testing

@testable import CourierCLI

@Suite("exec handler")
struct ExecHandlerTests {
    @Test func payloadGoesInOnStandardInputAndStandardOutputComesBack() async throws {
        let handler = ExecHandler.testing(["tr", "a-z", "A-Z"])
        let output = try await handler.handle(QueueRequest(payload: Data("hello, courier".utf8)))
        #expect(output == Data("HELLO, COURIER".utf8))
    }

    @Test func theCorrelationIDIsInTheEnvironment() async throws {
        let request = QueueRequest(correlationID: try CorrelationID("exec-env-1"), payload: Data())
        let output = try await ExecHandler.testing(["sh", "-c", "printf %s \"$COURIER_CORRELATION_ID\""]).handle(
            request)
        #expect(String(decoding: output, as: UTF8.self) == "exec-env-1")
    }

    @Test func aNonZeroExitFailsTheAttemptWithItsStandardError() async throws {
        let handler = ExecHandler.testing(["sh", "-c", "echo 'model overloaded' >&2; exit 3"])
        await #expect {
            _ = try await handler.handle(QueueRequest(payload: Data()))
        } throws: { error in
            "\(error)".contains("model overloaded") && "\(error)".contains("3")
        }
    }

    @Test func aWorkerWithAnExecHandlerAnswersThroughTheQueue() async throws {
        let backend = try MemoryQueueBackend(configuration: .init(queueName: "exec-\(UUID().uuidString.prefix(8))"))
        let exec = ExecHandler.testing(["rev"])
        let worker = Worker(backend: backend) { request in try await exec.handle(request) }
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        let response = try await backend.send(QueueRequest(payload: Data("abc\n".utf8)), timeout: .seconds(30))
        #expect(response.payload == Data("cba\n".utf8))
    }
}

extension ExecHandler {
    /// A handler supervised by the built `courier` binary (this test process is not `courier`).
    static func testing(_ command: [String]) -> ExecHandler {
        ExecHandler(command: command, supervisor: CourierExecutable.url.path)
    }
}
