import Courier
import CourierRedis
import CourierSQLite

extension QueueAdapterRegistry {
    /// The built-in adapters: `memory` (in this process only), `redis-list`, `redis-pubsub` and `redis-streams`
    /// (`REDIS_URL`), and `sqlite` (`SQLITE_PATH`, `SQLITE_SYNCHRONOUS`).
    public static var standard: QueueAdapterRegistry {
        var registry = QueueAdapterRegistry()
        // The names are literals that pass the checks, so these registrations cannot throw.
        try! registry.register(.memory, reachesOtherProcesses: false) { context in
            try MemoryQueueBackend(configuration: context.configuration)
        }
        for (type, mode) in [
            (QueueType.redisList, RedisWakeMode.list), (.redisPubSub, .pubSub), (.redisStreams, .streams),
        ] {
            try! registry.register(type) { context in
                try await RedisQueueBackend(
                    url: context.environment.redisURL, wakeMode: mode, configuration: context.configuration,
                    logger: context.logger)
            }
        }
        try! registry.register(.sqlite) { context in
            var options = SQLiteQueueBackend.Options()
            switch context.environment.values["SQLITE_SYNCHRONOUS"]?.lowercased() {
            case nil, "", "normal": options.synchronous = .normal
            case "full": options.synchronous = .full
            case let other?:
                throw CourierError(
                    .invalidConfiguration,
                    "SQLITE_SYNCHRONOUS='\(other.prefix(40))' is not valid: it must be normal or full")
            }
            options.access = context.readOnly ? .readOnly : .readWrite
            return try await SQLiteQueueBackend(
                path: context.environment.sqlitePath, configuration: context.configuration, options: options)
        }
        return registry
    }
}
