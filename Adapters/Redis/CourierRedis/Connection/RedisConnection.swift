import CHiredis
import Courier
import DequeModule
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One connection to Redis, driven by a thread it owns, so no Swift concurrency thread ever waits on the socket.
///
/// Callers on any task append encoded commands to a queue and suspend; the connection's thread writes whatever
/// is queued in one batch (so concurrent callers are pipelined automatically), parses replies with hiredis's
/// `redisReader`, and resumes callers in order. When the connection drops it reconnects with backoff,
/// re-authenticates and re-selects the database; commands that were on the wire fail with
/// ``CourierError/Code/backendUnavailable`` (they may or may not have run), commands not yet written wait up
/// to ``RedisConnectionOptions/reconnectWindow`` for the new connection.
final class RedisConnection: Sendable {
    typealias Completion = @Sendable (Result<RedisValue, CourierError>) -> Void

    /// What a subscriber connection does with replies that answer no command (pub/sub messages).
    struct Subscriber: Sendable {
        /// Called on the connection's thread for every pub/sub message or (un)subscribe confirmation.
        var onPush: @Sendable (RedisValue) -> Void
        /// Commands to send first on every new connection (re-subscribing), called on the connection's thread.
        var onConnect: @Sendable () -> [RedisCommand]
    }

    struct Pending {
        var command: RedisCommand
        var completion: Completion?
        var blockTime: Duration
        /// When the caller handed it over (for the reconnect window).
        var enqueuedAt = ContinuousClock.now
    }

    struct State {
        var queued: Deque<Pending> = []
        var signaled = false
        var closed = false
        var connected = false
        var disconnectedSince: ContinuousClock.Instant?
        var lastError: CourierError?
        var opening: CheckedContinuation<Void, any Error>?
        var commandsSent = 0
    }

    let options: RedisConnectionOptions
    let role: String
    let subscriber: Subscriber?
    let onReconnect: (@Sendable () -> Void)?
    let state = Mutex(State())
    let wakeReader: Int32
    let wakeWriter: Int32
    /// Whether the wake-up pipe is still open. The connection's thread closes it when it stops, so a connection
    /// that something still references after `close()` holds no file descriptors.
    private let wakePipeOpen = Mutex(true)

    private init(
        options: RedisConnectionOptions, role: String, subscriber: Subscriber?, onReconnect: (@Sendable () -> Void)?
    ) {
        self.options = options
        self.role = role
        self.subscriber = subscriber
        self.onReconnect = onReconnect
        var descriptors: [Int32] = [0, 0]
        _ = pipe(&descriptors)
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        wakeReader = descriptors[0]
        wakeWriter = descriptors[1]
    }

    deinit { closeWakePipe() }

    /// Closes both ends of the wake-up pipe, once; later signals are dropped.
    func closeWakePipe() {
        wakePipeOpen.withLock { open in
            guard open else { return }
            open = false
            _ = Glibc.close(wakeReader)
            _ = Glibc.close(wakeWriter)
        }
    }

    /// Connects (TCP, `AUTH`, `SELECT`) and starts the connection's thread.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/backendUnavailable`` when the server cannot be
    ///   reached within ``RedisConnectionOptions/connectTimeout``, ``CourierError/Code/invalidConfiguration``
    ///   when it refuses the credentials or the database.
    static func open(
        _ options: RedisConnectionOptions, role: String, subscriber: Subscriber? = nil,
        onReconnect: (@Sendable () -> Void)? = nil
    ) async throws -> RedisConnection {
        let connection = RedisConnection(
            options: options, role: role, subscriber: subscriber, onReconnect: onReconnect)
        try await withCheckedThrowingContinuation { continuation in
            connection.state.withLock { $0.opening = continuation }
            let thread = Thread { connection.run() }
            thread.name = "courier-redis-\(role)"
            thread.start()
        }
        return connection
    }

    /// Sends a command and returns its reply; an error reply is returned as ``RedisValue/error(_:)``.
    ///
    /// A server that is still loading its data after a restart answers `LOADING` without running the command;
    /// the command is sent again (with backoff) for up to the reconnect window, like a command queued while the
    /// connection was down.
    /// - Parameter blockTime: how long the server may legitimately hold the reply (a blocking command's timeout).
    func send(_ command: RedisCommand, blockTime: Duration = .zero) async throws -> RedisValue {
        let started = ContinuousClock.now
        var delay = Duration.milliseconds(20)
        while true {
            let reply = try await sendOnce(command, blockTime: blockTime)
            guard case .error(let message) = reply, message.hasPrefix("LOADING"),
                started.duration(to: .now) < options.reconnectWindow
            else { return reply }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(500))
        }
    }

    private func sendOnce(_ command: RedisCommand, blockTime: Duration) async throws -> RedisValue {
        try await withCheckedThrowingContinuation { continuation in
            let pending = Pending(command: command, completion: { continuation.resume(with: $0) }, blockTime: blockTime)
            if enqueue(pending) { signal() }
        }
    }

    /// Sends a command whose answer arrives as a pub/sub push, not as a reply (subscriber connections only).
    func sendWithoutReply(_ command: RedisCommand) {
        if queueWithoutReply(command) { signal() }
    }

    /// Queues a command as ``sendWithoutReply(_:)`` does, but leaves waking the connection's thread to the caller:
    /// when this returns true, the caller calls ``signal()``, after releasing any lock it holds. Commands go out in
    /// the order they were queued.
    func queueWithoutReply(_ command: RedisCommand) -> Bool {
        enqueue(Pending(command: command, completion: nil, blockTime: .zero))
    }

    /// Queues a command; returns whether the thread must be woken for it (a failure is reported to its completion).
    private func enqueue(_ pending: Pending) -> Bool {
        // The lock guards only the queue; the wake-up write happens outside it, so callers on the cooperative
        // pool never wait behind a system call.
        let outcome: Result<Bool, CourierError> = state.withLock { state in
            if state.closed {
                return .failure(CourierError(.shutDown, "the Redis connection (\(role)) was closed"))
            }
            if !state.connected, let since = state.disconnectedSince, let error = state.lastError,
                since.duration(to: .now) > options.reconnectWindow
            {
                return .failure(error)
            }
            state.queued.append(pending)
            state.commandsSent += 1
            if state.signaled { return .success(false) }
            state.signaled = true
            return .success(true)
        }
        switch outcome {
        case .success(let mustSignal): return mustSignal
        case .failure(let error):
            pending.completion?(.failure(error))
            return false
        }
    }

    /// Commands handed to this connection so far.
    var commandsSent: Int { state.withLock { $0.commandsSent } }

    /// Closes the socket and stops the thread; queued and unanswered commands fail with
    /// ``CourierError/Code/shutDown``.
    func close() {
        state.withLock { $0.closed = true }
        signal()
    }

    func signal() {
        // Under the pipe's own lock (never the state lock), so the descriptor cannot be closed and reused between
        // the check and the write; a one-byte write to a non-blocking pipe does not wait.
        wakePipeOpen.withLock { open in
            guard open else { return }
            var byte: UInt8 = 1
            _ = Glibc.write(wakeWriter, &byte, 1)
        }
    }
}
