import Synchronization

/// A token-bucket rate limit: on average at most ``rate`` acquisitions per second, with bursts of up to
/// ``burst``.
///
/// Callers that find the bucket empty reserve a future token and sleep until it is due (never blocking a
/// thread), so waiting callers are admitted in arrival order at exactly ``rate`` per second. Use one per
/// queue (`COURIER_RATE_LIMIT`) to stay under a provider's requests-per-second quota and avoid HTTP 429.
/// Safe to use from any number of tasks.
public final class TokenBucket: Sendable {
    /// Tokens added per second.
    public let rate: Double
    /// The most tokens the bucket holds, and so the largest burst admitted at once.
    public let burst: Double

    private struct State {
        var tokens: Double
        var updatedAt: ContinuousClock.Instant
    }

    private let state: Mutex<State>

    /// Creates a full bucket.
    /// - Parameters:
    ///   - rate: Tokens per second (more than 0).
    ///   - burst: Capacity; at least 1. Defaults to one second's worth of tokens.
    public init(rate: Double, burst: Double? = nil) {
        self.rate = max(rate, 1e-6)
        self.burst = max(1, burst ?? rate)
        self.state = Mutex(State(tokens: self.burst, updatedAt: ContinuousClock.now))
    }

    /// Takes a token, sleeping until one is due when the bucket is empty.
    /// - Throws: `CancellationError` when the task is cancelled while it sleeps; the token is given back.
    public func acquire() async throws {
        let wait = reserve(at: ContinuousClock.now)
        guard wait > .zero else { return }
        do {
            try await Task.sleep(for: wait)
        } catch {
            giveBack()
            throw error
        }
    }

    /// Takes a token if one is available now, without waiting.
    /// - Returns: `nil` when a token was taken; otherwise how long until one will be available (nothing is taken).
    public func tryAcquire(at now: ContinuousClock.Instant = .now) -> Duration? {
        state.withLock { state in
            let elapsed = max(0, (now - state.updatedAt).inSeconds)
            state.tokens = min(burst, state.tokens + elapsed * rate)
            state.updatedAt = max(state.updatedAt, now)
            guard state.tokens < 1 else {
                state.tokens -= 1
                return nil
            }
            return .nanoseconds(Int64(((1 - state.tokens) / rate * 1e9).rounded(.up)))
        }
    }

    /// Takes a token at `now` and returns how long the caller must wait before using it (`.zero` when one was
    /// available). A negative balance records tokens promised to earlier callers.
    func reserve(at now: ContinuousClock.Instant) -> Duration {
        state.withLock { state in
            let elapsed = max(0, (now - state.updatedAt).inSeconds)
            state.tokens = min(burst, state.tokens + elapsed * rate)
            state.updatedAt = max(state.updatedAt, now)
            state.tokens -= 1
            guard state.tokens < 0 else { return .zero }
            return .nanoseconds(Int64((-state.tokens / rate * 1e9).rounded(.up)))
        }
    }

    private func giveBack() {
        state.withLock { state in state.tokens = min(burst, state.tokens + 1) }
    }
}
