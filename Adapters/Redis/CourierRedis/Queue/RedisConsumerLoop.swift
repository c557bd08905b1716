import Courier
import Foundation
import Logging
import Synchronization

/// Serves every consumer of one backend instance from one blocking connection.
///
/// Consumers ask for their next delivery; the loop claims as many requests as there are consumers asking, in
/// one script call, and hands them out in order. When the queue has nothing, it blocks for at most the time until
/// the next lease, retry or deadline falls due, so expired leases are reaped on time without polling: on the
/// queue's wake list (`BLPOP`, woken by the next publish or retry), or in redis-streams with `XREADGROUP ... BLOCK`
/// as the process's named consumer, whose entries the next claim leases. In redis-streams an idle consumer sends
/// nothing but that read: a script that makes something fall due sooner than every blocked consumer wakes adds an
/// entry that wakes one (see `alarm` in RedisScripts+Queueing).
final class RedisConsumerLoop: Sendable {
    typealias Continuation = CheckedContinuation<Delivery?, Never>

    private struct State {
        var waiting = WaitQueue<Continuation>()
        var nextToken: UInt64 = 1
        var running = false
        var closed = false
        /// In a blocking read: the loop reaps on its own when the read ends.
        var reading = false
    }

    /// How long the list modes block at most, so leases taken by other processes since the last claim are reaped
    /// within this time of expiring.
    static let longestBlock: Duration = .seconds(2)
    /// How long redis-streams blocks at most when nothing falls due: every due time wakes a blocked consumer, so
    /// this only bounds how late a reap can be when the process that made its due time died within milliseconds
    /// of making it while the consumer that was woken for it died too.
    static let longestStreamBlock: Duration = .seconds(300)

    /// Whether the loop is blocked reading the queue (so it reaps due leases itself when the read ends).
    var isReading: Bool { state.withLock { $0.reading } }

    private let store: RedisQueueStore
    /// redis-streams: this process's consumer name in the queue's group; nil in the other modes.
    let consumer: String?
    let connection: RedisLazyConnection
    private let logger: Logger
    private let state = Mutex(State())

    init(options: RedisConnectionOptions, store: RedisQueueStore, mode: RedisWakeMode, logger: Logger) {
        self.store = store
        consumer = mode == .streams ? RedisQueueStore.consumerName() : nil
        self.logger = logger
        connection = RedisLazyConnection(patience: options.reconnectWindow) {
            try await RedisConnection.open(options, role: "consumer")
        }
    }

    /// The next delivery, or nil once the backend shut down or the calling task was cancelled.
    func next() async -> Delivery? {
        let token = state.withLock { state in
            defer { state.nextToken &+= 1 }
            return state.nextToken
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Continuation) in
                let (accepted, start) = state.withLock { state -> (Bool, Bool) in
                    if state.closed || Task.isCancelled { return (false, false) }
                    state.waiting.append(token, continuation)
                    defer { state.running = true }
                    return (true, !state.running)
                }
                if !accepted { continuation.resume(returning: nil) }
                if start { Task { await run() } }
            }
        } onCancel: {
            let removed = state.withLock { state -> Continuation? in
                state.waiting.remove(token)
            }
            removed?.resume(returning: nil)
        }
    }

    func close() {
        let waiting = state.withLock { state in
            state.closed = true
            return state.waiting.removeAll()
        }
        for continuation in waiting { continuation.resume(returning: nil) }
        connection.close()
    }

    private func run() async {
        var failures = 0
        // Set when this loop popped the wake token: it must be passed on if nobody here wants work any more.
        var holdingWake = false
        // redis-streams: entries the blocking read returned, leased by the next claim.
        var given: [RedisStreamEntry] = []
        while true {
            let wanted = state.withLock { $0.closed ? 0 : $0.waiting.count }
            if wanted == 0 {
                if holdingWake, !state.withLock({ $0.closed }), let connection = connection.open {
                    _ = try? await store.claim(0, on: connection)
                }
                if !given.isEmpty, let consumer, let connection = connection.open {
                    // Read for consumers that left: lease them and put them straight back.
                    if let (unwanted, _) = try? await store.claim(0, consumer: consumer, given: given, on: connection) {
                        for delivery in unwanted { try? await store.unclaim(delivery, on: connection) }
                    }
                }
                given = []
                holdingWake = false
                let stop = state.withLock { state in
                    if state.closed || state.waiting.isEmpty { state.running = false }
                    return !state.running
                }
                if stop { return }
                continue
            }
            do {
                let connection = try await connection.get()
                let reading = given
                given = []
                let longest = consumer == nil ? Self.longestBlock : Self.longestStreamBlock
                let (deliveries, due) = try await store.claim(
                    min(wanted, 100), consumer: consumer ?? "", given: reading, longestBlock: longest, on: connection)
                holdingWake = false
                failures = 0
                await handOut(deliveries, on: connection)
                if deliveries.count < wanted {
                    // The claim script recorded this same block among the sleepers (redis-streams): keep the two alike.
                    let block = max(.milliseconds(5), min(due ?? longest, longest))
                    state.withLock { $0.reading = true }
                    defer { state.withLock { $0.reading = false } }
                    if let consumer {
                        given = try await read(as: consumer, for: block, on: connection)
                    } else {
                        let seconds = String(format: "%.3f", block.inSeconds)
                        let reply = try await connection.send(
                            RedisCommand(["BLPOP", .string(store.keys.wake), .string(seconds)]), blockTime: block)
                        holdingWake = !reply.isNull
                    }
                }
            } catch {
                if state.withLock({ $0.closed }) { return }
                failures += 1
                logger.warning("claiming from Redis failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(min(1000, 50 * failures)))
            }
        }
    }

    /// Waits up to `block` for the next entry of the queue's stream, as `consumer` of its group. One entry: when a
    /// script adds a request and a wake entry together, the first blocked consumer takes the request and the next
    /// one is woken; the claim that follows takes the rest of the queue.
    private func read(
        as consumer: String, for block: Duration, on connection: RedisConnection
    ) async throws -> [RedisStreamEntry] {
        let milliseconds = max(1, Int(block.inSeconds * 1000))
        let reply = try await connection.send(
            RedisCommand([
                "XREADGROUP", "GROUP", "workers", .string(consumer), "COUNT", 1, "BLOCK",
                .integer(milliseconds), "STREAMS", .string(store.keys.stream), ">",
            ]), blockTime: block)
        if case .error(let message) = reply {
            // The last other consumer left the empty stream and deleted it: the next claim makes it again.
            if message.hasPrefix("UNBLOCKED") || message.hasPrefix("NOGROUP") { return [] }
            throw CourierError(.storageFailure, "reading the queue's stream failed: \(message)")
        }
        return RedisStreamEntry.entries(of: reply)
    }

    /// Gives each delivery to the longest-waiting consumer; puts back any that nobody is waiting for any more.
    private func handOut(_ deliveries: [Delivery], on connection: RedisConnection) async {
        var unwanted: [Delivery] = []
        for delivery in deliveries {
            let consumer = state.withLock { $0.waiting.popFirst() }
            if let consumer {
                consumer.resume(returning: delivery)
            } else {
                unwanted.append(delivery)
            }
        }
        for delivery in unwanted { try? await store.unclaim(delivery, on: connection) }
    }
}
