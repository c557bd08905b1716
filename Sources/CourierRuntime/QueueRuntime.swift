import Courier
import CourierRedis
import Logging

/// Builds what the environment names: the backend `QUEUE_TYPE` selects (from a ``QueueAdapterRegistry``), and
/// the worker limits (`COURIER_MAX_INFLIGHT`, `COURIER_RATE_LIMIT`, `COURIER_GLOBAL_INFLIGHT`), with the
/// validation and messages the `courier` command gives. The `courier` command is built on it.
public struct QueueRuntime: Sendable {
    /// The variables read; the process environment by default.
    public let environment: QueueEnvironment
    /// The queue types `QUEUE_TYPE` may name.
    public let registry: QueueAdapterRegistry

    /// A runtime over `environment` and `registry`.
    public init(environment: QueueEnvironment = QueueEnvironment(), registry: QueueAdapterRegistry = .standard) {
        self.environment = environment
        self.registry = registry
    }

    /// The adapter `QUEUE_TYPE` selects.
    /// - Throws: ``CourierError`` with code `unknownQueueType` naming every registered type.
    public func adapter() throws(CourierError) -> QueueAdapterRegistry.Adapter {
        try registry.adapter(for: environment)
    }

    /// Builds the backend `QUEUE_TYPE` names, connected and ready. See ``QueueAdapterRegistry/makeBackend(_:readOnly:logger:)``.
    ///
    /// A store that cannot be opened at all (a directory, a damaged file, a SQLite file another process kept
    /// locked throughout start-up) is a configuration problem, not a server to wait for: it is thrown as
    /// `invalidConfiguration`. `backendUnavailable` means a server that may come back (Redis down).
    public func makeBackend(
        readOnly: Bool = false, logger: Logger = Logger(label: "courier.queue")
    ) async throws -> any QueueBackend {
        do {
            return try await registry.makeBackend(environment, readOnly: readOnly, logger: logger)
        } catch let error as CourierError where error.code == .storageFailure {
            throw CourierError(.invalidConfiguration, error.message)
        } catch let error as CourierError
            where error.code == .backendUnavailable && (try? adapter().type) == .sqlite
        {
            throw CourierError(.invalidConfiguration, error.message + " (another process held a lock on it throughout)")
        }
    }

    /// Commands `backend` has sent to its store, for adapters that count them (Redis, also behind
    /// `InstrumentedQueueBackend`); nil otherwise.
    public static func commandsSent(by backend: any QueueBackend) -> Int? {
        let unwrapped = (backend as? InstrumentedQueueBackend)?.base ?? backend
        return (unwrapped as? RedisQueueBackend)?.commandsSent
    }

    /// Checks the limit variables without opening anything; returns `COURIER_GLOBAL_INFLIGHT`, if set.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for bad values, or for `COURIER_GLOBAL_INFLIGHT`
    ///   with a queue type other than a Redis one.
    @discardableResult
    public func checkLimits() throws(CourierError) -> Int? {
        _ = try environment.maxInFlight()
        _ = try environment.rateLimit()
        guard let global = try environment.globalInFlight() else { return nil }
        let type = try adapter().type
        guard [.redisList, .redisPubSub, .redisStreams].contains(type) else {
            throw CourierError(
                .invalidConfiguration,
                "COURIER_GLOBAL_INFLIGHT needs QUEUE_TYPE=redis-list, redis-pubsub or redis-streams (the limit is "
                    + "held in Redis); use COURIER_MAX_INFLIGHT for a per-process limit")
        }
        return global
    }

    /// The process's worker limits. With `COURIER_GLOBAL_INFLIGHT` it also opens the Redis-held gate shared by
    /// every worker process (slots leased for the queue's lease duration), which the caller closes at exit.
    /// - Throws: As ``checkLimits()``, and `backendUnavailable` when the gate's Redis cannot be reached.
    public func makeLimits() async throws -> (limits: WorkerLimits, globalGate: RedisConcurrencyGate?) {
        var limits = try environment.workerLimits()
        guard let global = try checkLimits() else { return (limits, nil) }
        let gate = try await RedisConcurrencyGate(
            url: environment.redisURL, limit: global, slotLease: try environment.queueConfiguration().leaseDuration)
        limits.sharedGate = gate
        return (limits, gate)
    }
}
