/// An error that tells a ``Worker`` how to treat a failed attempt: retry it (after a hint, such as an HTTP 429's
/// `Retry-After`) or fail the request at once. ``PermanentHandlerError`` and ``RetryableHandlerError`` conform,
/// and so can an application's own errors (an LLM client's error type, say). Any other error is retryable with
/// the worker's own backoff.
public protocol ClassifiedHandlerError: Error {
    /// False when retrying cannot help (an HTTP 400): the request fails at once with a ``ResponseStatus/failed``
    /// response, whatever attempt it was on.
    var isRetryable: Bool { get }
    /// How long to wait before the next attempt, used instead of the worker's ``RetryPolicy`` and capped at
    /// ``WorkerConfiguration/maximumRetryHint``; nil for the policy's backoff.
    var retryAfter: Duration? { get }
}

extension ClassifiedHandlerError {
    /// No hint: the worker's ``RetryPolicy`` spaces the retries.
    public var retryAfter: Duration? { nil }
}

extension PermanentHandlerError: ClassifiedHandlerError {
    /// Always false: the request fails at once.
    public var isRetryable: Bool { false }
}

/// An error a ``Worker`` handler throws for a failure worth retrying, optionally with when to retry (an HTTP
/// 429's or 503's `Retry-After`). On the last attempt the request fails as for any error.
public struct RetryableHandlerError: ClassifiedHandlerError, CustomStringConvertible, Sendable {
    /// Why the attempt failed, as logged and, on the last attempt, stored in the response's error.
    public let reason: String
    /// When to retry; nil for the worker's backoff.
    public let retryAfter: Duration?

    /// Creates the error; `retryAfter` overrides the worker's backoff (up to its maximum hint).
    public init(_ reason: String, retryAfter: Duration? = nil) {
        self.reason = reason
        self.retryAfter = retryAfter
    }

    /// Always true.
    public var isRetryable: Bool { true }

    /// The reason.
    public var description: String { reason }
}
