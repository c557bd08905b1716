import Courier
import Synchronization

/// The ids whose event watch outlives a wait on it (see ``RedisQueueBackend/watchLinger``), each with the last
/// time a wait on it started or ended.
///
/// A watch stops once that time lies a whole linger back and nobody waits on the id, so a follower that is between
/// two waits when a check comes keeps its watch: one check per id, moved on by every wait, where each wait that ran
/// out used to schedule its own check and a check that found the follower between waits stopped the watch.
final class RedisWatchLinger: Sendable {
    /// How long a watch outlives the last wait on its id.
    let duration: Duration
    private let lastUse = Mutex<[CorrelationID: ContinuousClock.Instant]>([:])

    init(duration: Duration) { self.duration = duration }

    /// Notes that `id`'s watch was just used and should linger. Returns true when it was not lingering yet: the
    /// caller schedules its check after ``duration``.
    func linger(_ id: CorrelationID) -> Bool {
        let now = ContinuousClock.now
        return lastUse.withLock { $0.updateValue(now, forKey: id) == nil }
    }

    /// Notes a wait on `id` when its watch lingers (nothing otherwise).
    func touch(_ id: CorrelationID) {
        lastUse.withLock { uses in
            if uses[id] != nil { uses[id] = .now }
        }
    }

    /// At `id`'s check: how long its watch still lingers (check again then), or nil when the linger is over; the id
    /// is then forgotten, and the caller stops its watch unless somebody waits on it.
    func remaining(_ id: CorrelationID) -> Duration? {
        let now = ContinuousClock.now
        return lastUse.withLock { uses in
            guard let last = uses[id] else { return nil }
            let left = last + duration - now
            if left > .zero { return left }
            uses[id] = nil
            return nil
        }
    }
}
