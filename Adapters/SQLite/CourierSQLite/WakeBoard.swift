import Courier
import Synchronization

/// In-process wake-ups for tasks waiting on a key (a correlation id, or consumers), without lost signals:
/// a waiter reads the key's generation before checking the store and waits only if it has not moved since.
///
/// Wait timeouts share one ``TimeoutScheduler`` instead of a sleeping task per wait.
final class WakeBoard: Sendable {
    struct Generation: Equatable {
        var key: UInt64
        var global: UInt64
    }

    private struct Waiter {
        var key: String
        var continuation: CheckedContinuation<Void, Never>
        var timeout: TimeoutScheduler.Token?
    }

    private struct State {
        var generations: [String: UInt64] = [:]
        var global: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())
    private let timeouts = TimeoutScheduler()

    deinit { timeouts.close() }

    /// Resumes woken waiters and cancels their timeouts, outside the lock.
    private func wake(_ waiters: [Waiter]) {
        for waiter in waiters {
            if let timeout = waiter.timeout { timeouts.cancel(timeout) }
            waiter.continuation.resume()
        }
    }

    /// The generation to pass to ``wait(for:since:timeout:)`` after checking the store.
    func generation(_ key: String) -> Generation {
        state.withLock { Generation(key: $0.generations[key] ?? 0, global: $0.global) }
    }

    /// Wakes every waiter on `key`.
    func notify(_ key: String) {
        wake(
            state.withLock { state in
                state.generations[key, default: 0] &+= 1
                let tokens = state.waiters.filter { $0.value.key == key }.map(\.key)
                return tokens.compactMap { state.waiters.removeValue(forKey: $0) }
            })
    }

    /// Wakes one waiter on `key` (the others stay asleep); used to hand work to one idle consumer at a time.
    func notifyOne(_ key: String) {
        notify(key, upTo: 1)
    }

    /// Wakes up to `count` waiters on `key` (the others stay asleep); with 0, only marks the key as changed.
    func notify(_ key: String, upTo count: Int) {
        wake(
            state.withLock { state in
                state.generations[key, default: 0] &+= 1
                let tokens = state.waiters.lazy.filter { $0.value.key == key }.prefix(count).map(\.key)
                return Array(tokens).compactMap { state.waiters.removeValue(forKey: $0) }
            })
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
        wake(
            state.withLock { state in
                state.global &+= 1
                defer { state.waiters = [:] }
                return Array(state.waiters.values)
            })
    }

    /// Whether anyone is waiting.
    var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

    /// The number of tasks waiting, for leak checks.
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Returns when `key` is notified after `generation`, when `timeout` passes, or when the task is cancelled.
    func wait(for key: String, since generation: Generation, timeout: Duration) async {
        let token = state.withLock { state -> UInt64 in
            state.nextToken &+= 1
            return state.nextToken
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    let now = Generation(key: state.generations[key] ?? 0, global: state.global)
                    if now != generation || Task.isCancelled { return true }
                    state.waiters[token] = Waiter(key: key, continuation: continuation, timeout: nil)
                    state.waiters[token]?.timeout = timeouts.schedule(after: timeout) { [weak self] in
                        self?.expire(token)
                    }
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            if let waiter = state.withLock({ $0.waiters.removeValue(forKey: token) }) { wake([waiter]) }
        }
    }

    /// Ends one wait whose timeout passed.
    private func expire(_ token: UInt64) {
        state.withLock { $0.waiters.removeValue(forKey: token) }?.continuation.resume()
    }
}
