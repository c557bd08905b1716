import Foundation

/// A unit of work: bytes to hand to a worker, identified by a correlation id.
///
/// The payload is opaque bytes (JSON in the common case, see ``ChatRequest``); every adapter stores it
/// byte-exact. Headers carry small string metadata such as the model, the stage or trace context.
public struct QueueRequest: Sendable, Hashable, Codable {
    /// The id the response will carry.
    public var correlationID: CorrelationID
    /// The request body, stored byte-exact.
    public var payload: Data
    /// Small string metadata (model, stage, trace context). Keys and values round-trip exactly.
    public var headers: [String: String]
    /// When the request was created.
    public var createdAt: Date
    /// When the request stops being worth doing. A request still pending at its deadline is never delivered;
    /// a ``ResponseStatus/timedOut`` response is stored instead.
    public var deadline: Date?
    /// A short digest of what the request asks (for example `sha256:` and the hex digest of its body), kept by the
    /// store with the request and then with its response until that expires, and reported by
    /// ``QueueBackend/statusReport(of:)`` (``RequestStatusReport/fingerprint``). A client that retries a submit
    /// under the same id compares it to tell a repeat from a different request. 1 to 128 UTF-8 bytes.
    public var fingerprint: String?

    /// The most UTF-8 bytes a ``fingerprint`` may hold.
    public static let maximumFingerprintBytes = 128

    /// Creates a request.
    /// - Parameters:
    ///   - correlationID: The id; a fresh random one by default.
    ///   - payload: The body.
    ///   - headers: Small string metadata.
    ///   - createdAt: Creation time; now by default.
    ///   - deadline: Optional time after which the request must not start.
    ///   - fingerprint: Optional short digest of the request (see ``fingerprint``).
    public init(
        correlationID: CorrelationID = .generate(), payload: Data, headers: [String: String] = [:],
        createdAt: Date = Date(), deadline: Date? = nil, fingerprint: String? = nil
    ) {
        self.correlationID = correlationID
        self.payload = payload
        self.headers = headers
        self.createdAt = createdAt
        self.deadline = deadline
        self.fingerprint = fingerprint
    }

    /// Checks what a store checks before it accepts the request, beyond the payload size.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` for an empty ``fingerprint``
    ///   or one over ``maximumFingerprintBytes``.
    public func checkFingerprint() throws(CourierError) {
        if let fingerprint, fingerprint.isEmpty || fingerprint.utf8.count > Self.maximumFingerprintBytes {
            throw CourierError(
                .invalidConfiguration,
                "a request's fingerprint is 1 to \(Self.maximumFingerprintBytes) bytes, not \(fingerprint.utf8.count)")
        }
    }

    /// Creates a request whose payload is `body` encoded as JSON.
    /// - Throws: `EncodingError` when `body` cannot be encoded.
    public init<Body: Encodable>(
        correlationID: CorrelationID = .generate(), json body: Body, headers: [String: String] = [:],
        deadline: Date? = nil
    ) throws {
        self.init(
            correlationID: correlationID, payload: try JSONEncoder().encode(body), headers: headers,
            deadline: deadline)
    }

    /// Decodes the payload as JSON.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/decodingFailed`` when it is not `Body`.
    public func decode<Body: Decodable>(_ type: Body.Type) throws -> Body {
        try decodeJSON(type, from: payload, what: "request \(correlationID)")
    }
}

/// Decodes JSON, turning any decoding failure into ``CourierError/Code/decodingFailed``.
func decodeJSON<Body: Decodable>(_ type: Body.Type, from data: Data, what: String) throws -> Body {
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch {
        throw CourierError(.decodingFailed, "the payload of \(what) is not a valid \(Body.self): \(error)")
    }
}
