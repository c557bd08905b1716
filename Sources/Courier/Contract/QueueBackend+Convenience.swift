import Foundation

extension QueueBackend {
    /// Stores a response without fencing. See ``QueueBackend/publishResponse(_:settling:)``.
    /// - Throws: As ``QueueBackend/publishResponse(_:settling:)``.
    @discardableResult
    public func publishResponse(_ response: QueueResponse) async throws -> PublishResponseResult {
        try await publishResponse(response, settling: nil)
    }

    /// Publishes a payload under a fresh (or given) id and returns the id.
    /// - Throws: As ``QueueBackend/publishRequest(_:)``.
    @discardableResult
    public func publishRequest(
        payload: Data, headers: [String: String] = [:], correlationID: CorrelationID = .generate()
    ) async throws -> CorrelationID {
        try await publishRequest(QueueRequest(correlationID: correlationID, payload: payload, headers: headers))
        return correlationID
    }

    /// Waits for the response to an id; the same as ``QueueBackend/subscribe(to:timeout:)``.
    /// - Throws: As ``QueueBackend/subscribe(to:timeout:)``.
    public func response(
        for correlationID: CorrelationID, timeout: Duration = .seconds(300)
    ) async throws
        -> QueueResponse
    {
        try await subscribe(to: correlationID, timeout: timeout)
    }

    /// Publishes a request and waits for its response.
    /// - Throws: As ``QueueBackend/publishRequest(_:)`` and ``QueueBackend/subscribe(to:timeout:)``.
    public func send(_ request: QueueRequest, timeout: Duration = .seconds(300)) async throws -> QueueResponse {
        try await publishRequest(request)
        return try await subscribe(to: request.correlationID, timeout: timeout)
    }

    /// Answers a delivery with a completed response, fenced by its lease.
    /// - Throws: As ``QueueBackend/publishResponse(_:settling:)``.
    @discardableResult
    public func complete(
        _ delivery: Delivery, payload: Data, headers: [String: String] = [:]
    ) async throws
        -> PublishResponseResult
    {
        try await publishResponse(
            .completed(delivery.request.correlationID, payload: payload, headers: headers), settling: delivery.lease)
    }
}
