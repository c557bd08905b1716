import HeapModule
import Synchronization

/// Runs actions at deadlines from one sleeping task, for adapters with many short-lived timeouts (one per
/// waiting `subscribe`).
///
/// One `Task.sleep` per timeout would cost a task and a timer per waiter, and on Linux a cancelled sleep keeps
/// its timer (and memory) until the original deadline: at 10,000 answered waits a second with a 300 s timeout,
/// that is three million dormant timers. The scheduler keeps deadlines in a heap and one task asleep until the
/// earliest (at most one second at a time, so a sleep cut short by an earlier deadline is retained briefly).
///
/// Actions run outside the scheduler's lock, on the cooperative pool, and must not block. An action runs at most
/// once; a cancelled one never runs.
public final class TimeoutScheduler: Sendable {
    /// Identifies a scheduled action, for ``cancel(_:)``.
    public struct Token: Hashable, Sendable {
        fileprivate let value: UInt64
    }

    private struct Entry: Comparable {
        let deadline: ContinuousClock.Instant
        let token: UInt64
        static func < (left: Entry, right: Entry) -> Bool {
            (left.deadline, left.token) < (right.deadline, right.token)
        }
    }

    private struct State {
        var heap = Heap<Entry>()
        var actions: [UInt64: (deadline: ContinuousClock.Instant, action: @Sendable () -> Void)] = [:]
        var nextToken: UInt64 = 0
        var sleeper: Task<Void, Never>?
        var sleepingUntil: ContinuousClock.Instant?
        var closed = false
    }

    private static let longestSleep: Duration = .seconds(1)
    private let state = Mutex(State())

    /// Creates an idle scheduler; its task starts with the first deadline.
    public init() {}

    /// Runs `action` once `delay` has passed, unless cancelled first. After ``close()`` nothing is scheduled.
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> Token {
        let deadline = ContinuousClock.now.advanced(by: delay)
        return state.withLock { state in
            state.nextToken &+= 1
            let token = state.nextToken
            guard !state.closed else { return Token(value: token) }
            state.actions[token] = (deadline, action)
            state.heap.insert(Entry(deadline: deadline, token: token))
            if state.sleepingUntil.map({ deadline < $0 }) ?? true { arm(&state, until: deadline) }
            return Token(value: token)
        }
    }

    /// Cancels a scheduled action. Cancelling one that ran or was cancelled does nothing.
    public func cancel(_ token: Token) {
        state.withLock { state in
            guard state.actions.removeValue(forKey: token.value) != nil else { return }
            // Cancelled entries stay in the heap until their deadline; rebuild it when they dominate.
            if state.heap.count > 1024 && state.heap.count > 4 * state.actions.count {
                state.heap = Heap(state.actions.map { Entry(deadline: $0.value.deadline, token: $0.key) })
            }
        }
    }

    /// Actions scheduled and neither run nor cancelled.
    public var pendingCount: Int { state.withLock { $0.actions.count } }

    /// Cancels every pending action and stops the task.
    public func close() {
        let sleeper = state.withLock { state in
            state.closed = true
            state.actions = [:]
            state.heap = Heap()
            state.sleepingUntil = nil
            defer { state.sleeper = nil }
            return state.sleeper
        }
        sleeper?.cancel()
    }

    private func arm(_ state: inout State, until deadline: ContinuousClock.Instant) {
        let wake = min(deadline, ContinuousClock.now.advanced(by: Self.longestSleep))
        state.sleeper?.cancel()
        state.sleepingUntil = wake
        state.sleeper = Task { [weak self] in
            try? await Task.sleep(until: wake, clock: .continuous)
            guard !Task.isCancelled else { return }
            self?.fire()
        }
    }

    private func fire() {
        let now = ContinuousClock.now
        let due = state.withLock { state -> [@Sendable () -> Void] in
            state.sleeper = nil
            state.sleepingUntil = nil
            var due: [@Sendable () -> Void] = []
            while let first = state.heap.min, first.deadline <= now {
                state.heap.removeMin()
                if let entry = state.actions.removeValue(forKey: first.token) { due.append(entry.action) }
            }
            while let first = state.heap.min, state.actions[first.token] == nil { state.heap.removeMin() }
            if let next = state.heap.min, !state.closed { arm(&state, until: next.deadline) }
            return due
        }
        for action in due { action() }
    }
}
