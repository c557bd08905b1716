/// The settings every adapter honours: which queue, and the timing of leases, attempts and responses.
///
/// Adapter-specific settings (a Redis URL, an SQLite path) live in each adapter's own configuration.
public struct QueueConfiguration: Sendable, Hashable {
    /// The queue's name. Queues with different names never see each other's requests or responses.
    /// Valid names are 1–128 characters from `[A-Za-z0-9._:-]`.
    public var queueName: String
    /// How long a delivery belongs to its consumer before it is delivered again. 30 s by default.
    public var leaseDuration: Duration
    /// How many deliveries a request gets before it is dead-lettered. 3 by default.
    public var maxAttempts: Int
    /// How long a stored response stays readable. 300 s by default.
    public var responseTTL: Duration
    /// The largest request or response payload accepted, in bytes. 8 MiB by default.
    public var maxPayloadBytes: Int
    /// How many events a request's event log keeps; older ones are trimmed and readers behind them get a
    /// ``RequestEventElement/gap(after:through:)``. 500 by default.
    public var maxEventsPerRequest: Int

    /// Creates a configuration; every argument has the documented default.
    public init(
        queueName: String = "courier", leaseDuration: Duration = .seconds(30), maxAttempts: Int = 3,
        responseTTL: Duration = .seconds(300), maxPayloadBytes: Int = 8 << 20, maxEventsPerRequest: Int = 500
    ) {
        self.maxEventsPerRequest = maxEventsPerRequest
        self.queueName = queueName
        self.leaseDuration = leaseDuration
        self.maxAttempts = maxAttempts
        self.responseTTL = responseTTL
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Checks every setting.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidQueueName`` for a bad queue name, or
    ///   ``CourierError/Code/invalidConfiguration`` for a non-positive duration, attempt count or size.
    public func validate() throws(CourierError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-")
        if queueName.isEmpty || queueName.count > 128 || !queueName.allSatisfy(allowed.contains) {
            throw CourierError(
                .invalidQueueName, "queue name '\(queueName)' must be 1-128 characters from [A-Za-z0-9._:-]")
        }
        if leaseDuration <= .zero { throw CourierError(.invalidConfiguration, "the lease duration must be positive") }
        if responseTTL <= .zero { throw CourierError(.invalidConfiguration, "the response TTL must be positive") }
        if maxAttempts < 1 { throw CourierError(.invalidConfiguration, "max attempts must be at least 1") }
        if maxPayloadBytes < 1 { throw CourierError(.invalidConfiguration, "the payload limit must be positive") }
        if maxEventsPerRequest < 1 {
            throw CourierError(.invalidConfiguration, "the events kept per request must be at least 1")
        }
    }

    /// Checks a payload against ``maxPayloadBytes``.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/payloadTooLarge``.
    public func checkPayloadSize(_ count: Int, of what: @autoclosure () -> String) throws(CourierError) {
        if count > maxPayloadBytes {
            throw CourierError(
                .payloadTooLarge, "\(what()) is \(count) bytes, over the limit of \(maxPayloadBytes) bytes")
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
