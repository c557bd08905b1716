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
/// Callers on any task append their encoded command to the connection's output and suspend: on an idle connection
/// they write it to the non-blocking socket themselves, on a busy one the connection's thread writes it with the
/// others queued meanwhile when it wakes for the next reply (see ``enqueue(_:)``). The thread reads, parses
/// replies with hiredis's `redisReader`, resumes callers in order, and finishes any write the socket did not take
/// at once, so no caller waits on the socket. When the connection drops it reconnects with backoff,
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

    /// A command written to the socket whose reply has not arrived yet.
    struct InFlight {
        var completion: Completion?
        var deadline: ContinuousClock.Instant
    }

    struct State {
        /// Commands waiting for a connection (written once the thread has connected).
        var queued: Deque<Pending> = []
        /// The socket callers write to: set by the thread once a connection is ready, cleared before it closes.
        var socket: RedisSocket?
        /// Encoded commands, in order; the bytes from `written` on have not reached the socket yet.
        var output: [UInt8] = []
        var written = 0
        /// Commands on the wire (or in `output`), in the order of their replies.
        var inFlight: Deque<InFlight> = []
        /// Pub/sub confirmations the server owes for `SUBSCRIBE` and `UNSUBSCRIBE` commands written (subscriber
        /// connections: they are that connection's replies).
        var unconfirmed = 0
        /// A caller's write failed: the thread drops the connection on its next turn.
        var broken = false
        /// A wake-up byte is in the pipe and the thread has not started its next turn yet.
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
            complete(enqueue(pending))
        }
    }

    /// Sends a command whose answer arrives as a pub/sub push, not as a reply (subscriber connections only).
    func sendWithoutReply(_ command: RedisCommand) {
        complete(queueWithoutReply(command))
    }

    /// What is left to do for a queued command, done by ``complete(_:)`` once the caller holds no lock of its own.
    enum Handoff {
        /// Nothing: the connection's thread writes the command when the next reply it is waiting for arrives.
        case none
        /// Write the output to the socket now: the connection was idle.
        case write
        /// Wake the connection's thread (there is no connection yet, or it must write what the socket refused).
        case wake
    }

    /// Queues a command as ``sendWithoutReply(_:)`` does, but leaves sending it to the caller, who passes what
    /// this returns to ``complete(_:)`` after releasing any lock it holds. Commands go out in the order they were
    /// queued.
    func queueWithoutReply(_ command: RedisCommand) -> Handoff {
        enqueue(Pending(command: command, completion: nil, blockTime: .zero))
    }

    /// Queues a command: in the output when connected, else until the thread connects. A failure is reported to
    /// the command's completion.
    ///
    /// A command for an idle connection (nothing written and unanswered) is written by its caller at once. A
    /// command queued while others wait for their replies waits for the next of them: the connection's thread
    /// writes it, with every other command queued meanwhile, when it wakes for that reply, so a busy connection
    /// sends batches and nobody spends a system call to wake its thread.
    private func enqueue(_ pending: Pending) -> Handoff {
        let outcome: Result<Handoff, CourierError> = state.withLock { state in
            if state.closed {
                return .failure(CourierError(.shutDown, "the Redis connection (\(role)) was closed"))
            }
            if !state.connected, let since = state.disconnectedSince, let error = state.lastError,
                since.duration(to: .now) > options.reconnectWindow
            {
                return .failure(error)
            }
            state.commandsSent += 1
            guard state.socket != nil, !state.broken else {
                state.queued.append(pending)
                return .success(.wake)
            }
            let awaitingReplies = !state.inFlight.isEmpty
            let idle = !awaitingReplies && state.unconfirmed == 0 && state.output.isEmpty
            output(pending, into: &state, at: .now)
            // Replies are bound to come (or their deadline to pass), and the thread writes on each turn; a
            // subscriber's confirmations have no deadline, so a command waiting behind them wakes the thread.
            if awaitingReplies { return .success(.none) }
            return .success(idle ? .write : .wake)
        }
        switch outcome {
        case .success(let handoff): return handoff
        case .failure(let error):
            pending.completion?(.failure(error))
            return .none
        }
    }

    /// Appends a command's bytes to the output and, when it has a reply to wait for, its place among the replies.
    func output(_ pending: Pending, into state: inout State, at now: ContinuousClock.Instant) {
        state.output.append(contentsOf: pending.command.bytes)
        if subscriber != nil { state.unconfirmed += pending.command.confirmations }
        if subscriber == nil || pending.completion != nil {
            let deadline = now.advanced(by: options.readTimeout + pending.blockTime)
            state.inFlight.append(InFlight(completion: pending.completion, deadline: deadline))
        }
    }

    /// Commands handed to this connection so far.
    var commandsSent: Int { state.withLock { $0.commandsSent } }

    /// Closes the socket and stops the thread; queued and unanswered commands fail with
    /// ``CourierError/Code/shutDown``.
    func close() {
        state.withLock { $0.closed = true }
        wake()
    }

    /// Does what ``queueWithoutReply(_:)`` left to do: writes the output to the socket (a non-blocking write, under
    /// the state lock, so bytes go out in queue order) and wakes the connection's thread only for what is left (a
    /// write the socket did not take whole, a failed write), or wakes the thread.
    func complete(_ handoff: Handoff) {
        if case .none = handoff { return }
        let mustWake = state.withLock { state -> Bool in
            if case .write = handoff, let socket = state.socket, !state.broken {
                if !Self.flush(socket, &state) { state.broken = true }
                if !state.broken && state.written == state.output.count { return false }
            }
            if state.signaled { return false }
            state.signaled = true
            return true
        }
        if mustWake { wake() }
    }

    /// Writes to the socket what it takes now, from `state.written` on. Returns false when the socket failed.
    static func flush(_ socket: RedisSocket, _ state: inout State) -> Bool {
        if state.written < state.output.count {
            let result = state.output.withUnsafeBytes { bytes in
                socket.write(UnsafeRawBufferPointer(rebasing: bytes[state.written...]))
            }
            guard let result else { return false }
            state.written += result
        }
        if state.written == state.output.count, state.written > 0 {
            state.output.removeAll(keepingCapacity: state.output.count < 1 << 20)
            state.written = 0
        }
        return true
    }

    /// Wakes the connection's thread.
    func wake() {
        // Under the pipe's own lock (never the state lock), so the descriptor cannot be closed and reused between
        // the check and the write; a one-byte write to a non-blocking pipe does not wait.
        wakePipeOpen.withLock { open in
            guard open else { return }
            var byte: UInt8 = 1
            _ = Glibc.write(wakeWriter, &byte, 1)
        }
    }
}
