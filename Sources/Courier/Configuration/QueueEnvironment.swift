import Foundation
import Logging

/// The queue settings of a process, read from environment variables.
///
/// Every `courier` command and any application can read the same variables:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `QUEUE_TYPE` | `memory`, `redis-list`, `redis-pubsub`, `redis-streams` or `sqlite` | `memory` |
/// | `QUEUE_NAME` | the queue's name | `courier` |
/// | `REDIS_URL` | `redis://[user:password@]host[:port][/db]` | `redis://127.0.0.1:6379/0` |
/// | `SQLITE_PATH` | the SQLite database file | `./courier.sqlite3` |
/// | `SQLITE_SYNCHRONOUS` | `normal` (survives process crashes) or `full` (survives power loss) | `normal` |
/// | `WORKER_CONCURRENCY` | handlers a worker runs at once | `4` |
/// | `COURIER_LEASE_SECONDS` | lease duration, 0.1…86,400 | `30` |
/// | `COURIER_MAX_ATTEMPTS` | deliveries before dead-lettering, 1…1,000 | `3` |
/// | `COURIER_RESPONSE_TTL_SECONDS` | how long responses stay readable, 1…31,536,000 | `300` |
/// | `COURIER_HANDLER_TIMEOUT_SECONDS` | how long one handler call may run, 0…604,800 (0: no limit) | `600` |
/// | `COURIER_EVENTS_KEPT` | streamed events kept per request, 1…100,000 | `500` |
/// | `COURIER_EVENT_FLUSH_SECONDS` | longest a streamed write waits to be batched, 0…60 | `0.02` |
/// | `LOG_LEVEL` | `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical` | `info` |
/// | `COURIER_MAX_INFLIGHT` | handlers the whole process runs at once (``workerLimits()``) | none |
/// | `COURIER_GLOBAL_INFLIGHT` | handlers every process sharing the Redis server runs at once (``globalInFlight()``) | none |
/// | `COURIER_RATE_LIMIT`, `COURIER_RATE_BURST` | handler starts per second, and burst (``workerLimits()``) | none |
///
/// Tests pass values directly with ``init(values:)`` instead of changing the process environment.
public struct QueueEnvironment: Sendable {
    /// The raw variables.
    public let values: [String: String]

    /// Reads the given variables; the process environment by default.
    public init(values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// `QUEUE_TYPE`, `memory` when unset or empty.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/unknownQueueType``.
    public func queueType() throws(CourierError) -> QueueType {
        try queueType(among: QueueType.all)
    }

    /// `QUEUE_TYPE` as one of `known` (an application's registered types), `memory` when unset or empty.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/unknownQueueType`` naming the known values.
    public func queueType(among known: [QueueType]) throws(CourierError) -> QueueType {
        guard let text = nonEmpty("QUEUE_TYPE") else { return .memory }
        return try QueueType(parsing: text, among: known)
    }

    /// `REDIS_URL`, or the local default.
    public var redisURL: String { nonEmpty("REDIS_URL") ?? "redis://127.0.0.1:6379/0" }

    /// `SQLITE_PATH`, or `./courier.sqlite3`.
    public var sqlitePath: String { nonEmpty("SQLITE_PATH") ?? "./courier.sqlite3" }

    /// `WORKER_CONCURRENCY`, 4 when unset.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` unless it is 1…10,000.
    public func workerConcurrency() throws(CourierError) -> Int {
        try integer("WORKER_CONCURRENCY", default: 4, range: 1...10_000)
    }

    /// `COURIER_HANDLER_TIMEOUT_SECONDS`: how long one handler call may run (``WorkerConfiguration/handlerTimeout``);
    /// 600 s when unset, `nil` (no limit) for `0`.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` unless it is 0…604,800.
    public func handlerTimeout() throws(CourierError) -> Duration? {
        guard let text = nonEmpty("COURIER_HANDLER_TIMEOUT_SECONDS") else {
            return WorkerConfiguration.defaultHandlerTimeout
        }
        let timeout = try SettingValue.seconds(text, name: "COURIER_HANDLER_TIMEOUT_SECONDS", in: 0...604_800)
        return timeout == .zero ? nil : timeout
    }

    /// `COURIER_EVENT_FLUSH_SECONDS`: the longest a streamed write waits to be batched into one append
    /// (``WorkerConfiguration/eventFlushInterval``); 0.02 s when unset.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` unless it is 0…60.
    public func eventFlushInterval() throws(CourierError) -> Duration {
        try seconds("COURIER_EVENT_FLUSH_SECONDS", default: 0.02, range: 0...60)
    }

    /// `LOG_LEVEL`, `info` when unset or empty (case-insensitive).
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` for a name that is not a
    ///   level, listing the valid ones.
    public func logLevel() throws(CourierError) -> Logger.Level {
        guard let text = nonEmpty("LOG_LEVEL") else { return .info }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let valid = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw CourierError(.invalidConfiguration, "LOG_LEVEL='\(text)' is not valid: it must be one of \(valid)")
        }
        return level
    }

    /// The queue name and timing settings.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` or
    ///   ``CourierError/Code/invalidQueueName`` for a malformed value.
    public func queueConfiguration() throws(CourierError) -> QueueConfiguration {
        let configuration = QueueConfiguration(
            queueName: nonEmpty("QUEUE_NAME") ?? "courier",
            leaseDuration: try seconds("COURIER_LEASE_SECONDS", default: 30, range: 0.1...86_400),
            maxAttempts: try integer("COURIER_MAX_ATTEMPTS", default: 3, range: 1...1_000),
            responseTTL: try seconds("COURIER_RESPONSE_TTL_SECONDS", default: 300, range: 1...31_536_000),
            maxEventsPerRequest: try integer("COURIER_EVENTS_KEPT", default: 500, range: 1...100_000))
        try configuration.validate()
        return configuration
    }

    func nonEmpty(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(CourierError) -> Int {
        guard let text = nonEmpty(name) else { return fallback }
        return try SettingValue.integer(text, name: name, in: range)
    }

    func seconds(
        _ name: String, default fallback: Double, range: ClosedRange<Double>
    ) throws(CourierError)
        -> Duration
    {
        guard let text = nonEmpty(name) else { return .seconds(fallback) }
        return try SettingValue.seconds(text, name: name, in: range)
    }
}
