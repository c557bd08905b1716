/// What an adapter promises beyond the mandatory contract.
///
/// An adapter reports its capabilities through ``QueueBackend/capabilities``; the conformance kit checks
/// that they match what the adapter's harness declares and runs the cases each capability enables.
public struct QueueCapabilities: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The raw bits.
    public let rawValue: UInt8
    /// Creates capabilities from raw bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A single consumer receives first attempts in publish order.
    public static let fifo = QueueCapabilities(rawValue: 1 << 0)
    /// A new backend instance over the same store sees pending requests, leases and stored responses.
    public static let durable = QueueCapabilities(rawValue: 1 << 1)
    /// Several instances, in one process or many, share one queue and one response space.
    public static let shared = QueueCapabilities(rawValue: 1 << 2)
    /// Consumers and waiters are woken by a push, not by polling the store.
    public static let pushWakeups = QueueCapabilities(rawValue: 1 << 3)
    /// The holder of a delivery can append events (chunks, progress) that readers follow while the request runs:
    /// ``QueueBackend/appendEvents(_:holding:)``, ``QueueBackend/readEvents(of:after:limit:)`` and
    /// ``QueueBackend/waitForEvents(of:after:timeout:)`` are implemented.
    public static let eventStreams = QueueCapabilities(rawValue: 1 << 4)
    /// The queue can count its requests by state and list its recent requests, for dashboards:
    /// ``QueueBackend/requestCounts()`` and ``QueueBackend/recentRequests(limit:matching:)`` are implemented.
    public static let requestListing = QueueCapabilities(rawValue: 1 << 5)

    private static let names: [(QueueCapabilities, String)] = [
        (.fifo, "fifo"), (.durable, "durable"), (.shared, "shared"), (.pushWakeups, "pushWakeups"),
        (.eventStreams, "eventStreams"), (.requestListing, "requestListing"),
    ]

    /// The capability names, for example `[fifo, pushWakeups]`.
    public var description: String {
        "[" + Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") + "]"
    }
}
