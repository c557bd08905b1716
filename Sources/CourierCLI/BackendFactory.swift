import Courier
import CourierRedis
import CourierRuntime

/// The `courier` command's use of ``QueueRuntime`` with the built-in adapters: the same backends and limits a
/// Swift application gets from the library, plus the command's own refusals.
enum BackendFactory {
    /// Builds the backend the environment names, connected and ready.
    /// - Parameter readOnly: Open a store that must already exist, and create or convert nothing (SQLite).
    /// - Throws: `CourierError` for an unknown queue type, bad settings, or an unreachable store; a store that
    ///   cannot be opened at all (a directory, a locked or damaged file) is `invalidConfiguration` (exit 2).
    static func makeBackend(
        _ environment: QueueEnvironment, readOnly: Bool = false
    ) async throws
        -> any QueueBackend
    {
        try await QueueRuntime(environment: environment).makeBackend(readOnly: readOnly)
    }

    /// The process's worker limits from the environment; see ``QueueRuntime/makeLimits()``.
    static func makeLimits(_ environment: QueueEnvironment) async throws -> (WorkerLimits, RedisConcurrencyGate?) {
        try await QueueRuntime(environment: environment).makeLimits()
    }

    /// Checks the limit variables without opening anything; see ``QueueRuntime/checkLimits()``.
    @discardableResult
    static func checkLimits(_ environment: QueueEnvironment) throws -> Int? {
        try QueueRuntime(environment: environment).checkLimits()
    }

    /// Builds the backend for a command that must reach requests held by other processes.
    /// - Throws: A usage failure for `memory`, whose requests live only inside one process.
    static func makeSharedBackend(
        _ environment: QueueEnvironment, for command: String, readOnly: Bool = false
    ) async throws
        -> any QueueBackend
    {
        try requireShared(environment, for: command)
        return try await makeBackend(environment, readOnly: readOnly)
    }

    /// Checks that the queue type reaches other processes.
    /// - Throws: A usage failure for `memory`, whose requests live only inside one process.
    static func requireShared(_ environment: QueueEnvironment, for command: String) throws {
        if !(try QueueRuntime(environment: environment).adapter().reachesOtherProcesses) {
            throw CommandFailure.usage(
                "QUEUE_TYPE=memory keeps requests inside one process, so 'courier \(command)' cannot reach them "
                    + "from here; set QUEUE_TYPE=sqlite (one host) or redis-list/redis-pubsub/redis-streams (many hosts), "
                    + "or run 'courier demo' for an in-process round trip")
        }
    }

    /// Opens the shared backend the environment names, runs `body` with it, and shuts it down afterwards,
    /// whether `body` returned or threw.
    /// - Parameter readOnly: As ``makeBackend(_:readOnly:)``: for commands that only read.
    static func withSharedBackend<Result: Sendable>(
        for command: String, readOnly: Bool = false, _ body: (any QueueBackend) async throws -> Result
    ) async throws -> Result {
        let backend = try await makeSharedBackend(QueueEnvironment(), for: command, readOnly: readOnly)
        do {
            let result = try await body(backend)
            await backend.shutdown()
            return result
        } catch {
            await backend.shutdown()
            throw error
        }
    }
}
