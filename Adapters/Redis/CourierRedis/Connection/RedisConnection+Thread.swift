import CHiredis
import Courier
import DequeModule
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension RedisConnection {
    /// A command written to the socket whose reply has not arrived yet.
    private struct InFlight {
        var completion: Completion?
        var deadline: ContinuousClock.Instant
    }

    /// What only the connection's thread touches: the socket, the reply parser and the bytes on the wire.
    private final class Wire {
        var socket: RedisSocket?
        var reader: UnsafeMutablePointer<redisReader>?
        var inFlight: Deque<InFlight> = []
        /// An empty queue swapped with the shared one on each turn, so taking the queue allocates nothing.
        var spare: Deque<Pending> = []
        var output: [UInt8] = []
        var written = 0
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
                    if let subscriber { queueFront(subscriber.onConnect(), wire) }
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

    /// Puts commands (re-subscriptions) on the wire ahead of anything queued.
    private func queueFront(_ commands: [RedisCommand], _ wire: Wire) {
        for command in commands { wire.output.append(contentsOf: command.bytes) }
    }

    /// One turn of the loop: queue → socket, socket → replies. Returns false when the connection is broken.
    private func pump(_ wire: Wire) -> Bool {
        guard let socket = wire.socket else { return false }
        var batch = wire.spare
        state.withLock { state in
            state.signaled = false
            swap(&batch, &state.queued)
        }
        let now = ContinuousClock.now
        for pending in batch {
            wire.output.append(contentsOf: pending.command.bytes)
            if subscriber == nil || pending.completion != nil {
                let deadline = now.advanced(by: options.readTimeout + pending.blockTime)
                wire.inFlight.append(InFlight(completion: pending.completion, deadline: deadline))
            }
        }
        batch.removeAll(keepingCapacity: true)
        wire.spare = batch
        if wire.written < wire.output.count {
            let result = wire.output.withUnsafeBytes { bytes in
                socket.write(UnsafeRawBufferPointer(rebasing: bytes[wire.written...]))
            }
            guard let result else { return false }
            wire.written += result
            if wire.written == wire.output.count {
                wire.output.removeAll(keepingCapacity: wire.output.count < 1 << 20)
                wire.written = 0
            }
        }
        var fds = [
            pollfd(
                fd: socket.descriptor, events: Int16(POLLIN) | (wire.written < wire.output.count ? Int16(POLLOUT) : 0),
                revents: 0),
            pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0),
        ]
        var timeout: Int32 = -1
        if let deadline = wire.inFlight.first?.deadline {
            timeout = ContinuousClock.now.duration(to: deadline).pollMilliseconds
        }
        if !state.withLock({ $0.signaled || !$0.queued.isEmpty }) { _ = poll(&fds, 2, timeout) }
        if fds[1].revents != 0 {
            var sink = [UInt8](repeating: 0, count: 256)
            while Glibc.read(wakeReader, &sink, sink.count) > 0 {}
        }
        if fds[0].revents != 0 {
            var replies: [RedisValue] = []
            let alive = read(wire, into: &replies)
            deliver(replies, wire)
            if !alive { return false }
        }
        if let deadline = wire.inFlight.first?.deadline, deadline < .now {
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
    private func deliver(_ replies: [RedisValue], _ wire: Wire) {
        for reply in replies {
            if let subscriber, let kind = reply.array?.first?.string, Self.pushKinds.contains(kind) {
                subscriber.onPush(reply)
                continue
            }
            guard let pending = wire.inFlight.popFirst() else { continue }
            pending.completion?(.success(reply))
        }
    }

    /// Closes the socket and fails every command that was on the wire (and, when closing, every queued one).
    private func drop(_ wire: Wire, reason: String, closing: Bool = false) {
        wire.socket?.close()
        wire.socket = nil
        wire.output.removeAll()
        wire.written = 0
        let lost = CourierError(
            closing ? .shutDown : .backendUnavailable,
            "\(reason) (Redis at \(options.endpoint)); the command may or may not have run")
        let queued = state.withLock { state in
            state.connected = false
            if !closing {
                state.disconnectedSince = state.disconnectedSince ?? .now
                state.lastError = state.lastError ?? lost
                return Deque<Pending>()
            }
            defer { state.queued.removeAll() }
            return state.queued
        }
        for pending in wire.inFlight { pending.completion?(.failure(lost)) }
        wire.inFlight.removeAll()
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
