import Courier

/// How a ``CourierGateway`` serves: how long requests may wait, how often idle event streams are kept alive, and
/// who may call it.
public struct GatewayConfiguration: Sendable {
    /// The longest a client may ask to wait (`?wait=` on submit, `?timeout=` on wait); longer asks are cut to it.
    public var maxWait: Duration
    /// How long `GET /v1/tasks/{id}/wait` waits when the client gives no timeout.
    public var defaultWait: Duration
    /// The longest an event stream goes without a write: with nothing to send it writes a comment, so proxies keep
    /// it open. A graceful shutdown ends a stream at its next write, so within this interval.
    public var heartbeatInterval: Duration
    /// Bearer tokens that may call the task routes; empty means no authentication (see ``CourierGateway``).
    public var tokens: [String]

    /// Requests a second each client may make to the task and queue routes (``RateLimitMiddleware``); `nil` for
    /// no limit.
    public var rateLimit: Double?
    /// The most requests a client may make at once under ``rateLimit``; `nil` for one second's worth.
    public var rateBurst: Double?

    /// Creates a configuration.
    public init(
        maxWait: Duration = .seconds(60), defaultWait: Duration = .seconds(30),
        heartbeatInterval: Duration = .seconds(15), tokens: [String] = [], rateLimit: Double? = nil,
        rateBurst: Double? = nil
    ) {
        self.maxWait = maxWait
        self.defaultWait = defaultWait
        self.heartbeatInterval = heartbeatInterval
        self.tokens = tokens
        self.rateLimit = rateLimit
        self.rateBurst = rateBurst
    }
}
