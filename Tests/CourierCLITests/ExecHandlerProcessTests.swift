import CourierTestSupport
import Foundation
import Subprocess
import Testing

/// `courier worker --handler exec` as an operator runs it: what a command does, or how it dies, never takes the
/// worker down, and a command never outlives its worker.
@Suite("exec handlers, across processes", .serialized)
struct ExecHandlerProcessTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-exec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private func environment(lease: String = "2") -> [String: String] {
        [
            "QUEUE_TYPE": "sqlite", "SQLITE_PATH": directory.appendingPathComponent("queue.sqlite3").path,
            "COURIER_LEASE_SECONDS": lease, "LOG_LEVEL": "warning",
        ]
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The process ids a handler wrote to `file`, one per line, once there are `count`.
    private func processIDs(in file: String, count: Int) async throws -> [pid_t] {
        var found: [pid_t] = []
        try await eventually(.seconds(20)) {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            found = text.split(separator: "\n").compactMap { pid_t($0) }
            return found.count >= count
        }
        return found
    }

    @Test func aCommandThatReadsNoInputLeavesTheWorkerRunning() async throws {
        let environment = environment()
        let worker = try CourierExecutable.start(
            ["worker", "--handler", "exec", "--", "true"], environment: environment)
        defer { kill(worker, SIGKILL) }
        // A payload far larger than a pipe's buffer: writing it to a command that never reads used to raise SIGPIPE.
        let big = Data(repeating: 0x61, count: 1 << 20)
        for index in 0..<2 {
            let outcome = try await CourierExecutable.run(
                ["submit", "--wait", "--timeout", "60", "--id", "quiet-\(index)"], environment: environment,
                inputBytes: big)
            #expect(outcome.exitCode == 0, "\(outcome.standardError)")
            #expect(outcome.standardOutputBytes.isEmpty)
        }
        #expect(isRunning(worker), "the worker died")
    }

    @Test func bytesComeBackExactly() async throws {
        let environment = environment()
        let worker = try CourierExecutable.start(
            ["worker", "--handler", "exec", "--", "cat"], environment: environment)
        defer { kill(worker, SIGKILL) }
        let bytes = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) }) + Data("no newline".utf8)
        let outcome = try await CourierExecutable.run(
            ["submit", "--wait", "--timeout", "60"], environment: environment, inputBytes: bytes)
        #expect(outcome.exitCode == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutputBytes == bytes)
        let terminal = try await CourierExecutable.run(
            ["submit", "--wait", "--newline", "--timeout", "60", "text"], environment: environment)
        #expect(terminal.standardOutput == "text\n")
    }

    @Test func aWorkerKilledWithSIGKILLTakesItsCommandAndItsChildrenWithIt() async throws {
        let environment = environment(lease: "30")
        let pids = path("pids")
        let worker = try CourierExecutable.start(
            [
                "worker", "--handler", "exec", "--", "sh", "-c",
                "echo $$ > \(pids); sleep 120 & echo $! >> \(pids); wait",
            ],
            environment: environment)
        defer { kill(worker, SIGKILL) }
        _ = try await CourierExecutable.run(["submit", "--id", "orphan", "x"], environment: environment)
        let handlers = try await processIDs(in: pids, count: 2)
        kill(worker, SIGKILL)
        #expect(try await CourierExecutable.waitForExit(worker, within: .seconds(10)))
        try await eventually(.seconds(20)) { !handlers.contains(where: isRunning) }
    }

    @Test func aGracefulStopAsksPolitelyStopsTheWholeGroupAndKeepsTheAttempt() async throws {
        let environment = environment(lease: "30")
        let pids = path("pids")
        let terminated = path("terminated")
        let script =
            "trap 'echo term > \(terminated); exit 0' TERM; echo $$ > \(pids); sleep 120 & echo $! >> \(pids); wait"
        let worker = try CourierExecutable.start(
            ["worker", "--grace-period", "0.5", "--handler", "exec", "--", "sh", "-c", script],
            environment: environment)
        defer { kill(worker, SIGKILL) }
        _ = try await CourierExecutable.run(["submit", "--id", "polite", "x"], environment: environment)
        let handlers = try await processIDs(in: pids, count: 2)
        kill(worker, SIGTERM)
        #expect(try await CourierExecutable.waitForExit(worker, within: .seconds(20)))
        try await eventually(.seconds(20)) { !handlers.contains(where: isRunning) }
        #expect(FileManager.default.fileExists(atPath: terminated), "the command got no SIGTERM first")
        let status = try await CourierExecutable.run(["status", "polite"], environment: environment)
        #expect(status.standardOutput == "pending\n", "a graceful stop spent the attempt: \(status.standardOutput)")
    }

    @Test func aHungCommandIsStoppedAtItsTimeout() async throws {
        let environment = environment(lease: "30").merging(["COURIER_MAX_ATTEMPTS": "1"]) { $1 }
        let worker = try CourierExecutable.start(
            ["worker", "--handler-timeout", "1", "--handler", "exec", "--", "sleep", "300"], environment: environment)
        defer { kill(worker, SIGKILL) }
        let outcome = try await CourierExecutable.run(
            ["submit", "--wait", "--timeout", "60", "x"], environment: environment)
        #expect(outcome.exitCode == 1)
        #expect(outcome.standardError.contains("timeout of 1"), "\(outcome.standardError)")
    }

    @Test func aResponseOverThePayloadLimitFailsAtOnce() async throws {
        let environment = environment(lease: "60")
        let worker = try CourierExecutable.start(
            ["worker", "--handler", "exec", "--", "head", "-c", "9000000", "/dev/zero"], environment: environment)
        defer { kill(worker, SIGKILL) }
        let started = ContinuousClock.now
        let outcome = try await CourierExecutable.run(
            ["submit", "--wait", "--timeout", "50", "x"], environment: environment)
        #expect(outcome.exitCode == 1)
        #expect(outcome.standardError.contains("payload limit"), "\(outcome.standardError)")
        // Not after a lease (60 s) and retries: the first attempt already fails the request.
        #expect(ContinuousClock.now - started < .seconds(45))
    }

    @Test func relativeAndAbsoluteCommandPathsWork() async throws {
        let script = path("answer.sh")
        try "#!/bin/sh\nprintf 'answer:'\ncat\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        for command in ["./answer.sh", script] {
            let environment = environment()
            let worker = try CourierExecutable.start(
                ["worker", "--handler", "exec", "--", command], environment: environment,
                workingDirectory: directory.path)
            let outcome = try await CourierExecutable.run(
                ["submit", "--wait", "--timeout", "60", "hi"], environment: environment)
            kill(worker, SIGKILL)
            _ = try await CourierExecutable.waitForExit(worker, within: .seconds(10))
            #expect(outcome.exitCode == 0, "\(command): \(outcome.standardError)")
            #expect(outcome.standardOutput == "answer:hi")
        }
    }

    @Test func submitNamesItsIDAsSoonAsItIsPublished() async throws {
        let environment = environment()
        let outcome = try await CourierExecutable.run(
            ["submit", "--wait", "--timeout", "0.5", "--id", "announced", "x"], environment: environment)
        #expect(outcome.exitCode == 1, "no worker: the wait times out")
        #expect(outcome.standardError.split(separator: "\n").first?.contains("published request announced") == true)
        let status = try await CourierExecutable.run(["status", "announced"], environment: environment)
        #expect(status.standardOutput == "pending\n")
    }

    @Test func anUnwritableStandardOutputIsAnErrorThatKeepsTheID() async throws {
        let environment = environment()
        var overrides: [Environment.Key: String?] = [:]
        for (key, value) in environment { overrides[Environment.Key(stringLiteral: key)] = value }
        let result = try await Subprocess.run(
            .path("/bin/sh"),
            arguments: ["-c", "\"$0\" submit --id lost-id x > /dev/full", CourierExecutable.url.path],
            environment: .inherit.updating(overrides), output: .discarded, error: .string(limit: 1 << 16))
        #expect(result.terminationStatus == .exited(1))
        #expect(result.standardError.contains("lost-id"), "\(result.standardError)")
        let status = try await CourierExecutable.run(["status", "lost-id"], environment: environment)
        #expect(status.standardOutput == "pending\n")
    }

    @Test func waitingForAnUnknownIDFailsAtOnce() async throws {
        let environment = environment()
        _ = try await CourierExecutable.run(["submit", "--id", "known", "x"], environment: environment)
        let started = ContinuousClock.now
        let outcome = try await CourierExecutable.run(
            ["wait", "never-published", "--timeout", "120"], environment: environment)
        #expect(outcome.exitCode == 1)
        #expect(outcome.standardError.contains("never-published"))
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}
