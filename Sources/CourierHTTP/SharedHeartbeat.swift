import Synchronization

/// One clock for every open event stream of a gateway: each tick writes a heartbeat comment to every registered
/// stream, so 10,000 idle streams cost one timer rather than 10,000 sleeping tasks. The ticking task runs only
/// while a stream is registered.
final class SharedHeartbeat: Sendable {
    private struct State {
        var streams: [UInt64: AsyncStream<String>.Continuation] = [:]
        var nextToken: UInt64 = 0
        var ticking = false
    }

    /// The time between two heartbeats; a stream's first one comes within this time of registering.
    let interval: Duration
    private let state = Mutex(State())

    init(interval: Duration) { self.interval = interval }

    /// Adds a stream; it gets `": heartbeat"` comments until ``unregister(_:)``.
    func register(_ stream: AsyncStream<String>.Continuation) -> UInt64 {
        let (token, start) = state.withLock { state -> (UInt64, Bool) in
            state.nextToken &+= 1
            state.streams[state.nextToken] = stream
            defer { state.ticking = true }
            return (state.nextToken, !state.ticking)
        }
        if start { Task { await self.tick() } }
        return token
    }

    /// Removes a stream added by ``register(_:)``.
    func unregister(_ token: UInt64) {
        _ = state.withLock { $0.streams.removeValue(forKey: token) }
    }

    private func tick() async {
        while true {
            try? await Task.sleep(for: interval)
            let streams = state.withLock { state -> [AsyncStream<String>.Continuation] in
                if state.streams.isEmpty { state.ticking = false }
                return Array(state.streams.values)
            }
            if streams.isEmpty { return }
            for stream in streams { stream.yield(": heartbeat\n\n") }
        }
    }
}
