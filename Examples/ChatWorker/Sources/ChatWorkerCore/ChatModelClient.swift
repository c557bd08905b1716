import AsyncHTTPClient
import Courier
import Foundation
import NIOCore
import NIOHTTP1

/// A streaming client of an OpenAI-compatible `POST /chat/completions`: sends the messages with
/// `"stream": true` and hands each content token to the caller as the server-sent events arrive.
public struct ChatModelClient: Sendable {
    /// Where the model is and which one is asked.
    public let settings: ChatModelSettings
    let http: HTTPClient

    /// A client over `http` (``HTTPClient/shared`` by default).
    public init(settings: ChatModelSettings, http: HTTPClient = .shared) {
        self.settings = settings
        self.http = http
    }

    /// One message of the conversation.
    public struct Message: Codable, Sendable {
        /// `system`, `user` or `assistant`.
        public var role: String
        /// The text.
        public var content: String
        /// A message of `role` saying `content`.
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    private struct Body: Encodable {
        let model: String
        let messages: [Message]
        let stream = true
    }

    private struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable { let content: String? }
            let delta: Delta?
        }
        let choices: [Choice]
    }

    /// Streams the answer to `messages`, calling `onToken` with each piece of content as it arrives.
    /// - Returns: the whole answer.
    /// - Throws: ``ChatModelError`` for an HTTP error status or an unreadable stream; the HTTP client's error when
    ///   the server cannot be reached or `settings.timeout` passes (both retryable for the worker);
    ///   `CancellationError` when the worker stops the call.
    public func complete(
        _ messages: [Message], onToken: (String) async throws -> Void
    ) async throws -> String {
        var request = HTTPClientRequest(url: settings.baseURL + "/chat/completions")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let key = settings.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.body = .bytes(
            ByteBuffer(bytes: try JSONEncoder().encode(Body(model: settings.model, messages: messages))))
        let timeout = TimeAmount.milliseconds(Int64(settings.timeout.inSeconds * 1000))
        let response = try await http.execute(request, timeout: timeout)
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 64 << 10)
            throw ChatModelError.forStatus(
                Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"),
                body: String(buffer: body))
        }
        var answer = ""
        var pending = ""
        var finished = false
        for try await buffer in response.body {
            pending += String(buffer: buffer)
            // Server-sent events: one `data: …` line per event; `data: [DONE]` ends the stream.
            while let newline = pending.firstIndex(of: "\n") {
                let line = pending[..<newline].trimmingCharacters(in: .whitespaces)
                pending = String(pending[pending.index(after: newline)...])
                guard line.hasPrefix("data:") else { continue }
                let data = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
                if data == "[DONE]" {
                    finished = true
                    continue
                }
                let chunk: Chunk
                do {
                    chunk = try JSONDecoder().decode(Chunk.self, from: Data(data.utf8))
                } catch {
                    throw ChatModelError.malformed("an event that is not a completion chunk: \(data.prefix(200))")
                }
                for token in chunk.choices.compactMap({ $0.delta?.content }) where !token.isEmpty {
                    answer += token
                    try await onToken(token)
                }
            }
        }
        guard finished else { throw ChatModelError.malformed("the stream ended before [DONE]") }
        return answer
    }
}
