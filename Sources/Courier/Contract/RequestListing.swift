/// How many of a queue's requests are in each state, as ``QueueBackend/requestCounts()`` reports them.
///
/// Kit case: L1.
public struct RequestCounts: Sendable, Hashable {
    /// Requests waiting for a consumer, including those waiting out a retry delay.
    public var pending: Int
    /// Requests leased to a consumer.
    public var running: Int
    /// Stored responses that have not expired, by status. A status with none is absent.
    public var finished: [ResponseStatus: Int]

    /// Creates counts.
    public init(pending: Int = 0, running: Int = 0, finished: [ResponseStatus: Int] = [:]) {
        self.pending = pending
        self.running = running
        self.finished = finished
    }

    /// The stored responses of every status.
    public var finishedTotal: Int { finished.values.reduce(0, +) }
}

/// One entry of ``QueueBackend/recentRequests(limit:matching:)``: a request and its status report.
public struct RequestSummary: Sendable, Hashable {
    /// The request's id.
    public var correlationID: CorrelationID
    /// Its report, as ``QueueBackend/statusReport(of:)`` gives it.
    public var report: RequestStatusReport

    /// Creates a summary.
    public init(correlationID: CorrelationID, report: RequestStatusReport) {
        self.correlationID = correlationID
        self.report = report
    }

    /// The most entries one listing returns, and the fewest recent requests an adapter keeps listable.
    public static let listingLimit = 1_000
}

/// Which requests ``QueueBackend/recentRequests(limit:matching:)`` lists.
public enum RequestStateFilter: Sendable, Hashable {
    /// Every known request.
    case any
    /// Requests waiting for a consumer (``RequestState/pending(attempt:)``).
    case pending
    /// Requests leased to a consumer (``RequestState/running(attempt:)``).
    case running
    /// Requests with a stored response; with a status, only those with that status.
    case finished(ResponseStatus?)

    /// Whether `state` passes the filter. ``RequestState/unknown`` never does.
    public func matches(_ state: RequestState) -> Bool {
        switch (self, state) {
        case (_, .unknown): false
        case (.any, _): true
        case (.pending, .pending), (.running, .running): true
        case (.finished(let wanted), .finished(let status)): wanted == nil || wanted == status
        default: false
        }
    }
}
