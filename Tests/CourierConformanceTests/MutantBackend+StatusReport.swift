import Courier

extension MutantBackend {
    /// The protocol's default (subscribe, then read the report), except for ``Mutation/reportsTheWaitsStartOnWake``,
    /// an override as an adapter whose wake-up carries the report might write it, with a stale report.
    func subscribeWithStatusReport(to correlationID: CorrelationID, timeout: Duration) async throws -> FinishedRequest {
        guard mutation == .reportsTheWaitsStartOnWake else {
            let response = try await subscribe(to: correlationID, timeout: timeout)
            return FinishedRequest(response: response, reportRead: try await statusReport(of: correlationID))
        }
        let atStart = try await statusReport(of: correlationID)
        return FinishedRequest(response: try await subscribe(to: correlationID, timeout: timeout), report: atStart)
    }

    /// The protocol's default (publish, then wait), except for ``Mutation/cancelsWhatItGaveUpWaitingOn``, an override
    /// that tidies up after a wait that ran out by cancelling its request.
    func publishRequestAndWait(_ request: QueueRequest, timeout: Duration) async throws -> FinishedRequest {
        try await publishRequest(request)
        do {
            return try await subscribeWithStatusReport(to: request.correlationID, timeout: timeout)
        } catch let error as CourierError where error.code == .timedOut && mutation == .cancelsWhatItGaveUpWaitingOn {
            _ = try? await cancel(request.correlationID)
            throw error
        }
    }
}
