import Courier
import Foundation
import Hummingbird

/// An error answered as `{"error": {"code": "...", "message": "..."}}` with its HTTP status. Messages name what was
/// wrong with the request; they never carry a stack trace, a token or a store's password.
public struct GatewayError: HTTPResponseError, Sendable {
    /// The HTTP status of the answer.
    public let status: HTTPResponse.Status
    /// A short machine-readable code, such as `not_found` or `payload_too_large`.
    public let code: String
    /// What went wrong, for a person.
    public let message: String
    /// Extra headers, such as `Retry-After`.
    public var headers: HTTPFields = [:]

    /// Creates an error answer.
    public init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The answer for an error a backend threw: its code decides the status; anything that is not a
    /// ``CourierError`` is a 500 whose message says nothing about internals.
    public init(_ error: any Error) {
        if let gateway = error as? GatewayError {
            self = gateway
            return
        }
        guard let courier = error as? CourierError else {
            self.init(.internalServerError, code: "internal", "the gateway failed to answer")
            return
        }
        switch courier.code {
        case .notFound: self.init(.notFound, code: "not_found", courier.message)
        case .alreadyFinished: self.init(.conflict, code: "already_finished", courier.message)
        case .duplicateRequest: self.init(.conflict, code: "duplicate", courier.message)
        case .payloadTooLarge: self.init(.contentTooLarge, code: "payload_too_large", courier.message)
        case .invalidCorrelationID: self.init(.badRequest, code: "invalid_id", courier.message)
        case .invalidConfiguration, .decodingFailed: self.init(.badRequest, code: "bad_request", courier.message)
        case .unsupportedOperation: self.init(.notImplemented, code: "not_supported", courier.message)
        case .backendUnavailable, .shutDown: self.init(.serviceUnavailable, code: "unavailable", courier.message)
        default: self.init(.internalServerError, code: "internal", "the queue failed: \(courier.code)")
        }
    }

    /// The JSON answer.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var error = JSONObject()
        error.set("code", code)
        error.set("message", message)
        var object = JSONObject()
        object.set("error", error)
        let body = object.data
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
