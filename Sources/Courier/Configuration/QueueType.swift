/// Which adapter a process uses, as named by the `QUEUE_TYPE` environment variable.
///
/// A small open set of values rather than an enum, like ``ResponseStatus``. ``init(parsing:)`` accepts exactly
/// the names in ``all``; an application that registers its own adapters parses with ``init(parsing:among:)``.
public struct QueueType: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The name used in `QUEUE_TYPE`.
    public let rawValue: String
    /// Wraps a name without checking it; use ``init(parsing:)`` for user input.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a literal name without checking it (registering it checks it).
    public init(stringLiteral value: String) { self.rawValue = value }

    /// The in-process ``MemoryQueueBackend`` (the default).
    public static let memory = QueueType(rawValue: "memory")
    /// Redis with a request list and a response key per id (`REDIS_URL`).
    public static let redisList = QueueType(rawValue: "redis-list")
    /// Redis with pub/sub wake-ups for waiters (`REDIS_URL`).
    public static let redisPubSub = QueueType(rawValue: "redis-pubsub")
    /// Redis Streams with one consumer group per queue, and pub/sub wake-ups for waiters (`REDIS_URL`).
    public static let redisStreams = QueueType(rawValue: "redis-streams")
    /// One SQLite file shared by the processes of one host (`SQLITE_PATH`).
    public static let sqlite = QueueType(rawValue: "sqlite")

    /// Every known queue type, in the order they are documented.
    public static let all: [QueueType] = [.memory, .redisList, .redisPubSub, .redisStreams, .sqlite]

    /// Parses a `QUEUE_TYPE` value (case-insensitive, surrounding spaces ignored).
    /// - Throws: ``CourierError`` with code ``CourierError/Code/unknownQueueType`` naming the valid values.
    public init(parsing text: String) throws(CourierError) {
        try self.init(parsing: text, among: Self.all)
    }

    /// Parses a `QUEUE_TYPE` value against `known` (case-insensitive, surrounding spaces ignored): the built-in
    /// types plus those an application registered.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/unknownQueueType`` naming the valid values.
    public init(parsing text: String, among known: [QueueType]) throws(CourierError) {
        let name = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let match = known.first(where: { $0.rawValue == name }) else {
            let valid = known.map(\.rawValue).joined(separator: ", ")
            throw CourierError(.unknownQueueType, "unknown QUEUE_TYPE '\(text)'; valid values are: \(valid)")
        }
        self = match
    }

    /// Whether requests live only inside one process (so other processes cannot reach them).
    public var isInProcess: Bool { self == .memory }

    /// The name used in `QUEUE_TYPE`.
    public var description: String { rawValue }
}
