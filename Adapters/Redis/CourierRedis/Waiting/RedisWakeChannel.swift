import Courier
import Foundation
import Logging

/// How waiters in this process learn that a response was stored: the single point where redis-list and
/// redis-pubsub differ (redis-streams wakes its waiters as redis-pubsub does).
protocol RedisWakeChannel: Sendable {
    /// Starts listening for `id`, then checks for a response stored before listening began (closing the
    /// published-before-subscribe race). Returns that response if there is one, with the status report its
    /// stored form carries, so a waiter that finds it needs no second read for the report.
    func startWatching(_ id: CorrelationID, for time: Duration) async throws -> RedisStoredResponse?

    /// Starts listening for `id` without looking for a stored response (an event reader reads the log, which
    /// carries it). Returns at once when the id is already watched and the watch is in place.
    func startWatchingEvents(_ id: CorrelationID, for time: Duration) async throws

    /// Stops listening for `id` (`answered` is true when its response arrived), unless a waiter on `id` joined
    /// since the caller saw the last one leave: the check and the unsubscribe happen under the channel's lock, in
    /// order with every `startWatching`, so a new waiter's watch is never undone by an old waiter's stop.
    func stopWatching(_ id: CorrelationID, answered: Bool)

    /// A number that stays the same for as long as `id`'s watch stays in place without a gap: every message
    /// published for `id` after it was first returned arrives while it is still returned. Nil while the watch is
    /// not (or not known to be) in place; redis-list, whose registrations expire, always returns nil.
    func watchGeneration(_ id: CorrelationID) -> UInt64?

    /// Prepares the channel on which this instance hears the responses to the requests it publishes with it (see
    /// ``RedisQueueBackend/publishRequestAndWait(_:timeout:)``) and returns its name once it is in place (at once
    /// after the first call); nil when the wake mode has none (redis-list). A notification on it that is lost
    /// while the connection is down is made up for as every other: waiters look again after a reconnect.
    func replyChannel() async throws -> String?

    /// Subscriptions or registrations currently held for waiters (for leak checks; the reply channel, held for the
    /// instance's life, is not counted).
    var openSubscriptions: Int { get }

    /// The channel's connection, once it was opened.
    var connection: RedisLazyConnection { get }

    func close()
}

/// What a wake channel hears about a watched id: its final response, or that its event log grew (with the new
/// events when the append was small enough to carry them).
enum RedisWakeMessage: Sendable {
    case response(RedisStoredResponse)
    case events(CorrelationID, RedisEventBatch?)

    /// Decodes a published or pushed message: `E<id>` announces new events, `E<id>\n<batch>` carries them too,
    /// anything else is a response.
    /// - Throws: ``CourierError`` with code `decodingFailed` for bytes neither form explains.
    static func decode(_ data: Data) throws -> RedisWakeMessage {
        if data.first == UInt8(ascii: "E") {
            let rest = data.dropFirst()
            guard let newline = rest.firstIndex(of: UInt8(ascii: "\n")) else {
                return .events(try CorrelationID(String(decoding: rest, as: UTF8.self)), nil)
            }
            let id = try CorrelationID(String(decoding: rest[..<newline], as: UTF8.self))
            // Batch bytes this process cannot read still announce that the log grew.
            return .events(id, try? RedisEventBatch(Data(rest[(newline + 1)...])))
        }
        return .response(try RedisQueueStore.stored(data))
    }
}

/// A response as a waiter receives it: with the request's status report when the stored form carried the whole
/// timeline (a wake-up), without it when read by a plain read (the report is then read when asked for).
struct RedisStoredResponse: Sendable {
    var response: QueueResponse
    var report: RequestStatusReport?

    init(_ response: QueueResponse, report: RequestStatusReport? = nil) {
        self.response = response
        self.report = report
    }
}

/// The wake channel of `mode`: the one place the two Redis modes' channels are made.
func makeRedisWakeChannel(
    _ mode: RedisWakeMode, connection: RedisConnectionOptions, store: RedisQueueStore, commands: RedisConnection,
    logger: Logger, deliver: @escaping @Sendable (RedisWakeMessage) -> Void,
    hasWaiters: @escaping @Sendable () -> Bool, isWaitedOn: @escaping @Sendable (CorrelationID) -> Bool,
    reconnected: @escaping @Sendable () -> Void
) -> any RedisWakeChannel {
    switch mode {
    case .pubSub, .streams:
        RedisPubSubChannel(
            options: connection, store: store, commands: commands, deliver: deliver, isWaitedOn: isWaitedOn,
            reconnected: reconnected)
    case .list:
        RedisReplyListChannel(
            options: connection, store: store, commands: commands, logger: logger, deliver: deliver,
            hasWaiters: hasWaiters, isWaitedOn: isWaitedOn, reconnected: reconnected)
    }
}
