import Courier

/// Where the model is: an OpenAI-compatible chat-completions endpoint (OpenAI, a vLLM or llama.cpp server, a
/// gateway), read from the environment like the queue itself.
public struct ChatModelSettings: Sendable {
    /// `OPENAI_BASE_URL`: the API root; `/chat/completions` is appended. `https://api.openai.com/v1` by default.
    public var baseURL: String
    /// `OPENAI_API_KEY`: sent as a bearer token when set. Never logged.
    public var apiKey: String?
    /// `OPENAI_MODEL`: the model asked for. `gpt-4o-mini` by default.
    public var model: String
    /// `OPENAI_TIMEOUT_SECONDS`: how long one call may take, streaming included. 120 s by default.
    public var timeout: Duration

    /// Settings given directly.
    public init(baseURL: String, apiKey: String? = nil, model: String, timeout: Duration = .seconds(120)) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.model = model
        self.timeout = timeout
    }

    /// Settings from the environment.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for a base URL that is not http(s) or a bad
    ///   timeout.
    public init(environment: QueueEnvironment) throws(CourierError) {
        func value(_ name: String) -> String? {
            guard let text = environment.values[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
                return nil
            }
            return text
        }
        let baseURL = value("OPENAI_BASE_URL") ?? "https://api.openai.com/v1"
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else {
            throw CourierError(.invalidConfiguration, "OPENAI_BASE_URL must start with http:// or https://")
        }
        var timeout = Duration.seconds(120)
        if let text = value("OPENAI_TIMEOUT_SECONDS") {
            timeout = try SettingValue.seconds(text, name: "OPENAI_TIMEOUT_SECONDS", in: 1...3_600)
        }
        self.init(
            baseURL: baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL, apiKey: value("OPENAI_API_KEY"),
            model: value("OPENAI_MODEL") ?? "gpt-4o-mini", timeout: timeout)
    }
}
