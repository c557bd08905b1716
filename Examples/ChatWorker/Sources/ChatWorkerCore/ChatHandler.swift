import Courier
import Foundation

/// Answers a `ChatRequest` (`{"message", "session_id"}`) with a `ChatResponse` (`{"status", "message", "plan",
/// "thinking_log"}`) by asking the model, forwarding its tokens as streamed chunks while it answers.
public struct ChatHandler: Sendable {
    /// The model it asks.
    public let client: ChatModelClient

    /// A handler that asks `client`'s model.
    public init(client: ChatModelClient) { self.client = client }

    /// The worker's streaming handler.
    /// - Throws: `PermanentHandlerError` for a payload that is not a chat request; ``ChatModelError`` and the HTTP
    ///   client's errors as ``ChatModelClient/complete(_:onToken:)`` throws them.
    public func handle(_ request: QueueRequest, events: RequestEventWriter) async throws -> Data {
        let chat: ChatRequest
        do {
            chat = try request.decode(ChatRequest.self)
        } catch {
            throw PermanentHandlerError("the payload is not a chat request: {\"message\", \"session_id\"} expected")
        }
        try await events.progress(fraction: 0, message: "asking \(client.settings.model)")
        var tokens = 0
        let answer = try await client.complete([
            .init(role: "system", content: "You are a helpful assistant. Session \(chat.sessionID ?? "none")."),
            .init(role: "user", content: chat.message),
        ]) { token in
            tokens += 1
            try await events.write(token)
        }
        try await events.progress(fraction: 1, message: "answered")
        let response = ChatResponse(
            status: "ok", message: answer, thinkingLog: ["asked \(client.settings.model)", "streamed \(tokens) tokens"])
        return try JSONEncoder().encode(response)
    }
}
