import Foundation

/// How a request ended.
///
/// A small open set of values rather than an enum, so adapters and later versions can add statuses without
/// breaking exhaustive switches. Every adapter stores and returns the raw value exactly.
public struct ResponseStatus: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The stored name of the status.
    public let rawValue: String
    /// Creates a status from its stored name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The handler answered.
    public static let completed = ResponseStatus(rawValue: "completed")
    /// The handler failed for good (after its retries); ``QueueResponse/error`` says why.
    public static let failed = ResponseStatus(rawValue: "failed")
    /// The request was cancelled before it was answered.
    public static let cancelled = ResponseStatus(rawValue: "cancelled")
    /// The request's deadline passed before it was answered.
    public static let timedOut = ResponseStatus(rawValue: "timedOut")
    /// Every allowed attempt was used up (leases expired or deliveries were released); nobody answered.
    public static let deadLettered = ResponseStatus(rawValue: "deadLettered")

    /// Whether the handler produced an answer.
    public var isSuccess: Bool { self == .completed }
    /// The stored name.
    public var description: String { rawValue }
}

/// The answer to a request: a status, payload bytes and, for failures, an error description.
public struct QueueResponse: Sendable, Hashable, Codable {
    /// The id of the request this answers.
    public var correlationID: CorrelationID
    /// How the request ended.
    public var status: ResponseStatus
    /// The answer's body, stored byte-exact (empty for most failures).
    public var payload: Data
    /// A human-readable reason for a status other than ``ResponseStatus/completed``.
    public var error: String?
    /// Small string metadata, returned exactly.
    public var headers: [String: String]
    /// When the request was finished.
    public var finishedAt: Date

    /// Creates a response.
    public init(
        correlationID: CorrelationID, status: ResponseStatus, payload: Data = Data(), error: String? = nil,
        headers: [String: String] = [:], finishedAt: Date = Date()
    ) {
        self.correlationID = correlationID
        self.status = status
        self.payload = payload
        self.error = error
        self.headers = headers
        self.finishedAt = finishedAt
    }

    /// A ``ResponseStatus/completed`` response carrying `payload`.
    public static func completed(
        _ correlationID: CorrelationID, payload: Data, headers: [String: String] = [:]
    ) -> QueueResponse {
        QueueResponse(correlationID: correlationID, status: .completed, payload: payload, headers: headers)
    }

    /// A response with a failure status (by default ``ResponseStatus/failed``) and a reason.
    public static func failure(
        _ correlationID: CorrelationID, status: ResponseStatus = .failed, error: String
    ) -> QueueResponse {
        QueueResponse(correlationID: correlationID, status: status, error: error)
    }

    /// Decodes the payload as JSON.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/decodingFailed`` when it is not `Body`.
    public func decode<Body: Decodable>(_ type: Body.Type) throws -> Body {
        try decodeJSON(type, from: payload, what: "the response to \(correlationID)")
    }
}
