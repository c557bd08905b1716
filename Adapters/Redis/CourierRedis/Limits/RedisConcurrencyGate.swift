import Courier
import DequeModule
import Foundation
import Logging
import Synchronization

/// A ``ConcurrencyGate`` held in Redis: at most ``limit`` permits are out at once across every process on every
/// host that uses the same server, namespace and ``name`` (`COURIER_GLOBAL_INFLIGHT`), because a provider's quota
/// is per account, not per process.
///
/// Slots are leased: a holder renews its slots every third of ``slotLease`` while it works, so the slots of a
/// process that crashed come back within ``slotLease``. Waiting costs no polling: a release pushes a token that
/// wakes one blocked waiter anywhere; while the gate is full a waiting process blocks (on a connection of its
/// own, never on the cooperative pool) until a release or the earliest slot's expiry. Local waiters are served
/// in FIFO order. Two connections per gate at most: one for commands, one for blocking.
///
/// A holder whose renewals fail for longer than ``slotLease`` (Redis unreachable) may lose its slot to another
/// process, so the limit can be exceeded by the work in flight during such an outage; it is logged.
public final class RedisConcurrencyGate: ConcurrencyGate {
    /// The gate's name; processes sharing a name share the limit.
    public let name: String
    /// The most permits out at once across all processes.
    public let limit: Int
    /// How long a slot outlives its holder's last renewal.
    public let slotLease: Duration

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<GatePermit, any Error>
    }

    private struct State {
        var waiters: Deque<Waiter> = []
        var nextID: UInt64 = 0
        var acquiring = false
        /// Tokens of the slots this process holds, renewed together by `renewer`.
        var held: Set<String> = []
        var renewer: Task<Void, Never>?
        var closed = false
    }

    private let prefix: String
    private let commands: RedisConnection
    private let blocking: RedisLazyConnection
    private let scripts = RedisGateScripts()
    private let logger: Logger
    private let state = Mutex(State())
    private var leaseMilliseconds: Int { Int(slotLease.inSeconds * 1000) }

    /// Connects to the server at `url` (`redis://[[user]:password@]host[:port][/database]`).
    /// - Parameters:
    ///   - name: The gate's name; the key is `namespace:{gate:name}:slots`.
    ///   - limit: The most permits out at once, at least 1.
    ///   - slotLease: How long a crashed holder's slot stays taken; 30 s by default.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for a malformed URL, a limit below 1 or refused
    ///   credentials, `backendUnavailable` when the server cannot be reached.
    public convenience init(
        url: String, name: String = "global", limit: Int, slotLease: Duration = .seconds(30),
        namespace: String = "courier", logger: Logger = Logger(label: "courier.redis.gate")
    ) async throws {
        try await self.init(
            connection: try RedisConnectionOptions(url: url), name: name, limit: limit, slotLease: slotLease,
            namespace: namespace, logger: logger)
    }

    /// Connects to the server described by `connection`. Throws as ``init(url:name:limit:slotLease:namespace:logger:)``.
    public init(
        connection: RedisConnectionOptions, name: String = "global", limit: Int, slotLease: Duration = .seconds(30),
        namespace: String = "courier", logger: Logger = Logger(label: "courier.redis.gate")
    ) async throws {
        guard limit >= 1 else { throw CourierError(.invalidConfiguration, "a gate's limit must be at least 1") }
        guard slotLease >= .seconds(1) else {
            throw CourierError(.invalidConfiguration, "a gate's slot lease must be at least 1 second")
        }
        self.name = name
        self.limit = limit
        self.slotLease = slotLease
        self.logger = logger
        prefix = "\(namespace):{gate:\(name)}:"
        commands = try await RedisConnection.open(connection, role: "gate")
        blocking = RedisLazyConnection(patience: connection.reconnectWindow) {
            try await RedisConnection.open(connection, role: "gate-wait")
        }
    }

    /// Waits until a slot is free anywhere and takes it. See ``ConcurrencyGate/acquire()``.
    /// - Throws: `CancellationError` when cancelled while waiting (no slot is kept); ``CourierError`` with code
    ///   `shutDown` after ``close()``.
    public func acquire() async throws -> GatePermit {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let (accepted, start) = state.withLock { state -> (Bool, Bool) in
                    if state.closed || Task.isCancelled { return (false, false) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    defer { state.acquiring = true }
                    return (true, !state.acquiring)
                }
                if !accepted {
                    let closed = state.withLock { $0.closed }
                    continuation.resume(
                        throwing: closed
                            ? CourierError(.shutDown, "the gate '\(name)' was closed") : CancellationError())
                }
                if start { Task { await acquireForWaiters() } }
            }
        } onCancel: {
            let removed = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back and wakes one waiter anywhere. See ``ConcurrencyGate/release(_:)``.
    public func release(_ permit: GatePermit) async {
        guard state.withLock({ $0.held.remove(permit.token) != nil }) else { return }
        do {
            _ = try await scripts.release.run(
                on: commands, prefix: prefix, [.string(permit.token), .integer(limit), .integer(leaseMilliseconds)])
        } catch {
            logger.warning(
                "could not give a gate slot back; it returns when its lease runs out",
                metadata: ["gate": "\(name)", "error": "\(error)"])
        }
    }

    /// Permits this process holds now.
    public var heldPermits: Int { state.withLock { $0.held.count } }

    /// Stops renewing held slots (they come back when their leases run out), fails waiting callers with
    /// `shutDown` and closes the connections.
    public func close() {
        let (waiters, renewer) = state.withLock { state in
            state.closed = true
            defer { (state.waiters, state.held, state.renewer) = ([], [], nil) }
            return (state.waiters, state.renewer)
        }
        renewer?.cancel()
        for waiter in waiters { waiter.continuation.resume(throwing: CourierError(.shutDown, "the gate was closed")) }
        commands.close()
        blocking.close()
    }

    /// Takes slots for local waiters, oldest first, blocking on the release list while the gate is full.
    private func acquireForWaiters() async {
        var failures = 0
        while true {
            let hasWaiters = state.withLock { state in
                if state.waiters.isEmpty || state.closed { state.acquiring = false }
                return state.acquiring
            }
            guard hasWaiters else { return }
            let token = UUID().uuidString.lowercased()
            do {
                let reply = try await scripts.acquire.run(
                    on: commands, prefix: prefix, [.integer(limit), .integer(leaseMilliseconds), .string(token)])
                failures = 0
                let parts = reply.array ?? []
                if parts.first?.integer == 1 {
                    hand(GatePermit(token: token))
                    continue
                }
                let retryIn = parts.count > 1 ? Duration.milliseconds(max(1, parts[1].integer ?? 1000)) : .seconds(1)
                let block = min(retryIn, .seconds(2))
                let connection = try await blocking.get()
                _ = try await connection.send(
                    RedisCommand(["BLPOP", .string(prefix + "free"), .string(String(format: "%.3f", block.inSeconds))]),
                    blockTime: block)
            } catch {
                if state.withLock({ $0.closed }) { return }
                failures += 1
                logger.warning("waiting for a gate slot failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(min(1000, 50 * failures)))
            }
        }
    }

    /// Gives a taken slot to the oldest local waiter (its renewal starts with it); gives it back if nobody waits.
    private func hand(_ permit: GatePermit) {
        let interval = slotLease / 3
        let waiter = state.withLock { state -> Waiter? in
            state.held.insert(permit.token)
            if state.renewer == nil && !state.closed {
                state.renewer = Task { [weak self] in
                    while (try? await Task.sleep(for: interval)) != nil {
                        guard let self else { return }
                        await self.renewHeldSlots()
                    }
                }
            }
            return state.closed ? nil : state.waiters.popFirst()
        }
        if let waiter {
            waiter.continuation.resume(returning: permit)
        } else {
            Task { await release(permit) }
        }
    }

    /// Renews every slot this process holds. One task calls it every third of the slot lease (like the
    /// worker's lease keeper), so releasing a permit cancels no sleeping task.
    private func renewHeldSlots() async {
        for token in state.withLock({ $0.held }) {
            do {
                let reply = try await scripts.renew.run(
                    on: commands, prefix: prefix, [.string(token), .integer(leaseMilliseconds)])
                if reply.integer == 0, state.withLock({ $0.held.remove(token) != nil }) {
                    logger.warning(
                        "a gate slot expired while its work was still running; the limit may be exceeded",
                        metadata: ["gate": "\(name)"])
                }
            } catch {
                logger.warning("could not renew a gate slot", metadata: ["gate": "\(name)", "error": "\(error)"])
            }
        }
    }

    deinit { close() }
}
