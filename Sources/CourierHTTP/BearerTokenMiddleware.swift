import Foundation
import Hummingbird

/// Lets a request through only with `Authorization: Bearer <token>` for one of the configured tokens, compared in
/// constant time; otherwise answers 401 with a `WWW-Authenticate` challenge. With no tokens it lets everything
/// through (``CourierGateway`` warns when that happens off loopback).
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    private let tokens: [[UInt8]]

    /// Creates the middleware for `tokens`.
    public init(tokens: [String]) {
        self.tokens = tokens.map { Array($0.utf8) }
    }

    /// Checks the request's bearer token, then passes it on.
    /// - Throws: ``GatewayError`` (401) without a valid token; what `next` throws.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard !tokens.isEmpty else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let presented = header.hasPrefix(prefix) ? Array(header.utf8.dropFirst(prefix.utf8.count)) : []
        // Every token is compared, whatever matched, so the time taken says nothing about any of them.
        var matched = false
        for token in tokens where Self.constantTimeEqual(token, presented) { matched = true }
        guard matched else {
            var error = GatewayError(.unauthorized, code: "unauthorized", "a valid bearer token is required")
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        return try await next(request, context)
    }

    /// Whether `a` and `b` are equal, in time that depends only on their lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
