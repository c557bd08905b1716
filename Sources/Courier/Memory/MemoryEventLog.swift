import DequeModule
import Foundation

/// One request's event log in a ``MemoryQueueBackend``: the newest events up to a limit, and how far it was
/// trimmed. A reference, so the request's record holds one word for it (nothing for requests that never stream)
/// and appends change it in place; only ever touched under the queue's lock.
final class MemoryEventLog: @unchecked Sendable {  // Mutated only under the queue's lock.
    var events: Deque<RequestEventRecord> = []
    var lastSequence: UInt64 = 0
    var trimmedThrough: UInt64 = 0
    /// The lease token of the delivery that appended last; a new one starts with an attempt boundary.
    var deliveryToken: String?
    /// When the last append happened (seconds since the reference date), for status reports.
    var updatedAt: Double = 0
    /// The newest progress and the attempt that reported it, for status reports (trimming keeps it).
    var progress: (value: RequestProgress, attempt: Int)?

    /// Appends `event` with the next sequence number, trimming the oldest beyond `limit`.
    func append(_ event: RequestEvent, limit: Int) -> UInt64 {
        lastSequence += 1
        events.append(RequestEventRecord(sequence: lastSequence, event: event, time: Date()))
        while events.count > limit, let oldest = events.popFirst() { trimmedThrough = oldest.sequence }
        return lastSequence
    }

    /// Up to `limit` events after `sequence`.
    func page(after sequence: UInt64, limit: Int, finalResponse: QueueResponse?) -> RequestEventPage {
        let firstRetained = events.first?.sequence ?? (lastSequence + 1)
        // Any position is valid, up to UInt64.max: one past the end (or beyond) selects nothing.
        let start: Int
        if sequence < firstRetained {
            start = 0
        } else {
            let offset = sequence - firstRetained
            start = offset >= UInt64(events.count) ? events.count : Int(offset) + 1
        }
        let selected = start < events.count ? Array(events[start..<min(events.count, start + max(limit, 0))]) : []
        return RequestEventPage(
            events: selected, trimmedThrough: trimmedThrough, lastSequence: lastSequence,
            finalResponse: finalResponse)
    }
}

/// A task waiting in ``MemoryQueueBackend/waitForEvents(of:after:timeout:)``.
struct MemoryEventWaiter {
    var continuation: CheckedContinuation<Bool, any Error>
    var timer: TimeoutScheduler.Token?
}
