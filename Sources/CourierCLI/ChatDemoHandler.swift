import Courier
import Foundation

/// The handler of `courier serve --handler chat`: a stand-in for an LLM call that answers the chat payload
/// (`{"message", "session_id"}`) slowly enough to watch. It reports progress through three steps, streams its
/// answer a word at a time (80 ms apart, so a ten-word question takes about a second), and answers with
/// `{"message", "plan", "thinking_log"}`. A payload that is not the chat JSON is treated as the message text.
enum ChatDemoHandler {
    static let wordInterval: Duration = .milliseconds(80)

    static let handle: Worker.StreamingHandler = { request, events in
        let message =
            (try? JSONDecoder().decode(ChatRequest.self, from: request.payload))?.message
            ?? String(decoding: request.payload, as: UTF8.self)
        let plan = "read the question, think, answer word by word"
        try await events.progress(fraction: 0, message: "reading the question", counter: 1)
        try await Task.sleep(for: wordInterval * 2)
        try await events.progress(fraction: 0.1, message: "thinking", counter: 2)
        try await Task.sleep(for: wordInterval * 2)
        let words = ("You asked: " + message).split(separator: " ", omittingEmptySubsequences: true)
        for (index, word) in words.enumerated() {
            try await events.write((index == 0 ? "" : " ") + word)
            try await events.progress(
                fraction: min(1, 0.1 + 0.9 * Double(index + 1) / Double(words.count)), message: "answering", counter: 3)
            try await Task.sleep(for: wordInterval)
        }
        let answer = ChatResponse(
            message: words.joined(separator: " "), plan: plan,
            thinkingLog: ["read \(message.count) characters", "answered in \(words.count) words"])
        return try JSONEncoder().encode(answer)
    }
}
