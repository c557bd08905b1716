import ArgumentParser
import Courier
import Foundation

/// `courier submit [--id ID] [--wait] [--timeout SECONDS] [PAYLOAD]`.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Publish a request; print its correlation id, or with --wait its response payload.",
        discussion: """
            The payload is the argument, or standard input when the argument is omitted. With --wait the id is \
            written to standard error as soon as the request is published, and the response payload to standard \
            output byte for byte (add --newline for a terminal). \(environmentNote)
            """
    )

    @Option(help: "The correlation id (default: a new random id). Resubmitting a known id fails.")
    var id: String?

    @Flag(help: "Wait for the response and print its payload.")
    var wait = false

    @Flag(
        help: """
            Print streamed chunks to standard output as they arrive and progress to standard error, then exit by \
            the final status (as 'courier follow').
            """)
    var stream = false

    @Option(help: "Seconds to wait with --wait or --stream (0.001…31,536,000).")
    var timeout: Double = 300

    @Flag(help: "With --wait, end the output with a newline when the payload does not (for terminals).")
    var newline = false

    @Option(name: .customLong("header"), help: "A request header as KEY=VALUE (repeatable).")
    var headers: [String] = []

    @Argument(help: "The request payload (default: read standard input).")
    var payload: String?

    func run() async throws {
        let correlationID = try id.map { try CorrelationID($0) } ?? .generate()
        let waitTimeout = try SettingValue.seconds(timeout, name: "--timeout", in: waitRange)
        let headerValues = try parseHeaders(headers)
        let body: Data
        if let payload { body = Data(payload.utf8) } else { body = await StandardInput.readAll() }
        try await BackendFactory.withSharedBackend(for: "submit") { backend in
            try await backend.publishRequest(
                QueueRequest(correlationID: correlationID, payload: body, headers: headerValues))
            if stream {
                writeToStandardError("courier: published request \(correlationID); following its events")
                try await EventPrinter.follow(correlationID, after: 0, on: backend, timeout: waitTimeout)
                return
            }
            guard wait else {
                try StandardOutput.line(
                    correlationID.rawValue, context: "request \(correlationID) was published")
                return
            }
            writeToStandardError("courier: published request \(correlationID); waiting for its response")
            let response = try await backend.subscribe(to: correlationID, timeout: waitTimeout)
            try ResponsePrinter.print(response, newline: newline)
        }
    }
}

/// `courier wait ID [--timeout SECONDS]`.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait for a request's response and print its payload.",
        discussion: """
            Fails at once (exit 1) for an id the queue does not know: never published, or its response expired. \
            The payload is written byte for byte (add --newline for a terminal). Opens the queue read-only. \
            \(environmentNote)
            """)

    @Argument(help: "The correlation id.")
    var id: String

    @Option(help: "Seconds to wait (0.001…31,536,000).")
    var timeout: Double = 300

    @Flag(help: "End the output with a newline when the payload does not (for terminals).")
    var newline = false

    func run() async throws {
        let correlationID = try CorrelationID(id)
        let waitTimeout = try SettingValue.seconds(timeout, name: "--timeout", in: waitRange)
        let response = try await BackendFactory.withSharedBackend(for: "wait", readOnly: true) { backend in
            if try await backend.status(of: correlationID) == .unknown {
                throw CommandFailure.requestFailed(
                    "no request \(correlationID) in this queue: it was never published, or its response expired")
            }
            return try await backend.subscribe(to: correlationID, timeout: waitTimeout)
        }
        try ResponsePrinter.print(response, newline: newline)
    }
}

/// The accepted range of `--timeout` for commands that wait: a millisecond to a year.
let waitRange: ClosedRange<Double> = 0.001...31_536_000

/// The sentence every client command's help ends with.
let environmentNote = """
    The queue is chosen by QUEUE_TYPE (memory, sqlite, redis-list, redis-pubsub, redis-streams; default memory) with \
    SQLITE_PATH or REDIS_URL and QUEUE_NAME; 'courier --help' lists every variable and its default.
    """

/// `courier cancel ID`.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a request that has no response yet.", discussion: environmentNote)

    @Argument(help: "The correlation id.")
    var id: String

    func run() async throws {
        let correlationID = try CorrelationID(id)
        let result = try await BackendFactory.withSharedBackend(for: "cancel") { try await $0.cancel(correlationID) }
        switch result {
        case .removedPending: try StandardOutput.line("cancelled (it was pending)")
        case .cancelledRunning:
            try StandardOutput.line("cancelled (it was running; its worker stops at its next lease renewal)")
        }
    }
}

/// Prints a response's payload, or fails with exit code 1 when the request did not complete.
enum ResponsePrinter {
    /// Writes the payload byte for byte; with `newline`, adds a newline when it does not end with one.
    /// - Throws: ``CommandFailure`` (exit code 1) when the request did not complete or the output cannot be
    ///   written.
    static func print(_ response: QueueResponse, newline: Bool) throws {
        guard response.status == .completed else {
            throw CommandFailure.requestFailed(
                "request \(response.correlationID) \(response.status): \(response.error ?? "no reason given")")
        }
        var bytes = response.payload
        if newline && bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        try StandardOutput.write(bytes, context: "the response to \(response.correlationID) arrived")
    }
}

func parseHeaders(_ pairs: [String]) throws -> [String: String] {
    var headers: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw CommandFailure.usage("--header '\(pair)' is not KEY=VALUE")
        }
        headers[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return headers
}
