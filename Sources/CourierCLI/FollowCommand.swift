import ArgumentParser
import Courier
import Foundation

/// `courier follow ID [--after N] [--timeout SECONDS]`.
struct FollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follow",
        abstract: "Print a request's streamed output as it arrives, then end by its final status.",
        discussion: """
            Chunks are written to standard output byte for byte as they arrive; progress, attempt boundaries, \
            trimmed events and custom events are written to standard error, one line each, prefixed with their \
            sequence number (give one to --after to resume after it). When the handler streamed no chunks at all, \
            the response payload is written instead (when following from the start). Exits 0 for a completed request and 1 for any other final \
            status, an unknown id or the timeout. Needs a queue type that streams events (memory, sqlite). \
            Opens the queue read-only. \(environmentNote)
            """)

    @Argument(help: "The correlation id.")
    var id: String

    @Option(help: "Resume after this event sequence number (default: from the start).")
    var after: UInt64 = 0

    @Option(help: "Seconds to follow before giving up (0.001…31,536,000).")
    var timeout: Double = 300

    func run() async throws {
        let correlationID = try CorrelationID(id)
        let limit = try SettingValue.seconds(timeout, name: "--timeout", in: waitRange)
        try await BackendFactory.withSharedBackend(for: "follow", readOnly: true) { backend in
            try await EventPrinter.follow(correlationID, after: after, on: backend, timeout: limit)
        }
    }
}

/// Writes a request's events as `follow` and `submit --stream` show them.
enum EventPrinter {
    /// Follows `id` to its final response within `timeout`.
    /// - Throws: ``CommandFailure`` (exit 1) for a final status other than completed, an unknown id or the
    ///   timeout; ``CourierError`` for a queue that cannot stream.
    static func follow(
        _ id: CorrelationID, after sequence: UInt64, on backend: any QueueBackend, timeout: Duration
    ) async throws {
        let outcome = try await withThrowingTaskGroup(of: QueueResponse?.self) { group in
            group.addTask {
                try await print(backend.events(for: id, after: sequence), of: id, fromTheStart: sequence == 0)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let response = outcome else {
            throw CommandFailure.requestFailed("request \(id) did not finish within \(timeout.inSeconds) s")
        }
        guard response.status == .completed else {
            throw CommandFailure.requestFailed(
                "request \(id) \(response.status): \(response.error ?? "no reason given")")
        }
    }

    /// Prints every element; returns the final response.
    private static func print(
        _ events: RequestEventSequence, of id: CorrelationID, fromTheStart: Bool
    ) async throws -> QueueResponse? {
        var wroteChunks = false
        do {
            for try await element in events {
                switch element {
                case .event(let record):
                    switch record.event {
                    case .chunk(let bytes):
                        wroteChunks = true
                        try StandardOutput.write(bytes, context: "a chunk arrived")
                    case .progress(let progress):
                        writeToStandardError("courier: [\(record.sequence)] progress \(describe(progress))")
                    case .attemptStarted(let attempt):
                        writeToStandardError("courier: [\(record.sequence)] attempt \(attempt) started")
                    case .custom(let name, let data):
                        writeToStandardError("courier: [\(record.sequence)] event \(name) (\(data.count) bytes)")
                    }
                case .gap(let after, let through):
                    writeToStandardError("courier: events \(after + 1)…\(through) were trimmed before they were read")
                case .final(let response):
                    if fromTheStart && !wroteChunks && response.status == .completed {
                        try StandardOutput.write(response.payload, context: "the response arrived")
                    }
                    return response
                }
            }
        } catch let error as CourierError where error.code == .notFound {
            throw CommandFailure.requestFailed(
                "no request \(id) in this queue: it was never published, or its response expired")
        }
        return nil
    }

    /// `40% validating (counter 2)`.
    static func describe(_ progress: RequestProgress) -> String {
        var parts: [String] = []
        if let fraction = progress.fraction { parts.append("\(Int((fraction * 100).rounded()))%") }
        if let message = progress.message, !message.isEmpty { parts.append(message) }
        if let counter = progress.counter { parts.append("(counter \(counter))") }
        return parts.isEmpty ? "(empty)" : parts.joined(separator: " ")
    }
}
