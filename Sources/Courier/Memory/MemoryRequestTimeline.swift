import Foundation

/// When each step of one request's life happened in a ``MemoryQueueBackend``, and its latest progress: what
/// ``MemoryQueueBackend/statusReport(of:)`` reports beside the state. Kept with the request, then with its
/// response until the response expires.
struct MemoryRequestTimeline {
    var submittedAt: Date
    var startedAt: Date?
    var startedAttempt: Int?
    var updatedAt: Date
    var finishedAt: Date?
    /// The newest progress, and the attempt that appended it (a later delivery does not inherit it).
    var progress: (value: RequestProgress, attempt: Int)?

    init(submittedAt: Date) {
        self.submittedAt = submittedAt
        self.updatedAt = submittedAt
    }

    mutating func started(attempt: Int, at time: Date) {
        startedAt = time
        startedAttempt = attempt
        updatedAt = time
    }

    mutating func appended(_ events: [RequestEvent], attempt: Int, at time: Date) {
        updatedAt = time
        for case .progress(let value) in events.reversed() {
            progress = (value, attempt)
            break
        }
    }

    mutating func finished(at time: Date) {
        finishedAt = time
        updatedAt = time
    }

    func report(_ state: RequestState) -> RequestStatusReport {
        RequestStatusReport(
            state: state, attempt: startedAttempt,
            progress: progress.flatMap { $0.attempt == startedAttempt ? $0.value : nil }, submittedAt: submittedAt,
            startedAt: startedAt, updatedAt: updatedAt, finishedAt: finishedAt)
    }
}
