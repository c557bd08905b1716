import Hummingbird
import NIOCore

/// The request context of a gateway served by Hummingbird's `Application`: the basic context plus the client's
/// address, so that ``RateLimitMiddleware`` can tell clients without tokens apart.
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The address of the connected client, when the channel knows it.
    public let remoteAddress: SocketAddress?

    /// Creates the context of a request that arrived on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
