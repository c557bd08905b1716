import Hummingbird

/// Answers 405 with an `Allow` header, instead of 404, for a method a known route does not serve (a `PUT` to
/// `/v1/tasks/submit`, say). Added after the routes, it sees only requests no route took.
public struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Path patterns (`*` matches one segment) and the methods each one serves.
    private let routes: [(segments: [Substring], methods: [HTTPRequest.Method])]

    /// Creates the middleware for `routes`: path patterns such as `/v1/tasks/*/status` and their methods.
    public init(routes: [String: [HTTPRequest.Method]]) {
        self.routes = routes.map { (path, methods) in (path.split(separator: "/"), methods) }
    }

    /// Passes the request on; a 404 for a known path with another method becomes a 405.
    /// - Throws: ``GatewayError`` (405), or what `next` throws.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/")
            guard
                let route = routes.first(where: { route in
                    route.segments.count == segments.count
                        && zip(route.segments, segments).allSatisfy { $0 == "*" || $0 == $1 }
                }), !route.methods.contains(request.method)
            else { throw error }
            let allowed = route.methods.map(\.rawValue).joined(separator: ", ")
            var refusal = GatewayError(
                .methodNotAllowed, code: "method_not_allowed",
                "\(request.method.rawValue) is not served here; use \(allowed)")
            refusal.headers[.allow] = allowed
            throw refusal
        }
    }
}
