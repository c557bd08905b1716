import Courier
import Foundation

/// Notices other processes' commits with `PRAGMA data_version`, read on the database thread itself so a check
/// that finds nothing costs no hop to Swift's cooperative pool.
///
/// It checks only while someone in this process waits: every `activeInterval` while other processes' commits keep
/// arriving (one seen within the last `activeWindow`), otherwise every `idleInterval`. On a change it wakes the
/// waiters whose responses arrived (looked up in one read transaction) and one idle consumer.
final class ChangeWatch: @unchecked Sendable {
    // The mutable state is touched only on the database thread, from `check`.
    private let board: WakeBoard
    private let store: SQLiteQueueStore
    private let idleInterval: Duration
    private let activeInterval: Duration
    private let activeWindow: Duration
    private var lastVersion: Int64?
    private var lastChange = ContinuousClock.now - .seconds(3600)

    init(
        board: WakeBoard, store: SQLiteQueueStore, idleInterval: Duration, activeInterval: Duration,
        activeWindow: Duration = .milliseconds(100)
    ) {
        self.board = board
        self.store = store
        self.idleInterval = idleInterval
        self.activeInterval = min(activeInterval, idleInterval)
        self.activeWindow = activeWindow
    }

    /// Checks once (on the database thread) and returns how long to wait before the next check.
    func check(_ connection: SQLiteConnection) -> Duration {
        guard board.hasWaiters else { return idleInterval }
        do {
            let version = try connection.query("PRAGMA data_version").first?.first?.integer
            // The first reading has no baseline: look, in case a commit came before it.
            if version != lastVersion || lastVersion == nil {
                lastChange = .now
                try noticeCommit(connection)
            }
            lastVersion = version
        } catch {
            // The next check tries again; waiters also re-check on their own every few seconds.
        }
        return ContinuousClock.now - lastChange < activeWindow ? activeInterval : idleInterval
    }

    /// Another connection committed: wakes the waiters whose responses arrived and one idle consumer.
    private func noticeCommit(_ connection: SQLiteConnection) throws {
        // First, so a waiter between its store check and its wait does not miss this commit.
        board.advance()
        let ids = board.waitedKeys.compactMap { $0 == SQLiteQueueStore.consumersKey ? nil : try? CorrelationID($0) }
        if !ids.isEmpty {
            let answered = try connection.readTransaction { try store.answered(ids, connection) }
            for id in answered { board.notify(id.rawValue) }
        }
        board.notifyOne(SQLiteQueueStore.consumersKey)
    }
}
