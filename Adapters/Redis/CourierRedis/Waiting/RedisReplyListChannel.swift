import Courier
import Foundation
import Logging
import Synchronization

/// redis-list's wake channel: each backend has its own reply list (`replies:<client>`). A waiter registers that
/// list on the request (`watch:<id>`, atomically with checking for a stored response); the worker pushes the
/// response onto every registered list; one blocking connection pops the list (`BLMPOP`, up to 100 replies per
/// call) for all the backend's waiters. While nobody waits nothing is popped; while anyone waits the popper
/// costs one command per 5 s idle, independent of the number of waiters.
final class RedisReplyListChannel: RedisWakeChannel {
    static let popBlock: Duration = .seconds(5)

    private let store: RedisQueueStore
    private let commands: RedisConnection
    private let popper: RedisLazyConnection
    var connection: RedisLazyConnection { popper }
    private let list: String
    private let deliver: @Sendable (RedisWakeMessage) -> Void
    private let hasWaiters: @Sendable () -> Bool
    private let isWaitedOn: @Sendable (CorrelationID) -> Bool
    private let logger: Logger
    private let state = Mutex<(registered: Set<CorrelationID>, popping: Bool, closed: Bool)>(([], false, false))

    init(
        options: RedisConnectionOptions, store: RedisQueueStore, commands: RedisConnection, logger: Logger,
        deliver: @escaping @Sendable (RedisWakeMessage) -> Void, hasWaiters: @escaping @Sendable () -> Bool,
        isWaitedOn: @escaping @Sendable (CorrelationID) -> Bool, reconnected: @escaping @Sendable () -> Void
    ) {
        self.isWaitedOn = isWaitedOn
        self.store = store
        self.commands = commands
        self.deliver = deliver
        self.hasWaiters = hasWaiters
        self.logger = logger
        list = store.keys.replies(client: UUID().uuidString.lowercased())
        popper = RedisLazyConnection(patience: options.reconnectWindow) {
            try await RedisConnection.open(options, role: "replies", onReconnect: reconnected)
        }
    }

    func startWatching(_ id: CorrelationID, for time: Duration) async throws -> RedisStoredResponse? {
        state.withLock { _ = $0.registered.insert(id) }
        startPopping()
        return try await store.watch(id, list: list, for: time, on: commands)
    }

    func startWatchingEvents(_ id: CorrelationID, for time: Duration) async throws {
        // The registration is the script that also looks for a response, and it renews the registration's TTL.
        _ = try await startWatching(id, for: time)
    }

    func stopWatching(_ id: CorrelationID, answered: Bool) {
        let key = store.keys.watchers(id)
        state.withLock { state in
            guard !isWaitedOn(id), state.registered.remove(id) != nil, !answered else { return }
            // Queued under the lock: a later waiter's registration (queued on the same connection after its
            // `startWatching` took this lock) always follows this removal.
            commands.sendWithoutReply(RedisCommand(["SREM", .string(key), .string(list)]))
        }
    }

    func watchGeneration(_ id: CorrelationID) -> UInt64? { nil }

    /// redis-list has no reply channel: its watch registers the instance's reply list with each id.
    func replyChannel() async throws -> String? { nil }

    var openSubscriptions: Int { state.withLock { $0.registered.count } }

    func close() {
        state.withLock { $0.closed = true }
        popper.close()
    }

    private func startPopping() {
        let start = state.withLock { state in
            if state.popping || state.closed { return false }
            state.popping = true
            return true
        }
        if start { Task { await pop() } }
    }

    /// Pops replies while anyone waits.
    private func pop() async {
        var failures = 0
        while true {
            let keepGoing = state.withLock { state in
                if state.closed || (!hasWaiters() && state.registered.isEmpty) {
                    state.popping = false
                    return false
                }
                return true
            }
            guard keepGoing else { return }
            do {
                let connection = try await popper.get()
                let reply = try await connection.send(
                    RedisCommand(["BLMPOP", .string("5"), 1, .string(list), "LEFT", "COUNT", 100]),
                    blockTime: Self.popBlock)
                failures = 0
                if case .error(let message) = reply {
                    throw CourierError(.storageFailure, "BLMPOP failed: \(message)")
                }
                guard let parts = reply.array, parts.count == 2, let items = parts[1].array else { continue }
                for item in items {
                    guard let data = item.data else { continue }
                    do {
                        deliver(try RedisWakeMessage.decode(data))
                    } catch {
                        logger.error("dropped an undecodable reply from Redis", metadata: ["error": "\(error)"])
                    }
                }
            } catch {
                if state.withLock({ $0.closed }) { return }
                failures += 1
                logger.warning("reply list pop failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(min(1000, 50 * failures)))
            }
        }
    }
}
