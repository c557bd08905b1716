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
    private var lastEventPositions: [CorrelationID: UInt64] = [:]

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
        let keys = board.waitedKeys
        let ids = keys.compactMap {
            $0 == SQLiteQueueStore.consumersKey || SQLiteQueueStore.id(ofEventsKey: $0) != nil
                ? nil : try? CorrelationID($0)
        }
        if !ids.isEmpty {
            let answered = try connection.readTransaction { try store.answered(ids, connection) }
            for id in answered { board.notify(id.rawValue) }
        }
        // Event readers: wake those whose log grew (or whose request finished) since this process last looked.
        let followed = keys.compactMap(SQLiteQueueStore.id(ofEventsKey:))
        if !followed.isEmpty {
            let (positions, finished) = try connection.readTransaction {
                (try store.lastSequences(followed, connection), try store.answered(followed, connection))
            }
            for id in followed where positions[id] != lastEventPositions[id] || finished.contains(id) {
                board.notify(SQLiteQueueStore.eventsKey(id))
            }
            lastEventPositions = positions
        }
        board.notifyOne(SQLiteQueueStore.consumersKey)
    }
}
