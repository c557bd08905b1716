import CSQLite
import CourierTestSupport
import Foundation
import Testing

/// Every kind of bad input a user or an attacker gives `courier` (flags, environment, URLs, paths, payloads,
/// ids): each is refused with the documented exit code and one line on standard error, prints nothing on
/// standard output, never echoes a password, and leaves the stored data exactly as it was.
@Suite("bad input sweep", .serialized)
struct BadInputSweepTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var environment: [String: String] = [:]
        var code: Int32 = 2
        /// Text the message must contain.
        var mentions: [String] = []
        var standardInput: Data?
        var testDescription: String {
            (environment.map { "\($0.key)=\($0.value.prefix(60))" }.sorted() + ["courier"] + arguments).joined(
                separator: " ")
        }
    }

    /// A password no message may show.
    static let password = "s3#cr/t?pw"
    static let longHost = String(repeating: "a", count: 300)

    static let flags: [Case] = [
        Case(arguments: ["submit", "--timeout", "inf", "x"], mentions: ["--timeout", "0.001"]),
        Case(arguments: ["submit", "--wait", "--timeout", "1e300", "x"], mentions: ["--timeout"]),
        Case(arguments: ["wait", "seed", "--timeout", "nan"], mentions: ["--timeout"]),
        Case(arguments: ["wait", "seed", "--timeout", "0"], mentions: ["--timeout"]),
        Case(arguments: ["bench", "--timeout", "inf"], environment: ["QUEUE_TYPE": "memory"], mentions: ["--timeout"]),
        Case(arguments: ["bench", "--requests", "0"], mentions: ["--requests"]),
        Case(arguments: ["bench", "--inflight", "100001"], mentions: ["--inflight"]),
        Case(arguments: ["bench", "--payload-bytes", "99999999999"], mentions: ["--payload-bytes"]),
        Case(arguments: ["demo", "--requests", "0"], mentions: ["--requests"]),
        Case(arguments: ["worker", "--grace-period", "inf"], mentions: ["--grace-period", "86,400"]),
        Case(arguments: ["worker", "--grace-period", "1e20"], mentions: ["--grace-period"]),
        Case(arguments: ["worker", "--handler-timeout=-1"], mentions: ["--handler-timeout"]),
        Case(arguments: ["worker", "--handler-timeout", "1e20"], mentions: ["--handler-timeout", "604,800"]),
        Case(arguments: ["worker", "--metrics-port", "70000"], mentions: ["--metrics-port"]),
        Case(arguments: ["worker", "--handler", "exec"], mentions: ["needs a command"]),
        Case(arguments: ["worker", "--stream"], mentions: ["--stream needs --handler exec"]),
        Case(arguments: ["serve", "--port", "70000"], mentions: ["--port"]),
        Case(arguments: ["serve"], environment: ["QUEUE_TYPE": "memory"], mentions: ["memory"]),
        Case(
            arguments: ["serve", "--handler", "echo"],
            environment: ["QUEUE_TYPE": "memory", "COURIER_HTTP_MAX_WAIT_SECONDS": "forever"],
            mentions: ["COURIER_HTTP_MAX_WAIT_SECONDS"]),
        Case(
            arguments: ["serve", "--handler", "echo"],
            environment: ["QUEUE_TYPE": "memory", "COURIER_HTTP_HEARTBEAT_SECONDS": "0"],
            mentions: ["COURIER_HTTP_HEARTBEAT_SECONDS"]),
        Case(arguments: ["worker", "--handler", "bogus"], mentions: ["bogus"]),
        Case(arguments: ["worker", "--handler", "exec", "--", "no-such-command-xyz"], mentions: ["not found"]),
        Case(arguments: ["worker", "--handler", "exec", "--", "./missing.sh"], mentions: ["does not exist"]),
        Case(arguments: ["worker", "--handler", "exec", "--", "{dir}"], mentions: ["not an executable"]),
        Case(arguments: ["submit", "--header", "novalue", "x"], mentions: ["KEY=VALUE"]),
        Case(arguments: ["submit", "--bogus-flag"], mentions: ["--bogus-flag"]),
        Case(arguments: ["frobnicate"], mentions: ["frobnicate"]),
        Case(arguments: ["status"], mentions: ["<id>"]),
    ]

    static let variables: [Case] = [
        Case(
            arguments: ["status", "seed"], environment: ["COURIER_LEASE_SECONDS": "inf"],
            mentions: ["COURIER_LEASE_SECONDS", "0.1", "86,400"]),
        Case(
            arguments: ["status", "seed"], environment: ["COURIER_LEASE_SECONDS": "1e300"],
            mentions: ["COURIER_LEASE_SECONDS"]),
        Case(
            arguments: ["status", "seed"], environment: ["COURIER_LEASE_SECONDS": "0"],
            mentions: ["COURIER_LEASE_SECONDS"]),
        Case(
            arguments: ["status", "seed"], environment: ["COURIER_RESPONSE_TTL_SECONDS": "nan"],
            mentions: ["COURIER_RESPONSE_TTL_SECONDS"]),
        Case(
            arguments: ["worker"], environment: ["COURIER_HANDLER_TIMEOUT_SECONDS": "inf"],
            mentions: ["COURIER_HANDLER_TIMEOUT_SECONDS", "604,800"]),
        Case(
            arguments: ["worker"], environment: ["COURIER_RATE_LIMIT": "1e-9"],
            mentions: ["COURIER_RATE_LIMIT", "0.001"]),
        Case(arguments: ["worker"], environment: ["COURIER_RATE_LIMIT": "inf"], mentions: ["COURIER_RATE_LIMIT"]),
        Case(
            arguments: ["worker"], environment: ["COURIER_RATE_LIMIT": "5", "COURIER_RATE_BURST": "0.5"],
            mentions: ["COURIER_RATE_BURST"]),
        Case(
            arguments: ["worker"], environment: ["WORKER_CONCURRENCY": "99999999999999999999"],
            mentions: ["WORKER_CONCURRENCY", "10,000"]),
        Case(
            arguments: ["submit", "x"], environment: ["COURIER_MAX_ATTEMPTS": "0"], mentions: ["COURIER_MAX_ATTEMPTS"]),
        Case(arguments: ["worker"], environment: ["COURIER_MAX_INFLIGHT": "-1"], mentions: ["COURIER_MAX_INFLIGHT"]),
        Case(
            arguments: ["worker"], environment: ["COURIER_GLOBAL_INFLIGHT": "5"], mentions: ["COURIER_GLOBAL_INFLIGHT"]),
        Case(arguments: ["status", "seed"], environment: ["LOG_LEVEL": "bogus"], mentions: ["LOG_LEVEL", "warning"]),
        Case(arguments: ["status", "seed"], environment: ["QUEUE_TYPE": "bogus"], mentions: ["redis-pubsub"]),
        Case(
            arguments: ["submit", "x"], environment: ["SQLITE_SYNCHRONOUS": "maybe"], mentions: ["SQLITE_SYNCHRONOUS"]),
        Case(arguments: ["submit", "x"], environment: ["QUEUE_NAME": "bad name!"], mentions: ["queue name"]),
    ]

    static let urls: [Case] =
        [
            ("redis://:\(password)@127.0.0.1:6379/0?connect_timeout=inf", "connect_timeout"),
            ("redis://:\(password)@127.0.0.1:6379/0?read_timeout=1e999", "read_timeout"),
            ("redis://:\(password)@127.0.0.1:6379/0?bogus=1", "unknown option"),
            ("redis://:\(password)@[::1", "IPv6"),
            ("redis://:\(password)@127.0.0.1:99999/0", "port"),
            ("redis://:\(password)@\(longHost):6379/0", "253"),
            ("redis://user:\(password)@host.example/abc", "database"),
            ("rediss://:\(password)@host.example:6379", "TLS"),
            ("http://:\(password)@host.example", "redis://"),
        ].map { url, mention in
            Case(
                arguments: ["status", "seed"], environment: ["QUEUE_TYPE": "redis-list", "REDIS_URL": url],
                mentions: [mention])
        } + [
            // Well formed but unreachable: not a usage error, and still no password in the message.
            Case(
                arguments: ["status", "seed"],
                environment: [
                    "QUEUE_TYPE": "redis-pubsub", "REDIS_URL": "redis://:\(password)@127.0.0.1:1/0?connect_timeout=0.5",
                ],
                code: 1, mentions: ["127.0.0.1:1"])
        ]

    static let paths: [Case] = [
        Case(arguments: ["submit", "x"], environment: ["SQLITE_PATH": ":memory:"], mentions: [":memory:"]),
        Case(arguments: ["submit", "x"], environment: ["SQLITE_PATH": "file:queue.sqlite3"], mentions: ["file:"]),
        Case(arguments: ["submit", "x"], environment: ["SQLITE_PATH": "{dir}"]),
        Case(arguments: ["submit", "x"], environment: ["SQLITE_PATH": "{dir}/missing/queue.sqlite3"]),
        Case(arguments: ["submit", "x"], environment: ["SQLITE_PATH": "{dir}/notes.txt"]),
        Case(arguments: ["submit", "x"], environment: ["SQLITE_PATH": "{dir}/foreign.sqlite3"], mentions: ["foreign"]),
        Case(
            arguments: ["status", "seed"], environment: ["SQLITE_PATH": "{dir}/foreign.sqlite3"], mentions: ["foreign"]),
        Case(
            arguments: ["wait", "seed"], environment: ["SQLITE_PATH": "{dir}/foreign.sqlite3"], mentions: ["foreign"]),
        Case(
            arguments: ["status", "seed"], environment: ["SQLITE_PATH": "{dir}/absent.sqlite3"], mentions: ["absent"]),
    ]

    static let payloadsAndIDs: [Case] = [
        Case(arguments: ["submit"], mentions: ["limit"], standardInput: Data(count: (8 << 20) + 1)),
        Case(arguments: ["submit", "--id", "", "x"], mentions: ["correlation id"]),
        Case(arguments: ["submit", "--id", "bad\tid", "x"], mentions: ["correlation id"]),
        Case(arguments: ["submit", "--id", String(repeating: "i", count: 257), "x"], mentions: ["correlation id"]),
        Case(arguments: ["status", "bad\nid"], mentions: ["correlation id"]),
        Case(arguments: ["submit", "--id", "seed", "again"], code: 1, mentions: ["seed"]),
        Case(arguments: ["wait", "unknown-id", "--timeout", "120"], code: 1, mentions: ["unknown-id"]),
        Case(arguments: ["cancel", "unknown-id"], code: 1, mentions: ["unknown-id"]),
    ]

    @Test(arguments: flags + variables + urls + paths + payloadsAndIDs)
    func isRefusedCleanlyAndChangesNothing(_ input: Case) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "courier-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = [
            "QUEUE_TYPE": "sqlite", "SQLITE_PATH": directory.appendingPathComponent("queue.sqlite3").path,
            "LOG_LEVEL": "warning",
        ]
        let seeded = try await CourierExecutable.run(["submit", "--id", "seed", "payload"], environment: base)
        try #require(seeded.exitCode == 0, "\(seeded.standardError)")
        try Data("notes, not a database\n".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        try makeForeignDatabase(at: directory.appendingPathComponent("foreign.sqlite3").path)
        let before = try snapshot(directory)

        func expand(_ text: String) -> String { text.replacingOccurrences(of: "{dir}", with: directory.path) }
        let environment = base.merging(input.environment.mapValues(expand)) { $1 }
        let started = ContinuousClock.now
        let outcome = try await CourierExecutable.run(
            input.arguments.map(expand), environment: environment, inputBytes: input.standardInput,
            workingDirectory: directory.path)

        #expect(outcome.exitCode == input.code, "stderr: \(outcome.standardError)")
        let lines = outcome.standardError.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 1, "expected one line on stderr, got: \(outcome.standardError)")
        #expect(outcome.standardError.hasPrefix("courier: "), "\(outcome.standardError)")
        for mention in input.mentions {
            #expect(outcome.standardError.contains(mention), "the message should mention '\(mention)'")
        }
        #expect(!outcome.standardError.contains(Self.password), "the message shows the password")
        #expect(outcome.standardOutputBytes.isEmpty, "stdout: \(outcome.standardOutput)")
        #expect(ContinuousClock.now - started < .seconds(60), "a refusal should come at once")
        let after = try snapshot(directory)
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        #expect(changed.isEmpty, "the stored data changed: \(changed)")
        let status = try await CourierExecutable.run(["status", "seed"], environment: base)
        #expect(status.standardOutput == "pending\n")
    }

    /// A file another process keeps locked throughout start-up is a configuration problem (exit 2) for every
    /// command, a worker included: it does not wait for it as it waits for a Redis server.
    @Test(arguments: [["submit", "x"], ["worker"]])
    func aLockedFileAtStartIsAConfigurationError(_ arguments: [String]) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "courier-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("queue.sqlite3").path
        let environment = ["QUEUE_TYPE": "sqlite", "SQLITE_PATH": path, "LOG_LEVEL": "warning"]
        let seeded = try await CourierExecutable.run(["submit", "--id", "seed", "payload"], environment: environment)
        try #require(seeded.exitCode == 0, "\(seeded.standardError)")
        var database: OpaquePointer?
        try #require(sqlite3_open(path, &database) == SQLITE_OK)
        defer { sqlite3_close(database) }
        try #require(sqlite3_exec(database, "BEGIN EXCLUSIVE", nil, nil, nil) == SQLITE_OK)
        let outcome = try await CourierExecutable.run(arguments, environment: environment)
        sqlite3_exec(database, "ROLLBACK", nil, nil, nil)
        #expect(outcome.exitCode == 2, "\(outcome.standardError)")
        #expect(outcome.standardError.contains("locked"), "\(outcome.standardError)")
        #expect(outcome.standardError.split(separator: "\n").count == 1)
    }

    /// Every file in `directory` with its bytes: the data, not SQLite's bookkeeping (its `-shm` index, and a
    /// `-wal` file that holds no frames, which readers may create or reset).
    private func snapshot(_ directory: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        for name in names where !name.hasSuffix("-shm") {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            let bytes = isDirectory.boolValue ? Data() : try Data(contentsOf: url)
            if name.hasSuffix("-wal") && bytes.isEmpty { continue }
            files[name] = bytes
        }
        return files
    }

    /// An SQLite database of another application.
    private func makeForeignDatabase(at path: String) throws {
        var database: OpaquePointer?
        guard sqlite3_open(path, &database) == SQLITE_OK else { throw CocoaError(.fileWriteUnknown) }
        defer { sqlite3_close(database) }
        let sql = "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);"
        guard sqlite3_exec(database, sql, nil, nil, nil) == SQLITE_OK else { throw CocoaError(.fileWriteUnknown) }
    }
}
