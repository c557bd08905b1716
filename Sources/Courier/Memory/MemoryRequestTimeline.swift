import Foundation

/// When each step of one request's life happened in a ``MemoryQueueBackend``: what
/// ``MemoryQueueBackend/statusReport(of:)`` reports beside the state and the progress (which its event log keeps).
/// Kept with the request, then with its response until the response expires; small, so a request that never
/// asks for a report costs its record little.
struct MemoryRequestTimeline {
    /// Seconds since the reference date; 0 for a step that did not happen.
    private var submitted: Double
    private var started: Double = 0
    private var finished: Double = 0
    /// The attempt of the latest delivery; 0 when never delivered.
    private(set) var startedAttempt = 0
    /// The request's ``QueueRequest/fingerprint``.
    let fingerprint: String?

    init(submittedAt: Date, fingerprint: String?) {
        submitted = submittedAt.timeIntervalSinceReferenceDate
        self.fingerprint = fingerprint
    }

    mutating func started(attempt: Int, at time: Date) {
        started = time.timeIntervalSinceReferenceDate
        startedAttempt = attempt
    }

    mutating func finished(at time: Date) { finished = time.timeIntervalSinceReferenceDate }

    func report(_ state: RequestState, events: MemoryEventLog?) -> RequestStatusReport {
        func date(_ seconds: Double) -> Date? { seconds == 0 ? nil : Date(timeIntervalSinceReferenceDate: seconds) }
        let updated = max(submitted, started, finished, events?.updatedAt ?? 0)
        let progress = events?.progress.flatMap { $0.attempt == startedAttempt ? $0.value : nil }
        return RequestStatusReport(
            state: state, attempt: startedAttempt == 0 ? nil : startedAttempt, progress: progress,
            submittedAt: date(submitted), startedAt: date(started), updatedAt: date(updated),
            finishedAt: date(finished), fingerprint: fingerprint)
    }
}
