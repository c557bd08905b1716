import Foundation

/// Everything ``QueueBackend/statusReport(of:)`` knows about one request without reading its events: where it is,
/// its latest progress and when each step of its life happened, so that a status page or endpoint can show them.
///
/// Times are the store's clock (the server's, for a shared store). Kit cases: G5–G8.
public struct RequestStatusReport: Sendable, Hashable {
    /// Where the request is, exactly as ``QueueBackend/status(of:)`` would say at the same moment.
    public var state: RequestState
    /// The attempt number of the request's latest delivery; `nil` when it was never delivered.
    public var attempt: Int?
    /// The newest progress appended by the latest delivery (see ``RequestEvent/progress(_:)``); `nil` when that
    /// delivery reported none, or on adapters without ``QueueCapabilities/eventStreams``.
    public var progress: RequestProgress?
    /// When the store accepted the request.
    public var submittedAt: Date?
    /// When the latest delivery began.
    public var startedAt: Date?
    /// The latest of: submission, the latest delivery, the latest appended event, the final response.
    public var updatedAt: Date?
    /// When the final response was stored; `nil` until then.
    public var finishedAt: Date?
    /// The request's ``QueueRequest/fingerprint`` as it was published; `nil` when it had none, or for a response
    /// stored without a request. Kit case: G9.
    public var fingerprint: String?

    /// Creates a report.
    public init(
        state: RequestState, attempt: Int? = nil, progress: RequestProgress? = nil, submittedAt: Date? = nil,
        startedAt: Date? = nil, updatedAt: Date? = nil, finishedAt: Date? = nil, fingerprint: String? = nil
    ) {
        self.state = state
        self.attempt = attempt
        self.progress = progress
        self.submittedAt = submittedAt
        self.startedAt = startedAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
        self.fingerprint = fingerprint
    }

    /// The report for an id the store knows nothing about (never published, or its response expired).
    public static let unknown = RequestStatusReport(state: .unknown)
}
