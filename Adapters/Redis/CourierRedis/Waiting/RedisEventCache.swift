import Courier
import DequeModule
import Foundation
import Synchronization

/// The newest events that announcements brought this process, per watched id, so a reader following a log live
/// takes them from here instead of reading them back from Redis.
///
/// A page served from here is exactly what a read would have returned when the newest cached batch was
/// appended (the response is stored only after the last append): it is served only when the cache holds every
/// event from the reader's position to the newest one it knows, and the reader's position is not trimmed away.
/// Anything else (a gap after a lost announcement, a reader behind the trimmed part, an id never announced)
/// falls through to Redis.
///
/// It also remembers, per id, the newest sequence number a read from Redis saw while the id's watch was in place
/// (its coverage): every event after it is then announced on that watch, so a reader waiting at or after it
/// learns from the cache alone whether something new arrived (see ``newest(_:watched:from:)``).
final class RedisEventCache: Sendable {
    private struct Log {
        var records: [UInt64: RequestEventRecord] = [:]
        var trimmedThrough: UInt64 = 0
        var last: UInt64 = 0
        var bytes = 0
        /// The watch generation a Redis read happened under, and the log's newest sequence number it saw.
        var coverage: (generation: UInt64, through: UInt64)?

        /// Adds a batch, keeping the newest `limit` events; returns the change in bytes held.
        mutating func add(_ batch: RedisEventBatch, keeping limit: Int) -> Int {
            let before = bytes
            for record in batch.records {
                if let replaced = records.updateValue(record, forKey: record.sequence) {
                    bytes -= RedisEventCache.size(of: replaced)
                }
                last = max(last, record.sequence)
                bytes += RedisEventCache.size(of: record)
            }
            trimmedThrough = max(trimmedThrough, batch.trimmedThrough)
            if records.count > limit {
                let oldest = last - UInt64(limit)
                records = records.filter { $0.key > oldest }
                bytes = records.values.reduce(0) { $0 + RedisEventCache.size(of: $1) }
            }
            return bytes - before
        }
    }

    private struct State {
        var logs: [CorrelationID: Log] = [:]
        /// Ids in the order they were first cached, for forgetting the oldest; an id forgotten since stays until
        /// the list is compacted (forgetting one must not cost a scan of thousands).
        var order = Deque<CorrelationID>()
        var bytes = 0
        /// Counts every forget: a read that saw one happen while it ran must not record coverage (its id's
        /// response may have been announced and forgotten meanwhile).
        var forgets: UInt64 = 0
    }

    /// Events kept per id: a reader further behind reads from Redis.
    let eventsPerLog: Int
    /// Bytes of event data kept in all: past this, the ids announced first are forgotten.
    let byteBudget: Int
    private let state = Mutex(State())

    init(eventsPerLog: Int = 256, byteBudget: Int = 8 << 20) {
        self.eventsPerLog = eventsPerLog
        self.byteBudget = byteBudget
    }

    func add(_ batch: RedisEventBatch, of id: CorrelationID) {
        state.withLock { state in
            if state.logs[id] == nil { Self.enter(id, into: &state) }
            // Changed in place: a copy of the log would copy its records on the first write, under the lock.
            state.bytes += state.logs[id, default: Log()].add(batch, keeping: eventsPerLog)
            while state.bytes > byteBudget, let first = state.order.popFirst() {
                state.bytes -= state.logs.removeValue(forKey: first)?.bytes ?? 0
                state.forgets += 1
            }
        }
    }

    private static func enter(_ id: CorrelationID, into state: inout State) {
        state.order.append(id)
        if state.order.count > 2 * state.logs.count + 1024 {
            // Keep each cached id once, at its latest entry.
            var seen = Set<CorrelationID>()
            var compacted: [CorrelationID] = []
            for entry in state.order.reversed() where state.logs[entry] != nil || entry == id {
                if seen.insert(entry).inserted { compacted.append(entry) }
            }
            state.order = Deque(compacted.reversed())
        }
    }

    private static func size(of record: RequestEventRecord) -> Int {
        switch record.event {
        case .chunk(let data), .custom(_, let data): 64 + data.count
        default: 64
        }
    }

    /// Up to `limit` events after `sequence`, when the cache can answer as a read would have.
    func page(_ id: CorrelationID, after sequence: UInt64, limit: Int) -> RequestEventPage? {
        state.withLock { state in
            guard limit > 0, let log = state.logs[id], sequence >= log.trimmedThrough, sequence < log.last
            else { return nil }
            var events: [RequestEventRecord] = []
            var next = sequence + 1
            while next <= log.last {
                guard let record = log.records[next] else { return nil }
                if events.count < limit { events.append(record) }
                next += 1
            }
            return RequestEventPage(
                events: events, trimmedThrough: log.trimmedThrough, lastSequence: log.last, finalResponse: nil)
        }
    }

    /// An empty page for a reader at the newest event announced for `id`, when a read covered `position` under
    /// the watch generation still in place: nothing can be newer (it would have been announced), so a caught-up
    /// follower that looks again after a wait ran out asks Redis nothing. Nil when the cache cannot tell.
    func caughtUpPage(_ id: CorrelationID, watched generation: UInt64, at position: UInt64) -> RequestEventPage? {
        state.withLock { state in
            guard let log = Self.coveredLog(id, in: state, watched: generation, from: position),
                log.last <= position, log.trimmedThrough <= position
            else { return nil }
            return RequestEventPage(
                events: [], trimmedThrough: log.trimmedThrough, lastSequence: log.last, finalResponse: nil)
        }
    }

    /// A mark to pass to ``cover(_:generation:through:since:)``, taken before a read from Redis.
    var mark: UInt64 { state.withLock { $0.forgets } }

    /// Records that a read from Redis under watch `generation`, started at `mark`, saw the log end at `sequence`;
    /// nothing when anything was forgotten since `mark`.
    func cover(_ id: CorrelationID, generation: UInt64, through sequence: UInt64, since mark: UInt64) {
        state.withLock { state in
            guard state.forgets == mark else { return }
            if state.logs[id] == nil { Self.enter(id, into: &state) }
            if let coverage = state.logs[id]?.coverage, coverage.generation == generation, coverage.through <= sequence
            {
                return
            }
            state.logs[id, default: Log()].coverage = (generation, sequence)
        }
    }

    /// The newest sequence number announced for `id`, when a read covered `position` under the watch generation
    /// still in place (so nothing after `position` can have been missed); nil when the cache cannot tell.
    func newest(_ id: CorrelationID, watched generation: UInt64, from position: UInt64) -> UInt64? {
        state.withLock { Self.coveredLog(id, in: $0, watched: generation, from: position)?.last }
    }

    /// `id`'s log when a read covered `position` under the watch generation still in place: every event after
    /// `position` was announced on that watch, so the log holds or has seen it.
    private static func coveredLog(
        _ id: CorrelationID, in state: State, watched generation: UInt64, from position: UInt64
    ) -> Log? {
        guard let log = state.logs[id], let coverage = log.coverage, coverage.generation == generation,
            coverage.through <= position
        else { return nil }
        return log
    }

    /// Forgets an id (its response arrived, or nobody follows it any more).
    func forget(_ id: CorrelationID) {
        state.withLock { state in
            state.forgets += 1
            if let log = state.logs.removeValue(forKey: id) { state.bytes -= log.bytes }
        }
    }

    /// Forgets everything (announcements may have been lost while the connection was down).
    func forgetAll() {
        state.withLock { state in
            let forgets = state.forgets
            state = State()
            state.forgets = forgets + 1
        }
    }

    /// Ids cached (for leak checks).
    var count: Int { state.withLock { $0.logs.count } }

    /// Entries of the eviction order, forgotten ids included: at most twice the ids cached plus 1,024.
    var orderLength: Int { state.withLock { $0.order.count } }
}
