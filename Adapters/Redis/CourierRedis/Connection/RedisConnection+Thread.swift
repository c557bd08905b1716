import CHiredis
import Courier
import DequeModule
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension RedisConnection {
    /// What only the connection's thread touches: the socket it reads and the reply parser.
    private final class Wire {
        var socket: RedisSocket?
        var reader: UnsafeMutablePointer<redisReader>?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

        deinit {
            buffer.deallocate()
            if let reader { redisReaderFree(reader) }
            socket?.close()
        }
    }

    /// The connection's thread: connect, then move commands out and replies in until closed.
    func run() {
        let wire = Wire()
        var backoff = Duration.milliseconds(10)
        var everConnected = false
        while !state.withLock({ $0.closed }) {
            if wire.socket == nil {
                do {
                    try connect(wire)
                    backoff = .milliseconds(10)
                    let opening = state.withLock { state in
                        state.connected = true
                        state.disconnectedSince = nil
                        state.lastError = nil
                        defer { state.opening = nil }
                        return state.opening
                    }
                    opening?.resume()
                    if everConnected { onReconnect?() }
                    everConnected = true
                    open(wire)
                } catch {
                    let opening = state.withLock { state in
                        state.lastError = error
                        state.disconnectedSince = state.disconnectedSince ?? .now
                        defer { state.opening = nil }
                        return state.opening
                    }
                    if let opening {
                        state.withLock { $0.closed = true }
                        opening.resume(throwing: error)
                        break
                    }
                    failExpiredQueued(error)
                    sleep(backoff)
                    backoff = min(backoff * 2, .seconds(1))
                    continue
                }
            }
            if !pump(wire) { drop(wire, reason: "the connection was lost") }
        }
        drop(wire, reason: "the connection was closed", closing: true)
        closeWakePipe()
    }

    /// Opens the socket and runs the handshake (AUTH, SELECT, CLIENT SETNAME) synchronously on this thread.
    private func connect(_ wire: Wire) throws(CourierError) {
        let socket = try RedisSocket.connect(host: options.host, port: options.port, timeout: options.connectTimeout)
        if let reader = wire.reader { redisReaderFree(reader) }
        wire.reader = redisReaderCreate()
        wire.socket = socket
        var handshake: [RedisCommand] = []
        if let password = options.password {
            handshake.append(
                RedisCommand(
                    options.user.map { ["AUTH", .string($0), .string(password)] } ?? ["AUTH", .string(password)]))
        }
        if options.database != 0 { handshake.append(RedisCommand(["SELECT", .integer(options.database)])) }
        handshake.append(RedisCommand(["CLIENT", "SETNAME", .string("courier-\(role)")]))
        let deadline = ContinuousClock.now.advanced(by: options.connectTimeout)
        var output = handshake.flatMap(\.bytes)
        var replies: [RedisValue] = []
        while replies.count < handshake.count {
            guard ContinuousClock.now < deadline else {
                drop(wire, reason: "no handshake reply")
                throw CourierError(
                    .backendUnavailable, "Redis at \(options.endpoint) did not answer the handshake in time")
            }
            if !output.isEmpty, let written = output.withUnsafeBytes({ socket.write($0) }) {
                output.removeFirst(written)
            }
            var poller = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, 50)
            guard read(wire, into: &replies) else {
                drop(wire, reason: "handshake failed")
                throw CourierError(.backendUnavailable, "Redis at \(options.endpoint) closed the connection")
            }
        }
        for (command, reply) in zip(handshake, replies) {
            if case .error(let message) = reply {
                drop(wire, reason: "handshake refused")
                if message.hasPrefix("LOADING") {
                    throw CourierError(.backendUnavailable, "Redis at \(options.endpoint) is still loading its data")
                }
                let what = command.name == "AUTH" ? "refused the credentials" : "refused \(command.name)"
                throw CourierError(.invalidConfiguration, "Redis at \(options.endpoint) \(what): \(message)")
            }
        }
    }

    /// Hands the connected socket to callers: re-subscriptions first, then the commands queued while there was no
    /// connection, then whatever callers write.
    private func open(_ wire: Wire) {
        guard let socket = wire.socket else { return }
        // Asked for before taking the state lock: the subscriber takes its own lock, which callers hold while they
        // queue (subscriber lock, then state lock; never the other way round).
        let resubscriptions = subscriber?.onConnect() ?? []
        state.withLock { state in
            let now = ContinuousClock.now
            for command in resubscriptions {
                state.output.append(contentsOf: command.bytes)
                state.unconfirmed += command.confirmations
            }
            for pending in state.queued { output(pending, into: &state, at: now) }
            state.queued.removeAll()
            state.socket = socket
        }
    }

    /// One turn of the loop: what callers left unwritten → socket, socket → replies. Returns false when the
    /// connection is broken.
    private func pump(_ wire: Wire) -> Bool {
        guard let socket = wire.socket else { return false }
        // Callers do not wake the thread for a command they wrote whole, so with nothing on the wire the thread
        // still looks at the first command's deadline at least once a read timeout (a command added meanwhile has
        // a later deadline than the one read here).
        let turn = state.withLock { state -> (healthy: Bool, writing: Bool, deadline: ContinuousClock.Instant) in
            state.signaled = false
            let healthy = !state.broken && Self.flush(socket, &state)
            let deadline = state.inFlight.first?.deadline ?? .now.advanced(by: options.readTimeout)
            return (healthy, state.written < state.output.count, deadline)
        }
        guard turn.healthy else { return false }
        var fds = [
            pollfd(fd: socket.descriptor, events: Int16(POLLIN) | (turn.writing ? Int16(POLLOUT) : 0), revents: 0),
            pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0),
        ]
        if !state.withLock({ $0.signaled }) {
            _ = poll(&fds, 2, ContinuousClock.now.duration(to: turn.deadline).pollMilliseconds)
        }
        if fds[1].revents != 0 {
            var sink = [UInt8](repeating: 0, count: 256)
            while Glibc.read(wakeReader, &sink, sink.count) > 0 {}
        }
        if fds[0].revents != 0 {
            var replies: [RedisValue] = []
            let alive = read(wire, into: &replies)
            deliver(replies)
            if !alive { return false }
        }
        if let deadline = state.withLock({ $0.inFlight.first?.deadline }), deadline < .now {
            state.withLock {
                $0.lastError = CourierError(
                    .backendUnavailable, "Redis at \(options.endpoint) did not answer within \(options.readTimeout)")
            }
            return false
        }
        return true
    }

    /// Reads what the socket has and parses complete replies. Returns false on end of stream or a protocol error.
    private func read(_ wire: Wire, into replies: inout [RedisValue]) -> Bool {
        guard let socket = wire.socket, let reader = wire.reader else { return false }
        while true {
            guard let count = socket.read(into: wire.buffer) else { return false }
            if count == 0 { break }
            _ = redisReaderFeed(reader, wire.buffer.baseAddress!.assumingMemoryBound(to: CChar.self), count)
            if count < wire.buffer.count { break }
        }
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else { return false }
            guard let raw else { return true }
            replies.append(RedisValue(reply: raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
    }

    private static let pushKinds: Set<String> = ["message", "subscribe", "unsubscribe", "pmessage", "psubscribe"]

    /// Hands replies to their callers in order, and pub/sub pushes to the subscriber.
    private func deliver(_ replies: [RedisValue]) {
        if replies.isEmpty { return }
        // Each reply is either a push (a pub/sub message or confirmation, on a subscriber connection) or the answer
        // to the next command in flight.
        let pushKinds = replies.map { reply -> String? in
            guard subscriber != nil, let kind = reply.array?.first?.string, Self.pushKinds.contains(kind) else {
                return nil
            }
            return kind
        }
        let answers = pushKinds.count { $0 == nil }
        let confirmations = pushKinds.count { $0 == "subscribe" || $0 == "unsubscribe" }
        var completions = state.withLock { state in
            state.unconfirmed = max(0, state.unconfirmed - confirmations)
            var taken: Deque<InFlight> = []
            while taken.count < answers, let first = state.inFlight.popFirst() { taken.append(first) }
            return taken
        }
        for (reply, pushKind) in zip(replies, pushKinds) {
            if pushKind != nil {
                subscriber?.onPush(reply)
                continue
            }
            guard let pending = completions.popFirst() else { continue }
            pending.completion?(.success(reply))
        }
    }

    /// Closes the socket and fails every command that was on the wire (and, when closing, every queued one).
    private func drop(_ wire: Wire, reason: String, closing: Bool = false) {
        let lost = CourierError(
            closing ? .shutDown : .backendUnavailable,
            "\(reason) (Redis at \(options.endpoint)); the command may or may not have run")
        // Callers stop writing to the socket (under the lock) before it is closed, so its descriptor is never
        // written after it may have been reused.
        let (inFlight, queued) = state.withLock { state in
            state.socket = nil
            state.output.removeAll()
            state.written = 0
            state.broken = false
            state.unconfirmed = 0
            state.connected = false
            defer { state.inFlight.removeAll() }
            if !closing {
                state.disconnectedSince = state.disconnectedSince ?? .now
                state.lastError = state.lastError ?? lost
                return (state.inFlight, Deque<Pending>())
            }
            defer { state.queued.removeAll() }
            return (state.inFlight, state.queued)
        }
        wire.socket?.close()
        wire.socket = nil
        for pending in inFlight { pending.completion?(.failure(lost)) }
        for pending in queued {
            pending.completion?(.failure(CourierError(.shutDown, "the Redis connection (\(role)) was closed")))
        }
    }

    /// Fails queued commands that have waited longer than the reconnect window.
    private func failExpiredQueued(_ error: CourierError) {
        let expired = state.withLock { state in
            let now = ContinuousClock.now
            var expired: [Pending] = []
            while let first = state.queued.first, first.enqueuedAt.duration(to: now) > options.reconnectWindow {
                expired.append(state.queued.removeFirst())
            }
            return expired
        }
        for pending in expired { pending.completion?(.failure(error)) }
    }

    /// Waits out a reconnect backoff, waking early only when the connection is closed.
    private func sleep(_ duration: Duration) {
        let until = ContinuousClock.now.advanced(by: duration)
        while !state.withLock({ $0.closed }) {
            let left = ContinuousClock.now.duration(to: until)
            if left <= .zero { break }
            var poller = pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, left.pollMilliseconds)
            var sink = [UInt8](repeating: 0, count: 256)
            while Glibc.read(wakeReader, &sink, sink.count) > 0 {}
        }
        state.withLock { $0.signaled = false }
    }
}

extension Duration {
    /// This duration as a `poll(2)` timeout: whole milliseconds, rounded up, never negative.
    var pollMilliseconds: Int32 {
        if self <= .zero { return 0 }
        let (seconds, attoseconds) = components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}
