import CourierTestSupport
import Foundation
import Subprocess
import Testing

/// Every ```` ```sh ```` block in README.md and docs/ runs as written, in a fresh directory where `courier` and
/// `.build/release/courier` are the built binary, and exits 0. Only two kinds of change are made, both listed
/// here: large request counts are scaled down, and a few lines that build release binaries or are the test
/// suite itself are not run (each with its reason).
@Suite("documented shell examples", .serialized)
struct DocumentedExamplesTests {
    struct Example: Sendable, CustomTestStringConvertible {
        var file: String
        var line: Int
        var script: String
        var testDescription: String { "\(file):\(line)" }
    }

    /// Lines not run here, by how they start, with the reason.
    static let notRunHere: [(start: String, reason: String)] = [
        ("scripts/demo", ".ci/run runs it on every submission"),
        ("scripts/test", "it is this test suite"),
        (
            "scripts/bench-redis",
            "it builds a release binary and runs for minutes; it is how docs/performance.md is made"
        ),
        (
            "scripts/bench-streaming",
            "it builds a release binary, starts redis-server and runs for minutes; it is how docs/performance.md is made"
        ),
        (
            "scripts/bench-gateway",
            "it builds a release binary, installs the FastAPI peer and runs for minutes; it is how docs/performance.md is made"
        ),
        ("cd Benchmarks", "it builds the benchmark package, which takes minutes"),
        ("redis-cli X", "it inspects a running queue's stream; RedisStreamsTests checks what XINFO and XPENDING show"),
        (".build/schemathesis/bin/st", "OpenAPIConformanceTests runs it against a live gateway"),
        ("redis-server --port 6399", "the test starts its own server (for the Benchmarks line above)"),
    ]

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The shell blocks of README.md and every Markdown file under docs/.
    static func examples() -> [Example] {
        var files = ["README.md"]
        let docs = repositoryRoot.appendingPathComponent("docs")
        if let enumerator = FileManager.default.enumerator(atPath: docs.path) {
            for case let name as String in enumerator where name.hasSuffix(".md") { files.append("docs/\(name)") }
        }
        var examples: [Example] = []
        for file in files.sorted() {
            guard let text = try? String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8)
            else { continue }
            var current: (line: Int, lines: [String])?
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if current == nil, line.hasPrefix("```sh") || line.hasPrefix("```bash") {
                    current = (index + 1, [])
                } else if let block = current, line.hasPrefix("```") {
                    examples.append(Example(file: file, line: block.line, script: block.lines.joined(separator: "\n")))
                    current = nil
                } else if current != nil {
                    current?.lines.append(String(line))
                }
            }
        }
        return examples
    }

    @Test func everyDocumentHasItsExamplesFound() {
        let found = Set(Self.examples().map(\.file))
        #expect(found.contains("README.md"))
        #expect(found.contains("docs/performance.md"))
    }

    /// The documents that hold shell examples.
    static func documents() -> [String] {
        var seen: [String] = []
        for example in examples() where !seen.contains(example.file) { seen.append(example.file) }
        return seen
    }

    /// Runs the blocks of one document in order, in one fresh directory, as a reader following along would
    /// (each block in a new shell: variables do not carry over, files do).
    @Test(arguments: documents())
    func runsAsDocumented(_ document: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "courier-doc-\(UUID().uuidString)")
        let bin = directory.appendingPathComponent("bin")
        for folder in ["bin", ".build/release", ".build/debug"] {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        for link in ["bin/courier", ".build/release/courier", ".build/debug/courier"] {
            try FileManager.default.createSymbolicLink(
                atPath: directory.appendingPathComponent(link).path, withDestinationPath: CourierExecutable.url.path)
        }
        for example in Self.examples() where example.file == document {
            try await run(example, in: directory, bin: bin)
        }
    }

    private func run(_ example: Example, in directory: URL, bin: URL) async throws {
        var redis: RedisTestServer?
        if example.script.contains("redis://") { redis = try await RedisTestServer.start() }
        let script = Self.prepare(example.script, redisURL: redis?.url)
        // Every block must finish within two minutes; background jobs are stopped when it ends.
        let prelude = """
            set -euo pipefail
            stop() { for job in $(jobs -p); do kill "$job" 2>/dev/null || true; done; wait 2>/dev/null || true; }
            trap stop EXIT
            trap 'exit 124' TERM
            ( sleep 120; kill -TERM $$ ) & watchdog=$!; disown $watchdog

            """
        var environment: [Environment.Key: String?] = [
            "PATH": bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "LOG_LEVEL": "warning",
        ]
        for name in ["QUEUE_TYPE", "SQLITE_PATH", "REDIS_URL", "QUEUE_NAME", "COURIER_GLOBAL_INFLIGHT"] {
            environment[Environment.Key(stringLiteral: name)] = .some(nil)
        }
        var platform = PlatformOptions()
        platform.processGroupID = 0
        let result = try await Subprocess.run(
            .path("/bin/bash"), arguments: ["-c", prelude + script], environment: .inherit.updating(environment),
            workingDirectory: .init(directory.path), platformOptions: platform, output: .string(limit: 1 << 20),
            error: .string(limit: 1 << 20))
        kill(-result.processIdentifier.value, SIGKILL)  // the watchdog and anything the block left behind
        await redis?.stop()
        #expect(
            result.terminationStatus == .exited(0),
            """
            \(example.file):\(example.line) failed:
            \(script)
            --- stdout
            \(result.standardOutput)
            --- stderr
            \(result.standardError)
            """)
    }

    /// The block as run here: big request counts scaled down, the documentation's Redis URL pointed at the test's
    /// server, and the lines of ``notRunHere`` replaced by a comment.
    static func prepare(_ script: String, redisURL: String?) -> String {
        script.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var text = String(line)
            if let skipped = notRunHere.first(where: { text.hasPrefix($0.start) }) {
                return ": # not run here: \(skipped.reason)"
            }
            text = text.replacing(/--requests [0-9]{4,}/, with: "--requests 300")
            text = text.replacing(/i < [0-9]{5,}/, with: "i < 2000")
            if let redisURL { text = text.replacing(/redis:\/\/[^ ]*@redis-host:[0-9]+\/[0-9]+/, with: redisURL) }
            return text
        }.joined(separator: "\n")
    }
}
