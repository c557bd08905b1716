import Courier
import Foundation
import Subprocess
import SystemPackage

/// Runs a command once per request: the payload on its standard input, its standard output as the response.
///
/// Each run goes through ``ExecSupervisor`` (the `courier` binary itself), which puts the command in a process
/// group of its own: when the handler is stopped (the worker's grace period ended, its handler timeout passed,
/// its request was cancelled) or the worker dies, the whole group gets SIGTERM and then SIGKILL. The payload is
/// read from a temporary file, so a command that exits without reading it all is not an error.
struct ExecHandler: Sendable {
    /// The largest standard output accepted as a response, unless a smaller one is given.
    static let defaultOutputLimit = 64 << 20

    /// The command and its arguments.
    let command: [String]
    /// The `courier` binary that supervises each run.
    let supervisor: String
    /// The largest standard output accepted; a command that writes more fails its request at once.
    let outputLimit: Int

    /// Creates a handler for `command`.
    /// - Parameters:
    ///   - supervisor: The `courier` binary to run as ``ExecSupervisor``; this process's own executable by default.
    ///   - outputLimit: The largest response accepted (the queue's payload limit).
    init(command: [String], supervisor: String? = nil, outputLimit: Int = ExecHandler.defaultOutputLimit) {
        self.command = command
        self.supervisor = supervisor ?? Self.ownExecutable
        self.outputLimit = outputLimit
    }

    /// This process's executable.
    static var ownExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Checks that the command can be started: a path (containing `/`) must name an executable file, a bare name
    /// must be found on `PATH`.
    /// - Throws: ``CommandFailure`` (usage) naming the command and what is wrong.
    func checkCommand() throws {
        func isExecutableFile(_ path: String) -> Bool {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && FileManager.default.isExecutableFile(atPath: path)
        }
        let name = command[0]
        if name.contains("/") {
            guard FileManager.default.fileExists(atPath: name) else {
                throw CommandFailure.usage("the exec handler's command '\(name)' does not exist")
            }
            guard isExecutableFile(name) else {
                throw CommandFailure.usage("the exec handler's command '\(name)' is not an executable file")
            }
            return
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        if !path.split(separator: ":").contains(where: { isExecutableFile("\($0)/\(name)") }) {
            throw CommandFailure.usage("the exec handler's command '\(name)' was not found on PATH")
        }
    }

    /// Runs the command for one request.
    /// - Throws: ``ExecFailure`` when the command cannot start or exits unsuccessfully;
    ///   `PermanentHandlerError` when its output is over ``outputLimit``. Cancelling the task stops the command's whole
    ///   process group (SIGTERM, then SIGKILL).
    func handle(_ request: QueueRequest) async throws -> Data {
        var platform = PlatformOptions()
        platform.processGroupID = 0
        platform.teardownSequence = [
            .gracefulShutDown(allowedDurationToNextStep: .seconds(ExecSupervisor.stopGrace + 2))
        ]
        let input = try Self.temporaryFile(holding: request.payload)
        let status: TerminationStatus
        let output: Data
        let errorText: String
        do {
            let result = try await Subprocess.run(
                .path(FilePath(supervisor)),
                arguments: Arguments(ExecSupervisor.arguments(worker: getpid(), command: command)),
                environment: .inherit.updating(["COURIER_CORRELATION_ID": request.correlationID.rawValue]),
                platformOptions: platform,
                input: .fileDescriptor(input, closeAfterSpawningProcess: true),
                output: .bytes(limit: outputLimit), error: .string(limit: 4096))
            status = result.terminationStatus
            output = Data(result.standardOutput)
            errorText = result.standardError
        } catch let error as SubprocessError where error.code == .outputLimitExceeded {
            throw PermanentHandlerError(
                "'\(commandLine)' wrote more than \(outputLimit) bytes, over the queue's payload limit, so its "
                    + "response cannot be stored")
        }
        // Stopped (timeout, cancellation, shutdown): whatever the command wrote is not an answer.
        try Task.checkCancellation()
        guard case .exited(0) = status else {
            let detail = errorText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw ExecFailure(
                description: "'\(commandLine)' ended with \(status)"
                    + (detail.isEmpty ? "" : ": \(detail.split(separator: "\n").last ?? "")"))
        }
        return output
    }

    private var commandLine: String { command.joined(separator: " ") }

    /// An open, already unlinked temporary file holding `bytes`, positioned at its start.
    private static func temporaryFile(holding bytes: Data) throws -> FileDescriptor {
        var template = Array((NSTemporaryDirectory() + "/courier-payload-XXXXXX").utf8CString)
        let raw = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard raw >= 0 else {
            throw ExecFailure(description: "cannot create a temporary file for the payload: errno \(errno)")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let file = FileDescriptor(rawValue: raw)
        do {
            _ = try file.writeAll(bytes)
            _ = try file.seek(offset: 0, from: .start)
        } catch {
            try? file.close()
            throw ExecFailure(description: "cannot write the payload to a temporary file: \(error)")
        }
        return file
    }
}

/// The command run by an exec handler failed.
struct ExecFailure: Error, CustomStringConvertible {
    let description: String
}
