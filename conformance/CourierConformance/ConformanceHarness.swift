import Courier

/// What an adapter author provides to certify an adapter with the conformance kit.
///
/// The kit asks the harness for fresh backends (one per case, each with a unique queue name and the short
/// timings of ``timing``), compares ``declaredCapabilities`` with what the backends report, and runs every case
/// those capabilities and ``availableHooks`` enable. Capabilities have no default: an author decides.
public protocol ConformanceHarness: Sendable {
    /// The capabilities the author claims; must equal every backend's ``QueueBackend/capabilities``.
    var declaredCapabilities: QueueCapabilities { get }

    /// The timing the kit derives every lease, TTL and wait from.
    var timing: ConformanceTiming { get }

    /// The optional hooks this harness implements. Cases needing a missing hook are not run.
    var availableHooks: ConformanceHooks { get }

    /// Returns a new backend for `configuration` (whose queue name is unique to the calling case).
    /// - Throws: Any error; the case then fails.
    func makeBackend(configuration: QueueConfiguration) async throws -> any QueueBackend

    /// Returns a new instance over the same store as earlier backends of `configuration`'s queue
    /// (``ConformanceHooks/reopen``). Durable adapters must see earlier pending requests and responses.
    func reopenBackend(configuration: QueueConfiguration) async throws -> any QueueBackend

    /// Restarts the server behind the backends (``ConformanceHooks/restartServer``) and returns when it is up.
    func restartServer() async throws

    /// Counts what a backend holds for waiters and consumers (continuations, subscriptions, connections), so
    /// the kit can check that timeouts and cancellations release it (``ConformanceHooks/resourceProbe``).
    func openResources(of backend: any QueueBackend) async throws -> Int
}

extension ConformanceHarness {
    /// No hooks unless the harness says otherwise.
    public var availableHooks: ConformanceHooks { [] }

    /// Opens a new backend with ``makeBackend(configuration:)``; enough for adapters whose instances share a store.
    public func reopenBackend(configuration: QueueConfiguration) async throws -> any QueueBackend {
        try await makeBackend(configuration: configuration)
    }

    /// Fails: the harness has no restart hook.
    public func restartServer() async throws {
        throw ConformanceFailure(rule: "harness", "restartServer() is not implemented by this harness")
    }

    /// Fails: the harness has no resource probe.
    public func openResources(of backend: any QueueBackend) async throws -> Int {
        throw ConformanceFailure(rule: "harness", "openResources(of:) is not implemented by this harness")
    }
}

/// Optional harness hooks, each of which enables more cases.
public struct ConformanceHooks: OptionSet, Sendable, Hashable {
    /// The raw bits.
    public let rawValue: UInt8
    /// Creates hooks from raw bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// ``ConformanceHarness/reopenBackend(configuration:)`` opens a new instance over the same store.
    public static let reopen = ConformanceHooks(rawValue: 1 << 0)
    /// ``ConformanceHarness/restartServer()`` restarts the server.
    public static let restartServer = ConformanceHooks(rawValue: 1 << 1)
    /// ``ConformanceHarness/openResources(of:)`` counts held resources.
    public static let resourceProbe = ConformanceHooks(rawValue: 1 << 2)
}

/// The timing an adapter is tested with. Every wait in the kit is derived from these values.
public struct ConformanceTiming: Sendable, Hashable {
    /// The lease duration given to backends. Short, so expiry cases take moments.
    public var lease: Duration
    /// The response TTL given to backends.
    public var responseTTL: Duration
    /// How late a push wake-up (or a poll) may be.
    public var wakeBound: Duration
    /// A multiplier on every bound, for slow or loaded machines. `COURIER_CONFORMANCE_SCALE` overrides it.
    public var scale: Double

    /// Creates a timing.
    public init(lease: Duration, responseTTL: Duration, wakeBound: Duration, scale: Double = 1) {
        self.lease = lease
        self.responseTTL = responseTTL
        self.wakeBound = wakeBound
        self.scale = scale
    }

    /// Timing for in-process adapters such as ``MemoryQueueBackend``.
    public static let inProcess = ConformanceTiming(
        lease: .seconds(1), responseTTL: .seconds(1), wakeBound: .milliseconds(100), scale: 2)

    /// How much later than the contract promises a call may return on a loaded machine (a descheduled thread, a
    /// busy disk). Fixed rather than scaled, so that raising ``scale`` for a slow machine does not let an adapter
    /// that waits seconds too long pass.
    public var machineAllowance: Duration { .milliseconds(1500) }

    /// `bound` multiplied by ``scale``.
    public func scaled(_ bound: Duration) -> Duration { bound * scale }
}
