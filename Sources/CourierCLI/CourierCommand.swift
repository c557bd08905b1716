import ArgumentParser
import Courier
import CourierRuntime
import Foundation
import Logging

/// The `courier` command: run workers, submit and wait for requests, inspect them, and measure a queue.
struct CourierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "courier",
        abstract: "A request/response queue: submit work, have a worker answer it, wait for the answer.",
        discussion: """
            Every command reads the same environment. QUEUE_TYPE is memory, sqlite, redis-list, \
            redis-pubsub or redis-streams; REDIS_URL is redis://[[user]:password@]host[:port][/db]. Defaults in brackets:
              QUEUE_TYPE                       the adapter [memory]
              QUEUE_NAME                       the queue's name [courier]
              SQLITE_PATH                      the SQLite file [./courier.sqlite3]
              SQLITE_SYNCHRONOUS               normal or full [normal]
              REDIS_URL                        the Redis server [redis://127.0.0.1:6379/0]
              WORKER_CONCURRENCY               handlers per worker, 1…10,000 [4]
              COURIER_LEASE_SECONDS            lease, 0.1…86,400 s [30]
              COURIER_MAX_ATTEMPTS             deliveries, 1…1,000 [3]
              COURIER_RESPONSE_TTL_SECONDS     response TTL, 1…31,536,000 s [300]
              COURIER_HANDLER_TIMEOUT_SECONDS  per call, 0…604,800 s, 0 = none [600]
              COURIER_EVENTS_KEPT              streamed events per request, 1…100,000 [500]
              COURIER_EVENT_FLUSH_SECONDS      streamed-write batching, 0…60 s [0.02]
              COURIER_MAX_INFLIGHT             per process, 1…100,000 [none]
              COURIER_GLOBAL_INFLIGHT          across Redis workers, 1…100,000 [none]
              COURIER_RATE_LIMIT               starts/s, 0.001…1,000,000 [none]
              COURIER_RATE_BURST               1…1,000,000 [one second's worth]
              COURIER_MAX_RETRY_HINT_SECONDS   longest retry a handler may ask for, 0…86,400 s [300]
              COURIER_BREAKER_FAILURES         worker: failures that open a key's breaker, 1…1,000 [off]
              COURIER_BREAKER_COOL_DOWN_SECONDS  breaker cool-down, 0.001…86,400 s [30]
              COURIER_BREAKER_HEADER           the header that names a request's key [model]
              COURIER_METRICS_PORT             worker: serve /metrics on this port [off]
              COURIER_HTTP_TOKENS              serve: bearer tokens, comma-separated [none]
              COURIER_HTTP_MAX_WAIT_SECONDS    serve: longest wait a client gets, 0…3,600 s [60]
              COURIER_HTTP_HEARTBEAT_SECONDS   serve: event-stream heartbeat, 0.1…3,600 s [15]
              LOG_LEVEL                        trace, debug, info, notice, … [info]
            Exit codes: 0 ok; 1 a request failed, timed out, is unknown, or its output could not be written; \
            2 bad usage or configuration. Errors are one line on standard error.
            """,
        version: "0.1.0",
        subcommands: [
            WorkerCommand.self, SubmitCommand.self, WaitCommand.self, FollowCommand.self, StatusCommand.self,
            CancelCommand.self, ServeCommand.self,
            DemoCommand.self, BenchCommand.self,
        ]
    )

    /// Parses and runs a command, mapping every failure to a one-line message and the documented exit code.
    static func runAndExit(_ arguments: [String]) async -> Never {
        do {
            try bootstrapLogging()
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch let failure as CommandFailure {
            fail(failure.message, code: failure.exitCode)
        } catch let error as CourierError {
            fail(error.message, code: CommandFailure.exitCode(for: error))
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                FileHandle.standardOutput.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(0)
            }
            fail(oneLineMessage(for: error, arguments: arguments), code: code == .failure ? 1 : 2)
        }
    }

    /// The parser's message for `error` on one line, with where to find help.
    private static func oneLineMessage(for error: any Error, arguments: [String]) -> String {
        let message = message(for: error).split(whereSeparator: \.isNewline).map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }.joined(separator: "; ")
        let names = Set(configuration.subcommands.map { $0.configuration.commandName ?? "" })
        let command = arguments.first(where: names.contains).map { "courier \($0)" } ?? "courier"
        return (message.isEmpty ? "invalid arguments" : message) + " (see '\(command) --help')"
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: "; ")
        FileHandle.standardError.write(Data("courier: \(line)\n".utf8))
        Foundation.exit(code)
    }

    /// Logs to standard error at `LOG_LEVEL` (default `info`), as ``QueueRuntime/bootstrapLogging(_:)`` does.
    /// - Throws: ``CourierError`` for a `LOG_LEVEL` that names no level.
    private static func bootstrapLogging() throws {
        try QueueRuntime.bootstrapLogging()
    }
}
