import Courier
import Foundation
import Synchronization

/// Races an operation against a deadline without ever waiting for an operation that does not return.
///
/// A task group would wait for its children when it ends, so an adapter call that ignores cancellation could
/// stop the whole kit. Here the operation runs on a task of its own: when the deadline passes first, the
/// operation is cancelled and abandoned, and the caller goes on at once.
enum Deadline {
    /// The timer behind every race.
    private static let timeouts = TimeoutScheduler()

    /// How a race ended.
    enum Outcome<T: Sendable>: Sendable {
        case finished(Result<T, any Error>)
        case expired
    }

    /// Runs `operation`, giving up on it after `limit`.
    static func race<T: Sendable>(
        _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async -> Outcome<T> {
        let race = Race<T>()
        let work = Task {
            do {
                race.settle(.finished(.success(try await operation())))
            } catch {
                race.settle(.finished(.failure(error)))
            }
        }
        // Not a sleeping task: on Linux a cancelled sleep keeps its timer and memory until its deadline, which
        // would show as a leak in the kit's own resource cases.
        let timer = timeouts.schedule(after: limit) { race.settle(.expired) }
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { race.wait(with: $0) }
        } onCancel: {
            // The operation learns of the cancellation and ends as it sees fit (a store call may still complete);
            // the deadline still bounds the wait for it.
            work.cancel()
        }
        timeouts.cancel(timer)
        if case .expired = outcome { work.cancel() }
        return outcome
    }

    /// The first outcome of a race, and the caller waiting for it.
    private final class Race<T: Sendable>: Sendable {
        private let state = Mutex<(outcome: Outcome<T>?, waiter: CheckedContinuation<Outcome<T>, Never>?)>((nil, nil))

        /// Records `outcome` unless one was recorded already, and wakes the caller.
        func settle(_ outcome: Outcome<T>) {
            let waiter = state.withLock { state -> CheckedContinuation<Outcome<T>, Never>? in
                guard state.outcome == nil else { return nil }
                state.outcome = outcome
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: outcome)
        }

        /// Resumes `continuation` with the outcome, now or when it is settled.
        func wait(with continuation: CheckedContinuation<Outcome<T>, Never>) {
            let ready = state.withLock { state -> Outcome<T>? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
