/// Where a request is in its life, as ``QueueBackend/status(of:)`` reports it.
public enum RequestState: Sendable, Hashable, CustomStringConvertible {
    /// Nothing is known under this id (never published, or its response expired).
    case unknown
    /// Waiting for a consumer; `attempt` is the attempt number its next delivery will carry.
    case pending(attempt: Int)
    /// Leased to a consumer, on delivery `attempt`.
    case running(attempt: Int)
    /// A response is stored with this status.
    case finished(ResponseStatus)

    /// A short lowercase form, such as `running (attempt 2)` or `completed`.
    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .pending(let attempt): attempt == 1 ? "pending" : "pending (attempt \(attempt))"
        case .running(let attempt): "running (attempt \(attempt))"
        case .finished(let status): status.rawValue
        }
    }
}

/// What ``QueueBackend/publishResponse(_:settling:)`` did with a response.
public enum PublishResponseResult: Sendable, Hashable {
    /// The response was stored, the delivery settled and every waiter woken.
    case stored
    /// A response was already stored for this id (first response wins); the new one was ignored.
    case alreadyAnswered(existing: QueueResponse)
}

/// What ``QueueBackend/cancel(_:)`` did.
public enum CancelResult: Sendable, Hashable {
    /// The request was waiting; it was removed and will never be delivered.
    case removedPending
    /// The request was being worked on; its holder learns of the cancellation at its next lease operation.
    case cancelledRunning
}
