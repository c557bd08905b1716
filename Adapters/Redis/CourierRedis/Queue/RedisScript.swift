import Courier
import Synchronization

/// One Lua script: its source, and the SHA the server gave it once loaded.
final class RedisScript: Sendable {
    let name: String
    let source: String
    private let sha = Mutex<String?>(nil)

    init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    /// Runs the script by SHA with `KEYS[1] = prefix`, loading it first when this process has not yet, and again
    /// when the server answers `NOSCRIPT` (it restarted or its scripts were flushed).
    /// - Throws: ``CourierError`` with code ``CourierError/Code/backendUnavailable`` when Redis cannot be reached,
    ///   ``CourierError/Code/storageFailure`` when the script fails.
    func run(on connection: RedisConnection, prefix: String, _ arguments: [RedisArgument]) async throws -> RedisValue {
        for _ in 0..<2 {
            let known = sha.withLock { $0 }
            let loaded: String
            if let known {
                loaded = known
            } else {
                loaded = try await load(on: connection)
            }
            let reply = try await connection.send(
                RedisCommand(["EVALSHA", .string(loaded), 1, .string(prefix)] + arguments))
            if case .error(let message) = reply {
                if message.hasPrefix("NOSCRIPT") {
                    sha.withLock { $0 = nil }
                    continue
                }
                throw CourierError(.storageFailure, "Redis script '\(name)' failed: \(message)")
            }
            return reply
        }
        throw CourierError(.storageFailure, "Redis keeps forgetting script '\(name)' (NOSCRIPT after loading it)")
    }

    private func load(on connection: RedisConnection) async throws -> String {
        let reply = try await connection.send(RedisCommand(["SCRIPT", "LOAD", .string(source)]))
        guard let loaded = reply.string, !loaded.isEmpty, case .bulk = reply else {
            throw CourierError(.storageFailure, "Redis could not load script '\(name)': \(reply)")
        }
        sha.withLock { $0 = loaded }
        return loaded
    }
}

/// The three Redis modes: how a waiting client learns that its response is stored, and how the queue holds the
/// requests waiting for a consumer. Everything else (scripts, leases, fencing, responses, events, listings) is
/// shared.
public enum RedisWakeMode: String, Sendable, Hashable, CaseIterable {
    /// `QUEUE_TYPE=redis-list`: the worker pushes the response onto each waiting client's reply list, which
    /// the client pops with one blocking connection for all its waiters.
    case list = "redis-list"
    /// `QUEUE_TYPE=redis-pubsub`: the worker publishes the response on `done:<id>`; each client process
    /// subscribes its waiters' channels over one subscriber connection.
    case pubSub = "redis-pubsub"
    /// `QUEUE_TYPE=redis-streams`: requests are entries of one stream per queue, read by the consumer group
    /// `workers` with blocking `XREADGROUP`, each consuming process a named consumer, so `XINFO GROUPS` and
    /// `XPENDING` show the queue and its leases; waiters are woken as in redis-pubsub.
    case streams = "redis-streams"
}
