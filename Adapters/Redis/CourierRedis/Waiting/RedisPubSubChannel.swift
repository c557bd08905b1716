import Courier
import DequeModule
import Foundation
import Synchronization

/// redis-pubsub's wake channel: one subscriber connection per backend carries every waiter's `done:<id>`
/// subscription. A worker publishes the response itself on that channel, so a waiter costs `SUBSCRIBE`, one
/// `GET` (for a response stored before the subscription) and `UNSUBSCRIBE`, and nothing while it waits.
final class RedisPubSubChannel: RedisWakeChannel {
    private struct Subscriptions {
        /// Channels this process should be subscribed to (re-subscribed after a reconnect).
        var subscribed: Set<String> = []
        /// Subscribed channels whose subscription the server confirmed on the current connection.
        var confirmed: Set<String> = []
        /// Callers waiting for a channel's subscribe confirmation, in the order they sent `SUBSCRIBE`.
        var confirmations: [String: Deque<CheckedContinuation<Void, Never>>] = [:]
        /// For each channel confirmed with no `SUBSCRIBE` of it still unanswered: a number no earlier
        /// subscription of any channel on any connection of this channel object had (see ``watchGeneration(_:)``).
        var generations: [String: UInt64] = [:]
        var lastGeneration: UInt64 = 0
    }

    private let keys: RedisKeys
    private let store: RedisQueueStore
    private let commands: RedisConnection
    private let subscriber: RedisLazyConnection
    var connection: RedisLazyConnection { subscriber }
    /// Shared with the subscriber connection's callbacks.
    private final class Shared: Sendable {
        let state = Mutex(Subscriptions())
    }

    private let shared = Shared()
    private let isWaitedOn: @Sendable (CorrelationID) -> Bool
    /// This instance's own channel: the responses to the requests it publishes with it.
    private let replies: String

    /// - Parameters:
    ///   - deliver: called with every response, or event announcement, published for a watched id.
    ///   - isWaitedOn: whether a waiter on an id is registered (checked before unsubscribing it).
    ///   - reconnected: called after the subscriber connection was re-established (messages may have been lost).
    init(
        options: RedisConnectionOptions, store: RedisQueueStore, commands: RedisConnection,
        deliver: @escaping @Sendable (RedisWakeMessage) -> Void,
        isWaitedOn: @escaping @Sendable (CorrelationID) -> Bool, reconnected: @escaping @Sendable () -> Void
    ) {
        self.isWaitedOn = isWaitedOn
        self.keys = store.keys
        self.store = store
        self.commands = commands
        let shared = self.shared
        let keys = store.keys
        let replies = keys.replyChannel(instance: UUID().uuidString)
        self.replies = replies
        subscriber = RedisLazyConnection(patience: options.reconnectWindow) {
            let handlers = RedisConnection.Subscriber(
                onPush: { push in
                    guard let parts = push.array, parts.count >= 3, let kind = parts[0].string,
                        let channel = parts[1].string
                    else { return }
                    switch kind {
                    case "message":
                        if channel == replies || keys.id(ofChannel: channel) != nil, let data = parts[2].data,
                            let message = try? RedisWakeMessage.decode(data)
                        {
                            deliver(message)
                        }
                    case "subscribe":
                        let waiter = shared.state.withLock { state in
                            if state.subscribed.contains(channel) { state.confirmed.insert(channel) }
                            let first = state.confirmations[channel]?.popFirst()
                            if state.confirmations[channel]?.isEmpty == true { state.confirmations[channel] = nil }
                            // The last SUBSCRIBE sent is answered: the server delivers every later publish.
                            if state.confirmations[channel] == nil, state.subscribed.contains(channel),
                                state.generations[channel] == nil
                            {
                                state.lastGeneration += 1
                                state.generations[channel] = state.lastGeneration
                            }
                            return first
                        }
                        waiter?.resume()
                    default:
                        break
                    }
                },
                onConnect: {
                    let (channels, abandoned) = shared.state.withLock { state in
                        state.confirmed = []
                        state.generations = [:]
                        let abandoned = state.confirmations.filter { !state.subscribed.contains($0.key) }
                        for channel in abandoned.keys { state.confirmations[channel] = nil }
                        return (Array(state.subscribed), abandoned.values.flatMap { $0 })
                    }
                    for continuation in abandoned { continuation.resume() }
                    return stride(from: 0, to: channels.count, by: 500).map { start in
                        let slice = channels[start..<min(start + 500, channels.count)]
                        return RedisCommand(["SUBSCRIBE"] + slice.map { .string($0) })
                    }
                })
            return try await RedisConnection.open(
                options, role: "subscriber", subscriber: handlers, onReconnect: reconnected)
        }
    }

    func startWatching(_ id: CorrelationID, for time: Duration) async throws -> RedisStoredResponse? {
        let connection = try await subscriber.get()
        let channel = keys.channel(id)
        await subscribe(channel, on: connection)
        return try await store.storedResponse(id, on: commands)
    }

    func startWatchingEvents(_ id: CorrelationID, for time: Duration) async throws {
        let connection = try await subscriber.get()
        let channel = keys.channel(id)
        // A follower waits again after every wake-up; a watch that stayed in place needs no new SUBSCRIBE.
        if shared.state.withLock({ $0.confirmed.contains(channel) }) { return }
        await subscribe(channel, on: connection)
    }

    /// Sends `SUBSCRIBE` and waits for the server's confirmation.
    private func subscribe(_ channel: String, on connection: RedisConnection) async {
        await withCheckedContinuation { continuation in
            // Queued under the lock, so SUBSCRIBE and UNSUBSCRIBE reach the server in the order the lock saw them;
            // the connection's thread is woken after it, so the lock is never held across a system call.
            let handoff = shared.state.withLock { state in
                state.subscribed.insert(channel)
                state.confirmations[channel, default: []].append(continuation)
                return connection.queueWithoutReply(RedisCommand(["SUBSCRIBE", .string(channel)]))
            }
            connection.complete(handoff)
        }
    }

    func stopWatching(_ id: CorrelationID, answered: Bool) {
        let channel = keys.channel(id)
        let connection = subscriber.open
        let handoff = shared.state.withLock { state -> RedisConnection.Handoff in
            guard !isWaitedOn(id), state.subscribed.remove(channel) != nil else { return .none }
            state.confirmed.remove(channel)
            state.generations[channel] = nil
            // Without an open connection nothing needs undoing: a reconnect subscribes only what is in the set.
            return connection?.queueWithoutReply(RedisCommand(["UNSUBSCRIBE", .string(channel)])) ?? .none
        }
        connection?.complete(handoff)
    }

    func replyChannel() async throws -> String? {
        if shared.state.withLock({ $0.confirmed.contains(replies) }) { return replies }
        await subscribe(replies, on: try await subscriber.get())
        return replies
    }

    func watchGeneration(_ id: CorrelationID) -> UInt64? {
        let channel = keys.channel(id)
        return shared.state.withLock { $0.generations[channel] }
    }

    var openSubscriptions: Int {
        shared.state.withLock { $0.subscribed.count - ($0.subscribed.contains(replies) ? 1 : 0) }
    }

    func close() {
        subscriber.close()
        let waiting = shared.state.withLock { state in
            defer { state.confirmations = [:] }
            return state.confirmations.values.flatMap { $0 }
        }
        for continuation in waiting { continuation.resume() }
    }
}
