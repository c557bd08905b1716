import Courier
import Synchronization

/// Exact counts per correlation id: how often each was published, delivered and answered.
///
/// Reads are never de-duplicated, so an adapter that delivers or answers twice is caught.
final class Ledger: Sendable {
    private struct Counts {
        var published = 0
        var delivered = 0
        var answered = 0
    }

    private let counts = Mutex<[CorrelationID: Counts]>([:])

    func published(_ id: CorrelationID) { counts.withLock { $0[id, default: Counts()].published += 1 } }
    func delivered(_ id: CorrelationID) { counts.withLock { $0[id, default: Counts()].delivered += 1 } }
    func answered(_ id: CorrelationID) { counts.withLock { $0[id, default: Counts()].answered += 1 } }

    var answeredTotal: Int { counts.withLock { $0.values.reduce(0) { $0 + $1.answered } } }

    /// Throws unless every id was published once, delivered `deliveries` times and answered once.
    func verify(rule: String, expectedIDs: Int, deliveries: Int = 1) throws {
        try verifyCounts(rule: rule, expectedIDs: expectedIDs, expected: "\(deliveries)") { $0 == deliveries }
    }

    /// Throws unless every id was published once, answered once, and its delivery count passes `accept`.
    func verifyCounts(
        rule: String, expectedIDs: Int, expected: String = "at least 1", _ accept: (Int) -> Bool
    ) throws {
        let snapshot = counts.withLock { $0 }
        if snapshot.count != expectedIDs {
            throw ConformanceFailure(rule: rule, "expected \(expectedIDs) ids in the ledger, saw \(snapshot.count)")
        }
        for (id, count) in snapshot.sorted(by: { $0.key < $1.key }) {
            if count.published != 1 || !accept(count.delivered) || count.answered != 1 {
                throw ConformanceFailure(
                    rule: rule,
                    "request \(id) was published \(count.published)×, delivered \(count.delivered)× "
                        + "(expected \(expected)) and answered \(count.answered)× (expected 1)")
            }
        }
    }
}

/// A counter shared by concurrent tasks.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds one and returns the new value.
    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
}

extension Ledger {
    /// Throws unless every id was published once, delivered at least once and answered exactly once.
    func verifyAnsweredOnce(rule: String, expectedIDs: Int) throws {
        try verifyCounts(rule: rule, expectedIDs: expectedIDs) { $0 >= 1 }
    }
}
