/// A per-key circuit breaker for a ``Worker``: after ``failureThreshold`` consecutive failed attempts for one key
/// (the value of the ``keyHeader`` request header, such as the model a request asks for), the worker stops
/// calling its handler for that key for ``coolDown``, giving those deliveries back without spending their
/// attempts (``QueueBackend/giveBack(_:after:)``) so other workers, or this one later, take them. After the
/// cool-down one trial call decides: success closes the breaker, failure opens it for another cool-down.
/// Requests for other keys keep flowing. A permanent failure (``ClassifiedHandlerError/isRetryable`` false) is
/// the request's fault, not the key's, and does not count.
public struct CircuitBreakerConfiguration: Sendable, Hashable {
    /// The request header whose value is the key (case-sensitive, as headers are stored); requests without it
    /// share the key "".
    public var keyHeader: String
    /// Consecutive failed attempts that open the breaker. 5 by default.
    public var failureThreshold: Int
    /// How long an open breaker keeps the handler from being called for its key. 30 s by default.
    public var coolDown: Duration

    /// Creates a configuration; every argument has the documented default.
    public init(keyHeader: String = "model", failureThreshold: Int = 5, coolDown: Duration = .seconds(30)) {
        self.keyHeader = keyHeader
        self.failureThreshold = max(1, failureThreshold)
        self.coolDown = max(.milliseconds(1), coolDown)
    }
}
