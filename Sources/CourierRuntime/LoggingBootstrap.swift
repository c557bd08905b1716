import Courier
import Logging

extension QueueRuntime {
    /// Bootstraps swift-log for a process that has no logging of its own: every logger writes to standard error
    /// at `LOG_LEVEL` (`info` by default), as the `courier` command does. Call it once, first thing; an application
    /// with its own log handler skips it (``WorkerApplication`` sets `LOG_LEVEL` on the loggers it makes either way).
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for a `LOG_LEVEL` that names no level.
    public static func bootstrapLogging(_ environment: QueueEnvironment = QueueEnvironment()) throws(CourierError) {
        let level = try environment.logLevel()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
