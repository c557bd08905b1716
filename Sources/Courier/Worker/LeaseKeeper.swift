import Foundation
import Logging
import Synchronization

/// Renews the leases of every request a ``Worker`` is handling, from one task, and stops a handler whose
/// request was cancelled or whose lease was lost.
///
/// One sleeping task per worker instead of one per delivery keeps the hot path free of timers: a fast handler
/// finishes before its first renewal is due and costs the keeper nothing but two dictionary updates.
final class LeaseKeeper: Sendable {
    private struct Entry {
        var lease: Lease
        /// Stops the handler (cancels the task it runs on).
        var stop: @Sendable () -> Void
        var renewAfter: ContinuousClock.Instant
        var ended: CourierError?
    }

    private let backend: any QueueBackend
    private let interval: Duration
    private let logger: Logger
    private let entries = Mutex<[UInt64: Entry]>([:])
    private let nextKey = Atomic<UInt64>(0)

    /// - Parameter interval: How long after its last renewal a lease is renewed again.
    init(backend: any QueueBackend, interval: Duration, logger: Logger) {
        self.backend = backend
        self.interval = interval
        self.logger = logger
    }

    /// Starts keeping `lease` alive while its handler runs; `stop` is called (at most once) if the request is
    /// cancelled or the lease lost meanwhile. Returns the key to pass to ``stopKeeping(_:)``, which reports
    /// whether `stop` was called.
    func keep(_ lease: Lease, stop: @escaping @Sendable () -> Void) -> UInt64 {
        let key = nextKey.add(1, ordering: .relaxed).newValue
        let entry = Entry(lease: lease, stop: stop, renewAfter: .now.advanced(by: interval), ended: nil)
        entries.withLock { $0[key] = entry }
        return key
    }

    /// Stops keeping a lease; returns why it ended early (request cancelled, lease lost), if it did.
    func stopKeeping(_ key: UInt64) -> CourierError? {
        entries.withLock { $0.removeValue(forKey: key)?.ended }
    }

    /// Renews due leases until the task is cancelled.
    func run() async {
        let tick = interval / 2
        while (try? await Task.sleep(for: tick)) != nil {
            let now = ContinuousClock.now
            let due = entries.withLock { entries in
                entries.filter { $0.value.ended == nil && $0.value.renewAfter <= now }.map { ($0.key, $0.value.lease) }
            }
            for (key, lease) in due { await renew(key, lease) }
        }
    }

    private func renew(_ key: UInt64, _ lease: Lease) async {
        do {
            let renewed = try await backend.extendLease(lease)
            entries.withLock {
                $0[key]?.lease = renewed
                $0[key]?.renewAfter = .now.advanced(by: interval)
            }
        } catch let error as CourierError where error.code == .requestCancelled || error.code == .leaseLost {
            let stop = entries.withLock { entries -> (@Sendable () -> Void)? in
                guard entries[key] != nil, entries[key]?.ended == nil else { return nil }
                entries[key]?.ended = error
                return entries[key]?.stop
            }
            stop?()
        } catch {
            logger.warning(
                "could not extend the lease; will try again",
                metadata: ["correlation_id": "\(lease.correlationID)", "error": "\(error)"])
        }
    }
}
