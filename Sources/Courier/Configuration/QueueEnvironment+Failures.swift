extension QueueEnvironment {
    /// `COURIER_MAX_RETRY_HINT_SECONDS`: the longest retry delay a handler's hint may ask for
    /// (``WorkerConfiguration/maximumRetryHint``); 300 s when unset.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` unless it is 0…86,400.
    public func maximumRetryHint() throws(CourierError) -> Duration {
        try seconds("COURIER_MAX_RETRY_HINT_SECONDS", default: 300, range: 0...86_400)
    }

    /// The circuit breaker (``WorkerConfiguration/circuitBreaker``): on when `COURIER_BREAKER_FAILURES` (1…1,000
    /// consecutive failures) is set, with `COURIER_BREAKER_COOL_DOWN_SECONDS` (0.001…86,400, 30 by default) and
    /// `COURIER_BREAKER_HEADER` (the key's request header, `model` by default); nil when it is unset.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` for a value out of range, or
    ///   for a cool-down or header without `COURIER_BREAKER_FAILURES`.
    public func circuitBreaker() throws(CourierError) -> CircuitBreakerConfiguration? {
        guard nonEmpty("COURIER_BREAKER_FAILURES") != nil else {
            for name in ["COURIER_BREAKER_COOL_DOWN_SECONDS", "COURIER_BREAKER_HEADER"] where nonEmpty(name) != nil {
                throw CourierError(
                    .invalidConfiguration, "\(name) needs COURIER_BREAKER_FAILURES, which turns the breaker on")
            }
            return nil
        }
        let header = nonEmpty("COURIER_BREAKER_HEADER") ?? "model"
        guard header.utf8.count <= 256, header.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw CourierError(
                .invalidConfiguration, "COURIER_BREAKER_HEADER must be a header name of 1 to 256 visible characters")
        }
        return CircuitBreakerConfiguration(
            keyHeader: header, failureThreshold: try integer("COURIER_BREAKER_FAILURES", default: 5, range: 1...1_000),
            coolDown: try seconds("COURIER_BREAKER_COOL_DOWN_SECONDS", default: 30, range: 0.001...86_400))
    }
}
