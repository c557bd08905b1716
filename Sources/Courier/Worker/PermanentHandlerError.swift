/// An error a ``Worker`` handler throws when retrying cannot help: the request fails at once with a
/// ``ResponseStatus/failed`` response carrying ``reason``, whatever attempt it was on.
public struct PermanentHandlerError: Error, CustomStringConvertible, Sendable {
    /// Why the request failed, as stored in the response's ``QueueResponse/error``.
    public let reason: String

    /// Creates the error with the reason stored in the failed response.
    public init(_ reason: String) { self.reason = reason }

    /// The reason.
    public var description: String { reason }
}
