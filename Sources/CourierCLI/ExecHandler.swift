import Courier
import Foundation
import Subprocess

/// Runs a command once per request: the payload on its standard input, its standard output as the response.
struct ExecHandler: Sendable {
    /// The largest standard output accepted as a response.
    static let outputLimit = 64 << 20

    let command: [String]

    /// Runs the command for one request.
    /// - Throws: `ExecFailure` when the command cannot start or exits unsuccessfully. Cancelling the task
    ///   terminates the command.
    func handle(_ request: QueueRequest) async throws -> Data {
        var environment = Environment.inherit
        environment = environment.updating(["COURIER_CORRELATION_ID": request.correlationID.rawValue])
        let result = try await Subprocess.run(
            .name(command[0]), arguments: Arguments(Array(command.dropFirst())), environment: environment,
            input: .data(request.payload), output: .data(limit: Self.outputLimit), error: .string(limit: 4096))
        guard case .exited(0) = result.terminationStatus else {
            let detail = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            throw ExecFailure(
                description: "'\(command.joined(separator: " "))' ended with \(result.terminationStatus)"
                    + (detail.isEmpty ? "" : ": \(detail.split(separator: "\n").last ?? "")"))
        }
        return result.standardOutput
    }
}

/// The command run by an exec handler failed.
struct ExecFailure: Error, CustomStringConvertible {
    let description: String
}
