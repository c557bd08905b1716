import Logging
import Metrics
import Synchronization

/// The breakers of one worker, one per key (see ``CircuitBreakerConfiguration``). Each state change is a log
/// line and the gauge `courier_worker_circuit_open{key}` (1 open, 0 closed).
final class CircuitBreakers: Sendable {
    enum Admission: Equatable {
        /// Call the handler.
        case allowed
        /// Call the handler as the trial that decides whether the breaker closes.
        case trial
        /// Do not call the handler; give the delivery back for this long.
        case rejected(Duration)
    }

    private struct Breaker {
        var failures = 0
        var openUntil: ContinuousClock.Instant?
        var trialRunning = false
    }

    let configuration: CircuitBreakerConfiguration
    private let breakers = Mutex<[String: Breaker]>([:])
    private let logger: Logger

    init(configuration: CircuitBreakerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The key of `request`.
    func key(of request: QueueRequest) -> String { request.headers[configuration.keyHeader] ?? "" }

    /// Whether the handler may be called for `key` now.
    func admit(_ key: String) -> Admission {
        let now = ContinuousClock.now
        return breakers.withLock { breakers in
            guard let until = breakers[key]?.openUntil else { return .allowed }
            if now < until { return .rejected(until - now) }
            if breakers[key]?.trialRunning == true {
                // A trial is deciding: wait for it, a short while at a time.
                return .rejected(min(configuration.coolDown, .seconds(1)))
            }
            breakers[key]?.trialRunning = true
            return .trial
        }
    }

    /// Records how a call for `key` ended: `failed` for a retryable failure, false for an answer. Calls that
    /// ended otherwise (a permanent failure, cancellation) are not recorded, except that a trial is over.
    func record(_ key: String, failed: Bool?, trial: Bool) {
        let now = ContinuousClock.now
        enum Change { case opened(Int), reopened, closed }
        let change = breakers.withLock { breakers -> Change? in
            var breaker = breakers[key] ?? Breaker()
            defer { breakers[key] = breaker.failures == 0 && breaker.openUntil == nil ? nil : breaker }
            if trial { breaker.trialRunning = false }
            switch failed {
            case nil:
                return nil
            case false?:
                let wasOpen = breaker.openUntil != nil
                breaker = Breaker()
                return wasOpen ? .closed : nil
            case true?:
                breaker.failures += 1
                if trial {
                    breaker.openUntil = now.advanced(by: configuration.coolDown)
                    return .reopened
                }
                if breaker.openUntil == nil && breaker.failures >= configuration.failureThreshold {
                    breaker.openUntil = now.advanced(by: configuration.coolDown)
                    return .opened(breaker.failures)
                }
                return nil
            }
        }
        guard let change else { return }
        let gauge = Gauge(label: "courier_worker_circuit_open", dimensions: [("key", key)])
        switch change {
        case .opened(let failures):
            gauge.record(1)
            logger.warning(
                "circuit breaker opened: not calling the handler for this key during the cool-down",
                metadata: ["key": "\(key)", "failures": "\(failures)", "cool_down": "\(configuration.coolDown)"])
        case .reopened:
            gauge.record(1)
            logger.warning(
                "circuit breaker trial failed: open for another cool-down",
                metadata: ["key": "\(key)", "cool_down": "\(configuration.coolDown)"])
        case .closed:
            gauge.record(0)
            logger.notice("circuit breaker closed: the trial call succeeded", metadata: ["key": "\(key)"])
        }
    }
}
