import Courier
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Admits at most `rate` requests a second from each client (with bursts of up to `burst`), and answers the
/// others 429 with `Retry-After`, in whole seconds, and nothing done.
///
/// A client is its bearer token when the middleware runs behind ``BearerTokenMiddleware`` (`byToken`, so only
/// valid tokens get buckets), else its remote address when the request context knows it
/// (``RemoteAddressRequestContext``), else one shared bucket. A client cannot get a fresh bucket by sending a
/// made-up token. At most ``maximumClients`` buckets are kept; past that they are all forgotten, which only ever
/// admits more.
public struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Requests a second per client.
    public let rate: Double
    /// The most requests a client may make at once.
    public let burst: Double
    /// How many clients' buckets are kept at once.
    public static var maximumClients: Int { 10_000 }

    private let buckets = ClientBuckets()
    private let byToken: Bool

    /// Creates the middleware; `burst` defaults to one second's worth of requests. Pass `byToken` only when the
    /// middleware runs after a check of the bearer token.
    public init(rate: Double, burst: Double? = nil, byToken: Bool = false) {
        self.rate = rate
        self.burst = burst ?? max(1, rate)
        self.byToken = byToken
    }

    /// Takes a token of the client's bucket, then passes the request on.
    /// - Throws: ``GatewayError`` (429, with `Retry-After`) when the bucket is empty; what `next` throws.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let client = client(request, context)
        let bucket = buckets.byClient.withLock { buckets in
            if let bucket = buckets[client] { return bucket }
            if buckets.count >= Self.maximumClients { buckets.removeAll(keepingCapacity: true) }
            let bucket = TokenBucket(rate: rate, burst: burst)
            buckets[client] = bucket
            return bucket
        }
        if let wait = bucket.tryAcquire() {
            let seconds = max(1, Int(wait.inSeconds.rounded(.up)))
            var error = GatewayError(
                .tooManyRequests, code: "rate_limited",
                "more than \(Self.format(rate)) requests a second from this client; retry after \(seconds) s")
            error.headers[.retryAfter] = String(seconds)
            throw error
        }
        return try await next(request, context)
    }

    private func client(_ request: Request, _ context: Context) -> String {
        if byToken, let authorization = request.headers[.authorization] { return "token " + authorization }
        if let address = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress {
            return "address " + address
        }
        return "anyone"
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// The buckets of a ``RateLimitMiddleware``, shared by its copies.
private final class ClientBuckets: Sendable {
    let byClient = Mutex<[String: TokenBucket]>([:])
}
