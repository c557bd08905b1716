import ArgumentParser
import Courier
import Foundation

/// `courier submit [--id ID] [--wait] [--timeout SECONDS] [PAYLOAD]`.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Publish a request; print its correlation id, or with --wait its response payload.",
        discussion: "The payload is the argument, or standard input when the argument is omitted."
    )

    @Option(help: "The correlation id (default: a new random id). Resubmitting a known id fails.")
    var id: String?

    @Flag(help: "Wait for the response and print its payload.")
    var wait = false

    @Option(help: "Seconds to wait with --wait.")
    var timeout: Double = 300

    @Option(name: .customLong("header"), help: "A request header as KEY=VALUE (repeatable).")
    var headers: [String] = []

    @Argument(help: "The request payload (default: read standard input).")
    var payload: String?

    func run() async throws {
        let correlationID = try id.map { try CorrelationID($0) } ?? .generate()
        let waitTimeout = try parseTimeout(timeout)
        let headerValues = try parseHeaders(headers)
        let body: Data
        if let payload { body = Data(payload.utf8) } else { body = await StandardInput.readAll() }
        let response = try await BackendFactory.withSharedBackend(for: "submit") { backend in
            try await backend.publishRequest(
                QueueRequest(correlationID: correlationID, payload: body, headers: headerValues))
            return wait ? try await backend.subscribe(to: correlationID, timeout: waitTimeout) : nil
        }
        if let response { try ResponsePrinter.print(response) } else { print(correlationID) }
    }
}

/// `courier wait ID [--timeout SECONDS]`.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Wait for a request's response and print its payload.")

    @Argument(help: "The correlation id.")
    var id: String

    @Option(help: "Seconds to wait.")
    var timeout: Double = 300

    func run() async throws {
        let correlationID = try CorrelationID(id)
        let waitTimeout = try parseTimeout(timeout)
        let response = try await BackendFactory.withSharedBackend(for: "wait") {
            try await $0.subscribe(to: correlationID, timeout: waitTimeout)
        }
        try ResponsePrinter.print(response)
    }
}

/// `courier status ID`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a request's state: unknown, pending, running (attempt N), or how it finished.")

    @Argument(help: "The correlation id.")
    var id: String

    func run() async throws {
        let correlationID = try CorrelationID(id)
        print(try await BackendFactory.withSharedBackend(for: "status") { try await $0.status(of: correlationID) })
    }
}

/// `courier cancel ID`.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a request that has no response yet.")

    @Argument(help: "The correlation id.")
    var id: String

    func run() async throws {
        let correlationID = try CorrelationID(id)
        let result = try await BackendFactory.withSharedBackend(for: "cancel") { try await $0.cancel(correlationID) }
        switch result {
        case .removedPending: print("cancelled (it was pending)")
        case .cancelledRunning: print("cancelled (it was running; its worker stops at its next lease renewal)")
        }
    }
}

/// Prints a response's payload, or fails with exit code 1 when the request did not complete.
enum ResponsePrinter {
    static func print(_ response: QueueResponse) throws {
        guard response.status == .completed else {
            throw CommandFailure.requestFailed(
                "request \(response.correlationID) \(response.status): \(response.error ?? "no reason given")")
        }
        FileHandle.standardOutput.write(response.payload)
        if response.payload.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}

func parseTimeout(_ seconds: Double) throws -> Duration {
    guard seconds > 0, seconds <= 31_536_000 else {
        throw CommandFailure.usage("--timeout must be a positive number of seconds")
    }
    return .milliseconds(Int64(seconds * 1000))
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
