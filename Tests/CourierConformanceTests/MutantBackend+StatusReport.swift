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
}
