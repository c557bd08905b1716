import Synchronization

/// The handler slots of one running ``Worker``: one task each, which of them wait for a delivery, and whether
/// the worker is stopping.
///
/// A slot runs its handler on its own task, so a delivery costs no task hop. To stop one handler (its request
/// was cancelled, its lease lost) the slot's task is cancelled, and the slot continues on a fresh task
/// (``replace(_:)``). On graceful shutdown an idle slot is cancelled at once (it holds nothing), while a busy
/// slot finishes its delivery and then stops instead of asking for another; this replaces wrapping the delivery
/// stream in `cancelOnGracefulShutdown()`, whose merged stream ran every `next()` through an extra task.
final class WorkerSlots: Sendable {
    typealias Body = @Sendable (Int) async -> Void

    private struct State {
        var tasks: [Int: Task<Void, Never>] = [:]
        var running = 0
        var idle: Set<Int> = []
        var shuttingDown = false
        var stopped = false
        var body: Body?
        var finished: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Runs `body(slot)` for `count` slots (and for any slot replaced meanwhile) until every slot has returned.
    func run(count: Int, _ body: @escaping Body) async {
        await withCheckedContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.body = body
                state.finished = continuation
                if state.stopped || count == 0 { return false }
                for slot in 0..<count { spawn(slot, &state) }
                return true
            }
            if !start { continuation.resume() }
        }
    }

    /// Continues `slot` on a fresh task (after its task was cancelled to stop one handler), unless the worker is
    /// stopping. Call it from the slot's task, which must then return.
    func replace(_ slot: Int) {
        state.withLock { state in
            if !state.stopped && !state.shuttingDown { spawn(slot, &state) }
        }
    }

    /// The task `slot` runs on now. Capture it before a handler starts: cancelling it later stops that handler
    /// and never the task that replaced it.
    func task(of slot: Int) -> Task<Void, Never>? {
        state.withLock { $0.tasks[slot] }
    }

    /// Marks `slot` as waiting for a delivery. Returns false when the worker is stopping (return instead).
    func markIdle(_ slot: Int) -> Bool {
        state.withLock { state in
            if state.shuttingDown || state.stopped { return false }
            state.idle.insert(slot)
            return true
        }
    }

    /// Marks `slot` as holding a delivery (or done waiting).
    func markBusy(_ slot: Int) {
        _ = state.withLock { $0.idle.remove(slot) }
    }

    /// Whether a graceful shutdown or a hard stop has begun.
    var isStopping: Bool { state.withLock { $0.shuttingDown || $0.stopped } }

    /// Begins a graceful shutdown: idle slots are cancelled now, busy ones stop after their delivery.
    func beginShutdown() {
        let cancel = state.withLock { state -> [Task<Void, Never>] in
            state.shuttingDown = true
            return state.idle.compactMap { state.tasks[$0] }
        }
        for task in cancel { task.cancel() }
    }

    /// Cancels every slot and starts no new ones: the hard stop.
    func cancelAll() {
        let tasks = state.withLock { state in
            state.stopped = true
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
    }

    private func spawn(_ slot: Int, _ state: inout State) {
        guard let body = state.body else { return }
        state.running += 1
        state.tasks[slot] = Task {
            await body(slot)
            self.exited(slot)
        }
    }

    private func exited(_ slot: Int) {
        let finished = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.running -= 1
            state.idle.remove(slot)
            guard state.running == 0 else { return nil }
            defer { state.finished = nil }
            return state.finished
        }
        finished?.resume()
    }
}
