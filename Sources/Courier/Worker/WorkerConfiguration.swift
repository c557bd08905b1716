/// How a ``Worker`` runs its handler.
public struct WorkerConfiguration: Sendable, Hashable {
    /// How many handlers run at once. Each pulls one delivery at a time, so no more than this many requests are
    /// ever leased by the worker. 4 by default.
    public var concurrency: Int
    /// How often a running handler's lease is extended; `nil` means a third of the queue's lease duration.
    public var leaseRenewalInterval: Duration?
    /// How retries of failed attempts are spaced.
    public var retry: RetryPolicy
    /// How long in-flight handlers may keep running after a graceful shutdown starts; after that they are
    /// cancelled and their deliveries released for another worker. 30 s by default.
    public var gracePeriod: Duration
    /// How long one handler call may run; after that the handler is cancelled and the attempt fails (it is
    /// retried like any failure, or answered as failed on the last attempt). `nil` lets a handler run for as
    /// long as it holds its lease. 10 minutes by default: long enough for a slow LLM call, short enough that a
    /// hung one gives its slot back.
    public var handlerTimeout: Duration?

    /// How long a streaming handler's events may wait to be batched into one append. 20 ms by default.
    public var eventFlushInterval: Duration = .milliseconds(20)
    /// How many buffered bytes of events trigger an append at once, before ``eventFlushInterval``. 16 KiB by
    /// default.
    public var eventFlushBytes: Int = 16 << 10

    /// The longest retry delay a handler's hint (``ClassifiedHandlerError/retryAfter``) may ask for; longer hints
    /// are cut to it. 5 minutes by default.
    public var maximumRetryHint: Duration = .seconds(300)
    /// A per-key circuit breaker; none by default. See ``CircuitBreakerConfiguration``.
    public var circuitBreaker: CircuitBreakerConfiguration?

    /// The default ``handlerTimeout``: 10 minutes.
    public static let defaultHandlerTimeout: Duration = .seconds(600)

    /// Creates a configuration; every argument has the documented default.
    public init(
        concurrency: Int = 4, leaseRenewalInterval: Duration? = nil, retry: RetryPolicy = RetryPolicy(),
        gracePeriod: Duration = .seconds(30), handlerTimeout: Duration? = WorkerConfiguration.defaultHandlerTimeout
    ) {
        self.concurrency = max(1, concurrency)
        self.leaseRenewalInterval = leaseRenewalInterval
        self.retry = retry
        self.gracePeriod = gracePeriod
        self.handlerTimeout = handlerTimeout
    }
}

/// Exponential backoff with jitter between the attempts of a failing request.
///
/// The delay before attempt `n + 1` is `initialDelay × 2^(n-1)`, capped at ``maximumDelay``, multiplied by a
/// random factor in `[1 - jitter, 1]` so that failures do not retry in lockstep.
public struct RetryPolicy: Sendable, Hashable {
    /// The delay after the first failed attempt. 1 s by default.
    public var initialDelay: Duration
    /// The longest delay. 60 s by default.
    public var maximumDelay: Duration
    /// The fraction of the delay that is randomised, from 0 (none) to 1 (full jitter). 0.5 by default.
    public var jitter: Double

    /// Creates a policy; every argument has the documented default.
    public init(initialDelay: Duration = .seconds(1), maximumDelay: Duration = .seconds(60), jitter: Double = 0.5) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay to wait after failed attempt number `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponent = Double(min(max(attempt - 1, 0), 30))
        let base = min(initialDelay.inSeconds * pow2(exponent), maximumDelay.inSeconds)
        let factor = 1 - jitter * Double.random(in: 0...1)
        return .milliseconds(Int64((base * factor * 1000).rounded()))
    }

    private func pow2(_ exponent: Double) -> Double { Double(1 << Int(exponent)) }
}
