import Courier
import Logging

/// The queue types a process can select with `QUEUE_TYPE`, each with the factory that builds its backend.
///
/// A value the application builds, like a router: start from ``standard`` (the built-in adapters) and
/// ``register(_:reachesOtherProcesses:factory:)`` your own, then hand the registry to ``QueueRuntime`` or
/// ``WorkerApplication``. `QUEUE_TYPE=<your name>` then selects your adapter in workers and clients exactly as it
/// selects a built-in one, with the same validation and messages.
///
/// ```swift
/// var registry = QueueAdapterRegistry.standard
/// try registry.register("nats") { context in
///     try await NATSQueueBackend(url: context.environment.values["NATS_URL"] ?? "nats://127.0.0.1",
///                                configuration: context.configuration)
/// }
/// let backend = try await QueueRuntime(registry: registry).makeBackend()
/// ```
public struct QueueAdapterRegistry: Sendable {
    /// What a factory gets: the environment it was selected from, the queue settings read from it (`QUEUE_NAME`,
    /// leases, attempts, TTLs, limits: already validated), and whether the caller only reads.
    public struct Context: Sendable {
        /// The variables the adapter reads its own settings from (its URL, say).
        public let environment: QueueEnvironment
        /// The queue configuration every adapter gets.
        public let configuration: QueueConfiguration
        /// True for commands that only read (status, follow): open a store that must already exist.
        public let readOnly: Bool
        /// A logger for the adapter.
        public let logger: Logger
    }

    /// Builds a connected backend, or throws a ``CourierError`` (`invalidConfiguration` for bad settings,
    /// `backendUnavailable` for a store that cannot be reached).
    public typealias Factory = @Sendable (Context) async throws -> any QueueBackend

    /// One registered queue type.
    public struct Adapter: Sendable {
        /// The `QUEUE_TYPE` name.
        public let type: QueueType
        /// Whether requests reach other processes (false only for in-process queues such as `memory`, which
        /// commands like `courier status` then refuse).
        public let reachesOtherProcesses: Bool
        let factory: Factory
    }

    private var adapters: [Adapter] = []

    /// An empty registry; ``standard`` has the built-in adapters.
    public init() {}

    /// The registered queue types, in registration order.
    public var types: [QueueType] { adapters.map(\.type) }

    /// Adds a queue type.
    /// - Parameters:
    ///   - type: The `QUEUE_TYPE` name: 1 to 64 lowercase letters, digits and `-`.
    ///   - reachesOtherProcesses: Whether requests published in one process reach workers in another.
    ///   - factory: Builds the backend from the environment.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for a malformed or already registered name.
    public mutating func register(
        _ type: QueueType, reachesOtherProcesses: Bool = true, factory: @escaping Factory
    ) throws(CourierError) {
        let name = type.rawValue
        guard (1...64).contains(name.utf8.count),
            name.utf8.allSatisfy({ (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d })
        else {
            throw CourierError(
                .invalidConfiguration, "a queue type name is 1 to 64 lowercase letters, digits and '-', not '\(name)'")
        }
        guard !types.contains(type) else {
            throw CourierError(.invalidConfiguration, "the queue type '\(name)' is already registered")
        }
        adapters.append(Adapter(type: type, reachesOtherProcesses: reachesOtherProcesses, factory: factory))
    }

    /// The adapter `QUEUE_TYPE` names (`memory` when unset).
    /// - Throws: ``CourierError`` with code `unknownQueueType` naming every registered type.
    public func adapter(for environment: QueueEnvironment) throws(CourierError) -> Adapter {
        let type = try environment.queueType(among: types)
        guard let adapter = adapters.first(where: { $0.type == type }) else {
            throw CourierError(.unsupportedQueueType, "QUEUE_TYPE=\(type) has no adapter in this registry")
        }
        return adapter
    }

    /// Builds the backend `QUEUE_TYPE` names, connected and ready.
    /// - Throws: ``CourierError``: `unknownQueueType`, `invalidConfiguration` for bad settings,
    ///   `backendUnavailable` for a store that cannot be reached, or what the adapter's factory throws.
    public func makeBackend(
        _ environment: QueueEnvironment, readOnly: Bool = false, logger: Logger = Logger(label: "courier.queue")
    ) async throws -> any QueueBackend {
        let adapter = try adapter(for: environment)
        let configuration = try environment.queueConfiguration()
        return try await adapter.factory(
            Context(environment: environment, configuration: configuration, readOnly: readOnly, logger: logger))
    }
}
