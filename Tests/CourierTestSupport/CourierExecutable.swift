import Foundation
import Subprocess

/// Runs the built `courier` binary, as a user's script would.
public enum CourierExecutable {
    /// How a finished run ended and what it printed.
    public struct Outcome: Sendable {
        /// The exit status, or 128 + the signal number for a process killed by a signal.
        public var exitCode: Int32
        /// Everything written to standard output, as bytes.
        public var standardOutputBytes: Data
        /// Everything written to standard error.
        public var standardError: String
        /// Everything written to standard output, as UTF-8 text.
        public var standardOutput: String { String(decoding: standardOutputBytes, as: UTF8.self) }
    }

    /// The `courier` binary next to the test bundle in the build's products folder.
    public static var url: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("courier").path),
            directory.pathComponents.count > 1
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("courier")
    }

    /// Runs `courier arguments…` with `environment` added to (and overriding) the inherited environment.
    /// With `asNobody`, runs it as user and group 65534 through `setpriv` (for permission tests as root).
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], input: String? = nil, inputBytes: Data? = nil,
        workingDirectory: String? = nil, asNobody: Bool = false
    ) async throws -> Outcome {
        var overrides: [Environment.Key: String?] = [:]
        for (key, value) in environment { overrides[Environment.Key(stringLiteral: key)] = value }
        let executable = asNobody ? "/usr/bin/setpriv" : url.path
        let prefix = asNobody ? ["--reuid=65534", "--regid=65534", "--clear-groups", url.path] : []
        let result = try await Subprocess.run(
            .path(.init(executable)), arguments: Arguments(prefix + arguments),
            environment: .inherit.updating(overrides), workingDirectory: workingDirectory.map { .init($0) },
            input: .data(inputBytes ?? Data((input ?? "").utf8)), output: .data(limit: 64 << 20),
            error: .string(limit: 1 << 20))
        let code: Int32
        switch result.terminationStatus {
        case .exited(let status): code = status
        case .signaled(let signal): code = 128 + signal
        }
        return Outcome(
            exitCode: code, standardOutputBytes: result.standardOutput, standardError: result.standardError)
    }

    /// Starts `courier arguments…` in the background, its output discarded (standard error goes to the file at
    /// `standardErrorPath` when given); returns its process id.
    public static func start(
        _ arguments: [String], environment: [String: String], workingDirectory: String? = nil,
        standardErrorPath: String? = nil
    ) throws -> Int32 {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.standardOutput = FileHandle.nullDevice
        if let standardErrorPath {
            _ = FileManager.default.createFile(atPath: standardErrorPath, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: standardErrorPath)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process.processIdentifier
    }

    /// Whether process `pid` exits within `limit`.
    public static func waitForExit(_ pid: Int32, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if kill(pid, 0) != 0 { return true }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
