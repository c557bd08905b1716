import Dispatch
import Synchronization

/// In-process wake-ups for tasks waiting on a key (a correlation id, or consumers), without lost signals:
/// a waiter reads the key's generation before checking the store and waits only if it has not moved since.
///
/// Wait timeouts share one dispatch timer (armed for the earliest deadline) instead of a sleeping task per wait.
final class WakeBoard: @unchecked Sendable {
    // `timer` is set once in `init` and only re-armed (thread-safe in libdispatch); the rest is in `state`.
    struct Generation: Equatable {
        var key: UInt64
        var global: UInt64
    }

    private struct Waiter {
        var key: String
        var continuation: CheckedContinuation<Void, Never>
        var deadline: ContinuousClock.Instant
    }

    private struct State {
        var generations: [String: UInt64] = [:]
        var global: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextToken: UInt64 = 0
        /// When the timer is armed to fire, if it is.
        var timerDeadline: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let timer: any DispatchSourceTimer

    init() {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "courier.sqlite.wake-timeouts"))
        timer.setEventHandler { [weak self] in self?.expireWaiters() }
        timer.activate()
    }

    deinit {
        timer.cancel()
    }

    /// The generation to pass to ``wait(for:since:timeout:)`` after checking the store.
    func generation(_ key: String) -> Generation {
        state.withLock { Generation(key: $0.generations[key] ?? 0, global: $0.global) }
    }

    /// Wakes every waiter on `key`.
    func notify(_ key: String) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generations[key, default: 0] &+= 1
            let tokens = state.waiters.filter { $0.value.key == key }.map(\.key)
            return tokens.compactMap { state.waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes one waiter on `key` (the others stay asleep); used to hand work to one idle consumer at a time.
    func notifyOne(_ key: String) {
        let woken = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.generations[key, default: 0] &+= 1
            guard let token = state.waiters.first(where: { $0.value.key == key })?.key else { return nil }
            return state.waiters.removeValue(forKey: token)?.continuation
        }
        woken?.resume()
    }

    /// Wakes up to `count` waiters on `key` (the others stay asleep); with 0, only marks the key as changed.
    func notify(_ key: String, upTo count: Int) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generations[key, default: 0] &+= 1
            let tokens = state.waiters.lazy.filter { $0.value.key == key }.prefix(count).map(\.key)
            return Array(tokens).compactMap { state.waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Marks that the store changed without waking anyone: a task that read its generation before this call
    /// and has not started waiting yet will look at the store again instead of sleeping.
    func advance() {
        state.withLock { $0.global &+= 1 }
    }

    /// The distinct keys someone is waiting on.
    var waitedKeys: [String] { state.withLock { Array(Set($0.waiters.values.map(\.key))) } }

    /// Wakes every waiter.
    func notifyAll() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.global &+= 1
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Whether anyone is waiting.
    var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

    /// The number of tasks waiting, for leak checks.
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Returns when `key` is notified after `generation`, when `timeout` passes, or when the task is cancelled.
    func wait(for key: String, since generation: Generation, timeout: Duration) async {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let token = state.withLock { state -> UInt64 in
            state.nextToken &+= 1
            return state.nextToken
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    let now = Generation(key: state.generations[key] ?? 0, global: state.global)
                    if now != generation || Task.isCancelled { return true }
                    state.waiters[token] = Waiter(key: key, continuation: continuation, deadline: deadline)
                    if state.timerDeadline.map({ deadline < $0 }) ?? true {
                        state.timerDeadline = deadline
                        arm(for: deadline)
                    }
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: token) }?.continuation.resume()
        }
    }

    /// Resumes the waiters whose deadline passed and re-arms the timer for the earliest remaining one.
    private func expireWaiters() {
        let expired = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let now = ContinuousClock.now
            let tokens = state.waiters.filter { $0.value.deadline <= now }.map(\.key)
            let expired = tokens.compactMap { state.waiters.removeValue(forKey: $0)?.continuation }
            state.timerDeadline = state.waiters.values.map(\.deadline).min()
            if let next = state.timerDeadline { arm(for: next) }
            return expired
        }
        for continuation in expired { continuation.resume() }
    }

    private func arm(for deadline: ContinuousClock.Instant) {
        let nanoseconds = max(0, (deadline - .now).nanosecondsForDispatch)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), leeway: .microseconds(500))
    }
}

extension Duration {
    /// Whole nanoseconds, capped at a day (waits re-check long before that).
    fileprivate var nanosecondsForDispatch: Int {
        Int(min(components.seconds, 86_400)) * 1_000_000_000 + Int(components.attoseconds / 1_000_000_000)
    }
}
