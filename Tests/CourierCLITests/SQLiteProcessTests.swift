import Courier
import CourierSQLite
import CourierTestSupport
import Foundation
import Subprocess
import Testing

/// Real processes sharing one SQLite file: `courier worker` in one, `courier submit` in others.
@Suite("courier over SQLite, across processes")
struct SQLiteProcessTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private var environment: [String: String] {
        [
            "QUEUE_TYPE": "sqlite", "SQLITE_PATH": directory.appendingPathComponent("queue.sqlite3").path,
            "COURIER_LEASE_SECONDS": "1", "LOG_LEVEL": "warning",
        ]
    }

    /// Starts `courier worker …` in the background; returns its process id.
    private func startWorker(_ arguments: [String]) throws -> Int32 { try start(["worker"] + arguments) }

    private func waitForExit(_ pid: Int32, within seconds: Double) async throws -> Bool {
        try await CourierExecutable.waitForExit(pid, within: .seconds(seconds))
    }

    @Test func workerAndClientInSeparateProcesses() async throws {
        let worker = try startWorker(["--handler", "exec", "--", "tr", "a-z", "A-Z"])
        defer { kill(worker, SIGKILL) }
        let answer = try await CourierExecutable.run(
            ["submit", "--wait", "--timeout", "60", "hello from another process"], environment: environment)
        #expect(answer.exitCode == 0, "\(answer.standardError)")
        #expect(answer.standardOutput == "HELLO FROM ANOTHER PROCESS", "the payload comes back byte for byte")

        let submitted = try await CourierExecutable.run(["submit", "--id", "job-7", "later"], environment: environment)
        #expect(submitted.standardOutput == "job-7\n")
        let waited = try await CourierExecutable.run(["wait", "job-7", "--timeout", "60"], environment: environment)
        #expect(waited.standardOutput == "LATER")
        let status = try await CourierExecutable.run(["status", "job-7"], environment: environment)
        #expect(status.standardOutput == "completed\n")
        let duplicate = try await CourierExecutable.run(["submit", "--id", "job-7", "again"], environment: environment)
        #expect(duplicate.exitCode == 1)

        let attributes = try FileManager.default.attributesOfItem(atPath: environment["SQLITE_PATH"]!)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        kill(worker, SIGTERM)
        #expect(try await waitForExit(worker, within: 30), "the worker did not exit after SIGTERM")
    }

    @Test func aWorkerKilledMidRequestLosesNothing() async throws {
        let stuck = try startWorker(["--handler", "exec", "--", "sh", "-c", "sleep 60"])
        let submitted = try await CourierExecutable.run(
            ["submit", "--id", "crash-1", "survive"], environment: environment)
        #expect(submitted.exitCode == 0)
        var running = ""
        for _ in 0..<200 where !running.hasPrefix("running") {
            running = try await CourierExecutable.run(["status", "crash-1"], environment: environment).standardOutput
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(running.hasPrefix("running"))
        kill(stuck, SIGKILL)
        _ = try await waitForExit(stuck, within: 10)

        let healthy = try startWorker(["--handler", "echo"])
        defer { kill(healthy, SIGKILL) }
        let answer = try await CourierExecutable.run(["wait", "crash-1", "--timeout", "60"], environment: environment)
        #expect(answer.exitCode == 0, "\(answer.standardError)")
        #expect(answer.standardOutput == "survive")
    }

    @Test func cancelAPendingRequestFromTheShell() async throws {
        _ = try await CourierExecutable.run(["submit", "--id", "cancel-me", "x"], environment: environment)
        let cancelled = try await CourierExecutable.run(["cancel", "cancel-me"], environment: environment)
        #expect(cancelled.standardOutput.hasPrefix("cancelled (it was pending)"))
        let waited = try await CourierExecutable.run(["wait", "cancel-me", "--timeout", "5"], environment: environment)
        #expect(waited.exitCode == 1)
        #expect(waited.standardError.contains("cancelled"))
        let again = try await CourierExecutable.run(["cancel", "cancel-me"], environment: environment)
        #expect(again.exitCode == 1)
    }

    /// Starts `courier arguments…` in the background with this test's environment; returns its process id.
    private func start(_ arguments: [String]) throws -> Int32 {
        try CourierExecutable.start(arguments, environment: environment)
    }

    private func status(_ id: String) async throws -> String {
        try await CourierExecutable.run(["status", id], environment: environment).standardOutput
    }

    private func expectSoundFile() async throws {
        let backend = try await SQLiteQueueBackend(
            path: environment["SQLITE_PATH"]!, configuration: .init(queueName: "courier"))
        let report = try await backend.integrityCheck()
        await backend.shutdown()
        #expect(report == "ok", "integrity_check: \(report)")
    }

    @Test func aClientKilledWhileWaitingStillHasItsResponse() async throws {
        let client = try start(["submit", "--wait", "--id", "orphan-1", "--timeout", "600", "kept"])
        var state = ""
        for _ in 0..<200 where !state.hasPrefix("pending") {
            state = try await status("orphan-1")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(state.hasPrefix("pending"))
        kill(client, SIGKILL)
        _ = try await waitForExit(client, within: 10)

        let worker = try startWorker(["--handler", "echo"])
        defer { kill(worker, SIGKILL) }
        let answer = try await CourierExecutable.run(["wait", "orphan-1", "--timeout", "60"], environment: environment)
        #expect(answer.standardOutput == "kept")
        try await expectSoundFile()
    }

    @Test func everythingKilledAndRestartedLosesNothing() async throws {
        let stuck = try startWorker(["--handler", "exec", "--", "sh", "-c", "sleep 60"])
        let first = try await CourierExecutable.run(["submit", "--id", "early", "early"], environment: environment)
        #expect(first.exitCode == 0)
        for index in 0..<5 {
            _ = try await CourierExecutable.run(
                ["submit", "--id", "job-\(index)", "p\(index)"], environment: environment)
        }
        let waiter = try start(["wait", "job-0", "--timeout", "600"])
        try await Task.sleep(for: .milliseconds(300))
        kill(stuck, SIGKILL)
        kill(waiter, SIGKILL)
        _ = try await waitForExit(stuck, within: 10)
        _ = try await waitForExit(waiter, within: 10)
        try await expectSoundFile()

        let worker = try startWorker(["--handler", "echo"])
        defer { kill(worker, SIGKILL) }
        for index in 0..<5 {
            let answer = try await CourierExecutable.run(
                ["wait", "job-\(index)", "--timeout", "60"], environment: environment)
            #expect(answer.standardOutput == "p\(index)", "job-\(index) was lost")
        }
        let early = try await CourierExecutable.run(["wait", "early", "--timeout", "60"], environment: environment)
        #expect(early.standardOutput == "early")
        kill(worker, SIGTERM)
        _ = try await waitForExit(worker, within: 30)
        try await expectSoundFile()
    }

    /// A file the process may read but not write: a clear one-line error, and the file is left as it was. As
    /// root (CI), file permissions do not apply, so the command runs as `nobody`.
    @Test(
        .enabled(
            if: getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            "as root it needs setpriv (util-linux) to run as nobody"))
    func aReadOnlyFileIsAClearErrorAndStaysUntouched() async throws {
        let created = try await CourierExecutable.run(["submit", "--id", "kept", "data"], environment: environment)
        #expect(created.exitCode == 0, "\(created.standardError)")
        let path = environment["SQLITE_PATH"]!
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        if getuid() != 0 { try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path) }
        let refused = try await CourierExecutable.run(
            ["submit", "again"], environment: environment, asNobody: getuid() == 0)
        #expect(refused.exitCode != 0)
        #expect(refused.standardError.hasPrefix("courier: "), "\(refused.standardError)")
        #expect(refused.standardError.split(separator: "\n").count == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let status = try await CourierExecutable.run(["status", "kept"], environment: environment)
        #expect(status.standardOutput == "pending\n")
    }
}
