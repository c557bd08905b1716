import Courier

/// How a call to the model failed, classified for the worker (``ClassifiedHandlerError``): a 429 is retried after
/// its `Retry-After`, a 5xx or a broken stream with the worker's backoff, and any other 4xx fails the request at
/// once, since sending it again cannot help.
public enum ChatModelError: ClassifiedHandlerError, CustomStringConvertible, Equatable {
    /// HTTP 429; the provider's `Retry-After`, when it sent one.
    case rateLimited(retryAfter: Duration?)
    /// HTTP 5xx: the provider is down or overloaded.
    case unavailable(status: Int)
    /// HTTP 4xx other than 429: the request is wrong (bad model name, too long, no credit).
    case rejected(status: Int, detail: String)
    /// The answer was not the stream of chunks the API promises.
    case malformed(String)

    /// False for a rejected request (4xx other than 429); true otherwise.
    public var isRetryable: Bool {
        if case .rejected = self { return false }
        return true
    }

    /// The 429's `Retry-After`; nil otherwise (the worker's backoff).
    public var retryAfter: Duration? {
        if case .rateLimited(let after) = self { return after }
        return nil
    }

    /// What happened, as stored in a failed response.
    public var description: String {
        switch self {
        case .rateLimited(let after):
            "the model is rate limited (HTTP 429)" + (after.map { ", retry after \($0)" } ?? "")
        case .unavailable(let status): "the model is unavailable (HTTP \(status))"
        case .rejected(let status, let detail): "the model rejected the request (HTTP \(status)): \(detail)"
        case .malformed(let detail): "the model's answer could not be read: \(detail)"
        }
    }

    /// The error for a non-200 status, with `Retry-After` (seconds) and the start of the body.
    static func forStatus(_ status: Int, retryAfter: String?, body: String) -> ChatModelError {
        switch status {
        case 429: .rateLimited(retryAfter: retryAfter.flatMap(Double.init).map { .milliseconds(Int($0 * 1000)) })
        case 500...: .unavailable(status: status)
        default: .rejected(status: status, detail: String(body.prefix(300)))
        }
    }
}
