import Dispatch
import HeapModule
import Synchronization

/// Runs actions at deadlines from one dispatch timer, for adapters with many short-lived timeouts (one per
/// waiting `subscribe`).
///
/// One `Task.sleep` per timeout would cost a task and a timer per waiter, and on Linux a cancelled sleep keeps
/// its timer (and memory) until the original deadline: at 10,000 answered waits a second with a 300 s timeout,
/// that is three million dormant timers. The scheduler keeps deadlines in a heap and one dispatch timer armed
/// for the earliest; re-arming a dispatch timer retains nothing.
///
/// Actions run outside the scheduler's lock, on the timer's serial queue (not the cooperative pool), and must
/// be quick and never block: resuming a continuation is the intended use. An action runs at most once; a
/// cancelled one never runs.
public final class TimeoutScheduler: @unchecked Sendable {
    // `timer` is created in `init` and only re-armed or cancelled (thread-safe in libdispatch); the rest is
    // in `state`.

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
        var armedFor: ContinuousClock.Instant?
        var closed = false
    }

    private let state = Mutex(State())
    private let timer: any DispatchSourceTimer

    /// Creates an idle scheduler; its timer is armed with the first deadline.
    public init() {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "courier.timeouts"))
        timer.setEventHandler { [weak self] in self?.fire() }
        timer.activate()
    }

    deinit { timer.cancel() }

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
            if state.armedFor.map({ deadline < $0 }) ?? true { arm(&state, for: deadline) }
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

    /// Cancels every pending action and stops the timer.
    public func close() {
        state.withLock { state in
            state.closed = true
            state.actions = [:]
            state.heap = Heap()
            state.armedFor = nil
        }
        timer.cancel()
    }

    private func arm(_ state: inout State, for deadline: ContinuousClock.Instant) {
        state.armedFor = deadline
        let delay = max(.zero, ContinuousClock.now.duration(to: deadline))
        let (seconds, attoseconds) = delay.components
        let nanoseconds = Int(min(seconds, 86_400)) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), leeway: .microseconds(500))
    }

    private func fire() {
        let now = ContinuousClock.now
        let due = state.withLock { state -> [@Sendable () -> Void] in
            state.armedFor = nil
            var due: [@Sendable () -> Void] = []
            while let first = state.heap.min, first.deadline <= now {
                state.heap.removeMin()
                if let entry = state.actions.removeValue(forKey: first.token) { due.append(entry.action) }
            }
            while let first = state.heap.min, state.actions[first.token] == nil { state.heap.removeMin() }
            if let next = state.heap.min, !state.closed { arm(&state, for: next.deadline) }
            return due
        }
        for action in due { action() }
    }
}
