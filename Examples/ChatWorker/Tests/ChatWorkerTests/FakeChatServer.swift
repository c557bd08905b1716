import Foundation
import Hummingbird
import Logging
import Synchronization

/// A small OpenAI-compatible chat-completions server on loopback. What it does is chosen by the requested model:
///
/// | model | answer |
/// |---|---|
/// | `streams` | the tokens of ``tokens`` as server-sent events, 20 ms apart, then `[DONE]` |
/// | `rate-limited` | 429 with `Retry-After: 1` for the first two calls, then as `streams` |
/// | `broken` | 500 |
/// | `invalid` | 400 with an OpenAI-style error body |
/// | `hangs` | nothing until the client gives up |
final class FakeChatServer: Sendable {
    static let tokens = ["Cou", "rier ", "queues ", "LLM ", "calls."]

    /// One call the server received.
    struct Call: Sendable {
        let model: String
        let at: ContinuousClock.Instant
        let authorization: String?
    }

    private final class CallLog: Sendable {
        let calls = Mutex<[Call]>([])
    }

    let port: Int
    private let server: Task<Void, Never>
    private let log: CallLog

    /// Calls received so far.
    var calls: [Call] { log.calls.withLock { $0 } }

    private init(port: Int, server: Task<Void, Never>, log: CallLog) {
        self.port = port
        self.server = server
        self.log = log
    }

    static func start() async throws -> FakeChatServer {
        let log = CallLog()
        let router = Router()
        router.post("v1/chat/completions") { request, _ -> Response in
            struct Body: Decodable {
                let model: String
                let stream: Bool?
            }
            let body = try JSONDecoder().decode(
                Body.self, from: Data(buffer: try await request.body.collect(upTo: 1 << 20)))
            let earlier = log.calls.withLock { calls in
                calls.append(Call(model: body.model, at: .now, authorization: request.headers[.authorization]))
                return calls.filter { $0.model == body.model }.count - 1
            }
            switch body.model {
            case "rate-limited" where earlier < 2:
                return Response(status: .tooManyRequests, headers: [.retryAfter: "1"])
            case "broken":
                return Response(status: .internalServerError)
            case "invalid":
                return Response(
                    status: .badRequest, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "unknown model"}}"#)))
            case "hangs":
                try await Task.sleep(for: .seconds(120))
                return Response(status: .internalServerError)
            default:
                return Response(
                    status: .ok, headers: [.contentType: "text/event-stream"],
                    body: ResponseBody { writer in
                        for token in tokens {
                            let event = #"{"choices":[{"index":0,"delta":{"content":"\#(token)"}}]}"#
                            try await writer.write(ByteBuffer(string: "data: \(event)\n\n"))
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                        try await writer.finish(nil)
                    })
            }
        }
        let (bound, announce) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "fake-chat")
        logger.logLevel = .critical  // its connections are cut when a test stops it
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? 0)
                announce.finish()
            },
            logger: logger)
        let server = Task {
            try? await application.runService(gracefulShutdownSignals: [])
            announce.finish()
        }
        var ports = bound.makeAsyncIterator()
        guard let port = await ports.next() else { throw CancellationError() }
        return FakeChatServer(port: port, server: server, log: log)
    }

    func stop() { server.cancel() }
}
