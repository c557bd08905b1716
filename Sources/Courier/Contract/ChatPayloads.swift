/// The JSON request body of the chat service Courier grew out of: `{"message": "...", "session_id": "..."}`.
public struct ChatRequest: Codable, Sendable, Hashable {
    /// The user's question.
    public var message: String
    /// The conversation this message belongs to, when there is one.
    public var sessionID: String?

    /// Creates a chat request body.
    public init(message: String, sessionID: String? = nil) {
        self.message = message
        self.sessionID = sessionID
    }

    private enum CodingKeys: String, CodingKey {
        case message
        case sessionID = "session_id"
    }
}

/// The JSON response body of the chat service: `{"status": "ok", "message": "...", "plan": ..., "thinking_log": [...]}`.
public struct ChatResponse: Codable, Sendable, Hashable {
    /// How the service ended the turn (`ok`, say), when it says.
    public var status: String?
    /// The answer.
    public var message: String
    /// The plan the model followed, when it made one.
    public var plan: String?
    /// The model's intermediate reasoning steps, when logged.
    public var thinkingLog: [String]?

    /// Creates a chat response body.
    public init(status: String? = nil, message: String, plan: String? = nil, thinkingLog: [String]? = nil) {
        self.status = status
        self.message = message
        self.plan = plan
        self.thinkingLog = thinkingLog
    }

    private enum CodingKeys: String, CodingKey {
        case status, message, plan
        case thinkingLog = "thinking_log"
    }
}
