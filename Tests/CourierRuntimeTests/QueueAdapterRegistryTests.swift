import Courier
import CourierRuntime
import CourierTestSupport
import Foundation
import ServiceLifecycle
import Testing

/// `QUEUE_TYPE` in the library: a third-party adapter registered by name is selected by the environment exactly
/// like a built-in one, in clients and in a worker application.
@Suite("Adapter registry and worker application")
struct QueueAdapterRegistryTests {
    /// A "third-party" adapter: one memory queue shared by everything in this process, so a worker and a client
    /// built separately from the environment meet on it.
    static func registry(sharing backend: MemoryQueueBackend) throws -> QueueAdapterRegistry {
        var registry = QueueAdapterRegistry.standard
        try registry.register("shared-memory") { context in
            #expect(context.configuration.queueName == "registry")
            return backend
        }
        return registry
    }

    @Test func aRegisteredQueueTypeIsSelectedByTheEnvironment() async throws {
        let shared = try MemoryQueueBackend(configuration: QueueConfiguration(queueName: "registry"))
        let registry = try Self.registry(sharing: shared)
        #expect(
            registry.types.map(\.rawValue) == [
                "memory", "redis-list", "redis-pubsub", "redis-streams", "sqlite", "shared-memory",
            ])
        let environment = QueueEnvironment(values: ["QUEUE_TYPE": " Shared-Memory ", "QUEUE_NAME": "registry"])
        let backend = try await QueueRuntime(environment: environment, registry: registry).makeBackend()
        #expect(backend as? MemoryQueueBackend === shared)

        // An unknown name is refused with every registered name, as the command line does.
        let unknown = QueueRuntime(environment: QueueEnvironment(values: ["QUEUE_TYPE": "kafka"]), registry: registry)
        let error = try #require(throws: CourierError.self) { try unknown.adapter() }
        #expect(error.code == .unknownQueueType)
        #expect(error.message.contains("shared-memory") && error.message.contains("redis-streams"))
        // Without the registration the name is unknown.
        #expect(throws: CourierError.self) {
            try QueueRuntime(environment: environment).adapter()
        }
        await shared.shutdown()
    }

    @Test func namesAreCheckedWhenRegistered() throws {
        var registry = QueueAdapterRegistry.standard
        for bad: QueueType in [
            "", "Upper", "has space", "sql;ite", QueueType(rawValue: String(repeating: "a", count: 65)),
        ] {
            #expect(throws: CourierError.self, "\(bad)") {
                try registry.register(bad) { _ in try MemoryQueueBackend() }
            }
        }
        let duplicate = #expect(throws: CourierError.self) {
            try registry.register("redis-streams") { _ in try MemoryQueueBackend() }
        }
        #expect(duplicate?.message.contains("already registered") == true)
    }

    @Test func aWorkerApplicationRunsOnTheAdapterTheEnvironmentNames() async throws {
        let shared = try MemoryQueueBackend(configuration: QueueConfiguration(queueName: "registry"))
        let environment = QueueEnvironment(values: [
            "QUEUE_TYPE": "shared-memory", "QUEUE_NAME": "registry", "WORKER_CONCURRENCY": "3", "LOG_LEVEL": "warning",
        ])
        let application = try WorkerApplication(environment: environment, registry: try Self.registry(sharing: shared))
        {
            request in Data("answer to \(String(decoding: request.payload, as: UTF8.self))".utf8)
        }
        #expect(application.configuration.concurrency == 3)
        #expect(application.logger.logLevel == .warning)
        #expect(application.metrics == nil)
        let group = ServiceGroup(services: [application.service], logger: application.logger)
        let running = Task { try await group.run() }
        let response = try await shared.send(QueueRequest(payload: Data("q".utf8)), timeout: .seconds(30))
        #expect(response.payload == Data("answer to q".utf8))
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test func aWorkerApplicationRefusesWhatNoWorkerCouldUse() throws {
        func refusal(_ values: [String: String]) -> CourierError? {
            #expect(throws: CourierError.self, "\(values)") {
                _ = try WorkerApplication(environment: QueueEnvironment(values: values)) { $0.payload }
            }
        }
        #expect(refusal(["QUEUE_TYPE": "memory"])?.message.contains("inside one process") == true)
        #expect(refusal(["QUEUE_TYPE": "nope"])?.code == .unknownQueueType)
        #expect(refusal(["QUEUE_TYPE": "sqlite", "LOG_LEVEL": "loud"])?.code == .invalidConfiguration)
        #expect(
            refusal(["QUEUE_TYPE": "sqlite", "COURIER_METRICS_PORT": "70000"])?.message.contains("COURIER_METRICS_PORT")
                == true)
        #expect(refusal(["QUEUE_TYPE": "sqlite", "COURIER_GLOBAL_INFLIGHT": "4"])?.message.contains("redis") == true)
        #expect(refusal(["QUEUE_TYPE": "sqlite", "WORKER_CONCURRENCY": "0"])?.code == .invalidConfiguration)
        #expect(
            refusal(["QUEUE_TYPE": "sqlite", "COURIER_BREAKER_FAILURES": "0"])?.message.contains(
                "COURIER_BREAKER_FAILURES") == true)
        #expect(
            refusal(["QUEUE_TYPE": "sqlite", "COURIER_BREAKER_COOL_DOWN_SECONDS": "5"])?.message.contains(
                "needs COURIER_BREAKER_FAILURES") == true)
        #expect(
            refusal(["QUEUE_TYPE": "sqlite", "COURIER_MAX_RETRY_HINT_SECONDS": "-1"])?.code == .invalidConfiguration)
    }

    @Test func failureSettingsComeFromTheEnvironment() throws {
        let application = try WorkerApplication(
            environment: QueueEnvironment(values: [
                "QUEUE_TYPE": "sqlite", "COURIER_BREAKER_FAILURES": "3", "COURIER_BREAKER_COOL_DOWN_SECONDS": "12",
                "COURIER_BREAKER_HEADER": "x-model", "COURIER_MAX_RETRY_HINT_SECONDS": "90",
            ])
        ) { $0.payload }
        #expect(
            application.configuration.circuitBreaker
                == CircuitBreakerConfiguration(keyHeader: "x-model", failureThreshold: 3, coolDown: .seconds(12)))
        #expect(application.configuration.maximumRetryHint == .seconds(90))
        let plain = try WorkerApplication(environment: QueueEnvironment(values: ["QUEUE_TYPE": "sqlite"])) {
            $0.payload
        }
        #expect(plain.configuration.circuitBreaker == nil)
        #expect(plain.configuration.maximumRetryHint == .seconds(300))
    }
}
