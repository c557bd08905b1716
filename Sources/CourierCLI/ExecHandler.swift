import Courier
import Foundation
import Logging
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

    /// Runs the command for one request. With `events` (a streaming handler), every piece of the command's
    /// standard output is also written as a chunk as soon as it is read, and the lines it writes to file
    /// descriptor 3 become progress (see ``ExecProgressChannel``); the response is still its whole output.
    /// - Throws: ``ExecFailure`` when the command cannot start or exits unsuccessfully;
    ///   `PermanentHandlerError` when its output is over ``outputLimit``. Cancelling the task stops the command's whole
    ///   process group (SIGTERM, then SIGKILL).
    func handle(
        _ request: QueueRequest, events: RequestEventWriter? = nil, logger: Logger? = nil
    ) async throws -> Data {
        var platform = PlatformOptions()
        platform.processGroupID = 0
        platform.teardownSequence = [
            .gracefulShutDown(allowedDurationToNextStep: .seconds(ExecSupervisor.stopGrace + 2))
        ]
        let input = try Self.temporaryFile(holding: request.payload)
        var environment: [Environment.Key: String?] = ["COURIER_CORRELATION_ID": request.correlationID.rawValue]
        let progress = try events.map { _ in try ExecProgressChannel() }
        if progress != nil { environment["COURIER_PROGRESS_FD"] = String(ExecSupervisor.progressDescriptor) }
        let executable = Executable.path(FilePath(supervisor))
        let arguments = Arguments(
            ExecSupervisor.arguments(worker: getpid(), progress: progress?.path, command: command))
        let status: TerminationStatus
        let output: Data
        let errorText: String
        do {
            if let events, let progress {
                let reporter = Task { await Self.report(progress, to: events, logger: logger) }
                defer { reporter.cancel() }
                let result: ExecutionResult<Data, SequenceOutput, StringOutput<UTF8>>
                do {
                    result = try await Subprocess.run(
                        executable, arguments: arguments, environment: .inherit.updating(environment),
                        platformOptions: platform, input: .fileDescriptor(input, closeAfterSpawningProcess: true),
                        output: .sequence, error: .string(limit: 4096)
                    ) { execution in
                        try await streamOutput(execution.standardOutput, to: events)
                    }
                } catch {
                    await progress.close()
                    throw error
                }
                await progress.close()
                await reporter.value
                (status, output, errorText) = (result.terminationStatus, result.closureResult, result.standardError)
            } else {
                let result = try await Subprocess.run(
                    executable, arguments: arguments, environment: .inherit.updating(environment),
                    platformOptions: platform, input: .fileDescriptor(input, closeAfterSpawningProcess: true),
                    output: .bytes(limit: outputLimit), error: .string(limit: 4096))
                (status, output, errorText) = (
                    result.terminationStatus, Data(result.standardOutput), result.standardError
                )
            }
        } catch let error as SubprocessError where error.code == .outputLimitExceeded {
            throw outputTooLarge
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

    /// Collects the command's standard output, writing each piece as a chunk as soon as it is read.
    private func streamOutput(_ pieces: SubprocessOutputSequence, to events: RequestEventWriter) async throws -> Data {
        var output = Data()
        for try await buffer in pieces {
            let piece = buffer.withUnsafeBytes { Data($0) }
            if output.count + piece.count > outputLimit { throw outputTooLarge }
            output.append(piece)
            try await events.write(piece)
        }
        return output
    }

    private var outputTooLarge: PermanentHandlerError {
        PermanentHandlerError(
            "'\(commandLine)' wrote more than \(outputLimit) bytes, over the queue's payload limit, so its "
                + "response cannot be stored")
    }

    /// Turns the command's progress lines into progress events; a line that is not progress is logged and skipped.
    private static func report(
        _ channel: ExecProgressChannel, to events: RequestEventWriter, logger: Logger?
    ) async {
        for await line in channel.lines {
            switch line {
            case .progress(let progress):
                try? await events.progress(
                    fraction: progress.fraction, message: progress.message, counter: progress.counter)
            case .invalid(let reason):
                logger?.warning("an exec handler's progress line was skipped", metadata: ["reason": "\(reason)"])
            }
        }
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
