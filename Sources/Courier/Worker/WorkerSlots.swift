import Synchronization

/// The handler slots of one running ``Worker``: which are waiting for a delivery, and whether a graceful
/// shutdown has begun.
///
/// On graceful shutdown an idle slot is cancelled at once (it holds nothing), while a busy slot finishes its
/// delivery and then stops instead of asking for another. Doing this per slot, rather than wrapping the
/// delivery stream in `cancelOnGracefulShutdown()`, keeps each delivery on the slot's own task: the merged
/// stream ran every `next()` through an extra task and cost about a tenth of a memory round trip.
final class WorkerSlots: Sendable {
    private struct State {
        var tasks: [Task<Void, Never>] = []
        var idle: Set<Int> = []
        var shuttingDown = false
    }

    private let state = Mutex(State())

    /// Records the slots' tasks (slot `n` is `tasks[n]`), cancelling idle ones if shutdown already began.
    func register(_ tasks: [Task<Void, Never>]) {
        let cancel = state.withLock { state -> [Task<Void, Never>] in
            state.tasks = tasks
            return state.shuttingDown ? state.idle.map { tasks[$0] } : []
        }
        for task in cancel { task.cancel() }
    }

    /// Marks `slot` as waiting for a delivery. Returns false when the worker is shutting down (stop instead).
    func markIdle(_ slot: Int) -> Bool {
        state.withLock { state in
            if state.shuttingDown { return false }
            state.idle.insert(slot)
            return true
        }
    }

    /// Marks `slot` as holding a delivery (or done waiting).
    func markBusy(_ slot: Int) {
        _ = state.withLock { $0.idle.remove(slot) }
    }

    /// Whether a graceful shutdown has begun.
    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// Begins a graceful shutdown: idle slots are cancelled now, busy ones stop after their delivery.
    func beginShutdown() {
        let cancel = state.withLock { state -> [Task<Void, Never>] in
            state.shuttingDown = true
            return state.idle.compactMap { $0 < state.tasks.count ? state.tasks[$0] : nil }
        }
        for task in cancel { task.cancel() }
    }

    /// Cancels every slot: the hard stop.
    func cancelAll() {
        for task in state.withLock({ $0.tasks }) { task.cancel() }
    }
}
