import Foundation
import Subprocess

/// Runs the built `courier` binary, as a user's script would.
enum CourierExecutable {
    struct Outcome: Sendable {
        var exitCode: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The `courier` binary next to the test bundle in the build's products folder.
    static var url: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("courier").path),
            directory.pathComponents.count > 1
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("courier")
    }

    /// Runs `courier arguments…` with `environment` added to (and overriding) the inherited environment.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], input: String? = nil
    ) async throws -> Outcome {
        var overrides: [Environment.Key: String?] = [:]
        for (key, value) in environment { overrides[Environment.Key(stringLiteral: key)] = value }
        let result = try await Subprocess.run(
            .path(.init(url.path)), arguments: Arguments(arguments), environment: .inherit.updating(overrides),
            input: .string(input ?? ""), output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        let code: Int32
        switch result.terminationStatus {
        case .exited(let status): code = status
        case .signaled(let signal): code = 128 + signal
        }
        return Outcome(
            exitCode: code, standardOutput: result.standardOutput, standardError: result.standardError)
    }
}
