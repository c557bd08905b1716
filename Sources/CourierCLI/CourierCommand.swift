import ArgumentParser
import Courier
import Foundation
import Logging

/// The `courier` command: run workers, submit and wait for requests, inspect them, and measure a queue.
@main
struct CourierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "courier",
        abstract: "A request/response queue: submit work, have a worker answer it, wait for the answer.",
        discussion: """
            Every command reads the same environment: QUEUE_TYPE (memory, redis-list, redis-pubsub, sqlite; \
            default memory), QUEUE_NAME, REDIS_URL, SQLITE_PATH, WORKER_CONCURRENCY, COURIER_LEASE_SECONDS, \
            COURIER_MAX_ATTEMPTS, COURIER_RESPONSE_TTL_SECONDS, COURIER_MAX_INFLIGHT, COURIER_GLOBAL_INFLIGHT, \
            COURIER_RATE_LIMIT, COURIER_RATE_BURST, LOG_LEVEL.
            Exit codes: 0 ok, 1 a request failed or timed out, 2 bad usage or configuration.
            """,
        version: "0.1.0",
        subcommands: [
            WorkerCommand.self, SubmitCommand.self, WaitCommand.self, StatusCommand.self, CancelCommand.self,
            DemoCommand.self, BenchCommand.self,
        ]
    )

    /// Parses and runs a command, mapping every failure to a one-line message and the documented exit code.
    static func main() async {
        bootstrapLogging()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            fail(failure.message, code: failure.exitCode)
        } catch let error as CourierError {
            fail(error.message, code: CommandFailure.exitCode(for: error))
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            fail(fullMessage(for: error), code: code == .failure ? 1 : 2)
        }
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("courier: \(message)\n".utf8))
        Foundation.exit(code)
    }

    /// Logs to standard error at `LOG_LEVEL` (default `info`).
    private static func bootstrapLogging() {
        let text = ProcessInfo.processInfo.environment["LOG_LEVEL"]?.lowercased() ?? "info"
        let level = Logger.Level(rawValue: text) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
