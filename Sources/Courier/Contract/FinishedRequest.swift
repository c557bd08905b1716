import Foundation

/// A request's response with its status report as it stood once answered; see
/// ``QueueBackend/subscribeWithStatusReport(to:timeout:)``.
public struct FinishedRequest: Sendable, Hashable {
    /// The final response.
    public var response: QueueResponse
    /// The status report once answered: a finished state, with the request's attempt, progress and times.
    public var report: RequestStatusReport

    /// Pairs a response with its report.
    public init(response: QueueResponse, report: RequestStatusReport) {
        self.response = response
        self.report = report
    }

    /// Pairs a response with a report read after it; a report that says `unknown` (the response expired between
    /// the two reads) becomes what the response itself says.
    public init(response: QueueResponse, reportRead report: RequestStatusReport) {
        self.response = response
        self.report =
            report.state == .unknown
            ? RequestStatusReport(state: .finished(response.status), finishedAt: response.finishedAt) : report
    }
}

extension QueueBackend {
    /// Subscribes, then reads the status report: two calls. See
    /// ``QueueBackend/subscribeWithStatusReport(to:timeout:)``.
    /// - Throws: As ``QueueBackend/subscribe(to:timeout:)`` and ``QueueBackend/statusReport(of:)``.
    public func subscribeWithStatusReport(
        to correlationID: CorrelationID, timeout: Duration
    ) async throws -> FinishedRequest {
        let response = try await subscribe(to: correlationID, timeout: timeout)
        return FinishedRequest(response: response, reportRead: try await statusReport(of: correlationID))
    }

    /// Publishes, then subscribes with the status report: two calls. See
    /// ``QueueBackend/publishRequestAndWait(_:timeout:)``.
    /// - Throws: As ``QueueBackend/publishRequest(_:)``, then as
    ///   ``QueueBackend/subscribeWithStatusReport(to:timeout:)``.
    public func publishRequestAndWait(_ request: QueueRequest, timeout: Duration) async throws -> FinishedRequest {
        try await publishRequest(request)
        return try await subscribeWithStatusReport(to: request.correlationID, timeout: timeout)
    }
}
