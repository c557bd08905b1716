import Courier
import CourierRedis
import CourierSQLite

/// The one place a `QUEUE_TYPE` becomes an adapter.
enum BackendFactory {
    /// Builds the backend the environment names, connected and ready.
    /// - Parameter readOnly: Open a store that must already exist, and create or convert nothing (SQLite).
    /// - Throws: `CourierError` for an unknown or unbuilt queue type, bad settings, or an unreachable store; a
    ///   store that cannot be opened at all (a directory, a locked or damaged file) is a usage failure (exit 2).
    static func makeBackend(
        _ environment: QueueEnvironment, readOnly: Bool = false
    ) async throws
        -> any QueueBackend
    {
        do {
            return try await openBackend(environment, readOnly: readOnly)
        } catch let error as CourierError where error.code == .storageFailure {
            throw CommandFailure.usage(error.message)
        } catch let error as CourierError
            where error.code == .backendUnavailable && (try? environment.queueType()) == .sqlite
        {
            // A file still locked after the busy timeout at start-up: a local configuration problem, not a
            // server to wait for.
            throw CommandFailure.usage(error.message + " (another process held a lock on it throughout)")
        }
    }

    private static func openBackend(
        _ environment: QueueEnvironment, readOnly: Bool
    ) async throws
        -> any QueueBackend
    {
        let configuration = try environment.queueConfiguration()
        switch try environment.queueType() {
        case .memory:
            return try MemoryQueueBackend(configuration: configuration)
        case .sqlite:
            var options = SQLiteQueueBackend.Options()
            switch environment.values["SQLITE_SYNCHRONOUS"]?.lowercased() {
            case nil, "", "normal": options.synchronous = .normal
            case "full": options.synchronous = .full
            case let other?:
                throw CourierError(
                    .invalidConfiguration,
                    "SQLITE_SYNCHRONOUS='\(other.prefix(40))' is not valid: it must be normal or full")
            }
            options.access = readOnly ? .readOnly : .readWrite
            return try await SQLiteQueueBackend(
                path: environment.sqlitePath, configuration: configuration, options: options)
        case .redisList:
            return try await RedisQueueBackend(
                url: environment.redisURL, wakeMode: .list, configuration: configuration)
        case .redisPubSub:
            return try await RedisQueueBackend(
                url: environment.redisURL, wakeMode: .pubSub, configuration: configuration)
        case .redisStreams:
            return try await RedisQueueBackend(
                url: environment.redisURL, wakeMode: .streams, configuration: configuration)
        case let type:
            throw CourierError(.unsupportedQueueType, "QUEUE_TYPE=\(type) has no adapter in this build")
        }
    }

    /// The process's worker limits from the environment. With `COURIER_GLOBAL_INFLIGHT` it also opens the
    /// Redis-held gate shared by every worker process (slots leased for the queue's lease duration); the caller
    /// closes it at exit.
    /// - Throws: `CourierError` for bad values, or `COURIER_GLOBAL_INFLIGHT` with a queue type other than Redis.
    static func makeLimits(_ environment: QueueEnvironment) async throws -> (WorkerLimits, RedisConcurrencyGate?) {
        var limits = try environment.workerLimits()
        guard let global = try checkLimits(environment) else { return (limits, nil) }
        let gate = try await RedisConcurrencyGate(
            url: environment.redisURL, limit: global, slotLease: try environment.queueConfiguration().leaseDuration)
        limits.sharedGate = gate
        return (limits, gate)
    }

    /// Checks the limit variables without opening anything; returns `COURIER_GLOBAL_INFLIGHT`, if set.
    /// - Throws: `CourierError` for bad values, or `COURIER_GLOBAL_INFLIGHT` with a queue type other than Redis.
    @discardableResult
    static func checkLimits(_ environment: QueueEnvironment) throws -> Int? {
        _ = try environment.maxInFlight()
        _ = try environment.rateLimit()
        guard let global = try environment.globalInFlight() else { return nil }
        let queueType = try environment.queueType()
        guard [.redisList, .redisPubSub, .redisStreams].contains(queueType) else {
            throw CourierError(
                .invalidConfiguration,
                "COURIER_GLOBAL_INFLIGHT needs QUEUE_TYPE=redis-list, redis-pubsub or redis-streams (the limit is held in Redis); "
                    + "use COURIER_MAX_INFLIGHT for a per-process limit")
        }
        return global
    }

    /// Commands `backend` has sent to its store, for adapters that count them (Redis); nil otherwise.
    static func commandsSent(by backend: any QueueBackend) -> Int? {
        let unwrapped = (backend as? InstrumentedQueueBackend)?.base ?? backend
        guard let redis = unwrapped as? RedisQueueBackend else { return nil }
        return redis.commandsSent
    }

    /// Builds the backend for a command that must reach requests held by other processes.
    /// - Throws: A usage failure for `memory`, whose requests live only inside one process.
    static func makeSharedBackend(
        _ environment: QueueEnvironment, for command: String, readOnly: Bool = false
    ) async throws
        -> any QueueBackend
    {
        try requireShared(environment, for: command)
        return try await makeBackend(environment, readOnly: readOnly)
    }

    /// Checks that the queue type reaches other processes.
    /// - Throws: A usage failure for `memory`, whose requests live only inside one process.
    static func requireShared(_ environment: QueueEnvironment, for command: String) throws {
        if try environment.queueType().isInProcess {
            throw CommandFailure.usage(
                "QUEUE_TYPE=memory keeps requests inside one process, so 'courier \(command)' cannot reach them "
                    + "from here; set QUEUE_TYPE=sqlite (one host) or redis-list/redis-pubsub/redis-streams (many hosts), "
                    + "or run 'courier demo' for an in-process round trip")
        }
    }

    /// Opens the shared backend the environment names, runs `body` with it, and shuts it down afterwards,
    /// whether `body` returned or threw.
    /// - Parameter readOnly: As ``makeBackend(_:readOnly:)``: for commands that only read.
    static func withSharedBackend<Result: Sendable>(
        for command: String, readOnly: Bool = false, _ body: (any QueueBackend) async throws -> Result
    ) async throws -> Result {
        let backend = try await makeSharedBackend(QueueEnvironment(), for: command, readOnly: readOnly)
        do {
            let result = try await body(backend)
            await backend.shutdown()
            return result
        } catch {
            await backend.shutdown()
            throw error
        }
    }
}
