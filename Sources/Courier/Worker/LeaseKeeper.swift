import Foundation
import Logging
import Synchronization

/// Renews the leases of every request a ``Worker`` is handling, from one task, and stops a handler whose
/// request was cancelled, whose lease was lost, or that ran past the handler timeout.
///
/// One sleeping task per worker instead of one per delivery keeps the hot path free of timers: a fast handler
/// finishes before its first renewal is due (and long before its timeout) and costs the keeper nothing but two
/// dictionary updates.
final class LeaseKeeper: Sendable {
    /// Why the keeper stopped a handler.
    enum Ending: Sendable {
        /// The request was cancelled or the lease lost.
        case leaseEnded(CourierError)
        /// The handler ran past this timeout.
        case timedOut(Duration)
    }

    private struct Entry {
        var lease: Lease
        /// Stops the handler (cancels the task it runs on).
        var stop: @Sendable () -> Void
        var renewAfter: ContinuousClock.Instant
        var deadline: ContinuousClock.Instant?
        var ended: Ending?
    }

    private let backend: any QueueBackend
    private let interval: Duration
    private let handlerTimeout: Duration?
    private let logger: Logger
    private let entries = Mutex<[UInt64: Entry]>([:])
    private let nextKey = Atomic<UInt64>(0)

    /// - Parameters:
    ///   - interval: How long after its last renewal a lease is renewed again.
    ///   - handlerTimeout: How long a handler may run before it is stopped; nil for no limit.
    init(backend: any QueueBackend, interval: Duration, handlerTimeout: Duration?, logger: Logger) {
        self.backend = backend
        self.interval = interval
        self.handlerTimeout = handlerTimeout
        self.logger = logger
    }

    /// Starts keeping `lease` alive while its handler runs; `stop` is called (at most once) if the request is
    /// cancelled or the lease lost meanwhile. Returns the key to pass to ``stopKeeping(_:)``, which reports
    /// whether `stop` was called.
    func keep(_ lease: Lease, stop: @escaping @Sendable () -> Void) -> UInt64 {
        let key = nextKey.add(1, ordering: .relaxed).newValue
        let now = ContinuousClock.now
        let entry = Entry(
            lease: lease, stop: stop, renewAfter: now.advanced(by: interval),
            deadline: handlerTimeout.map { now.advanced(by: $0) }, ended: nil)
        entries.withLock { $0[key] = entry }
        return key
    }

    /// Stops keeping a lease; returns why the handler was stopped early (request cancelled, lease lost, timed
    /// out), if it was.
    func stopKeeping(_ key: UInt64) -> Ending? {
        entries.withLock { $0.removeValue(forKey: key)?.ended }
    }

    /// Renews due leases and stops handlers past their timeout until the task is cancelled. It looks every half
    /// renewal interval, and at least ten times per handler timeout, so a timeout is kept within a tenth of it.
    func run() async {
        var tick = interval / 2
        if let handlerTimeout { tick = min(tick, max(handlerTimeout / 10, .milliseconds(10))) }
        while (try? await Task.sleep(for: tick)) != nil {
            let now = ContinuousClock.now
            let (due, expired) = entries.withLock { entries in
                var due: [(UInt64, Lease)] = []
                var expired: [@Sendable () -> Void] = []
                for (key, entry) in entries where entry.ended == nil {
                    if let deadline = entry.deadline, deadline <= now, let handlerTimeout {
                        entries[key]?.ended = .timedOut(handlerTimeout)
                        expired.append(entry.stop)
                    } else if entry.renewAfter <= now {
                        due.append((key, entry.lease))
                    }
                }
                return (due, expired)
            }
            for stop in expired { stop() }
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
                entries[key]?.ended = .leaseEnded(error)
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
