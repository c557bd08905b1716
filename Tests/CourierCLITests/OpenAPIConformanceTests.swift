import CourierTestSupport
import Foundation
import Subprocess
import Testing

/// docs/openapi.yaml matches the server: schemathesis (installed by scripts/setup) generates requests from the
/// document, valid and invalid, against a live `courier serve`, and checks every answer against it.
@Suite("OpenAPI document against the live gateway")
struct OpenAPIConformanceTests {
    /// The repository's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func schemathesisFindsNothing() async throws {
        let schemathesis =
            ProcessInfo.processInfo.environment["COURIER_SCHEMATHESIS"]
            ?? Self.root.appendingPathComponent(".build/schemathesis/bin/st").path
        try #require(
            FileManager.default.isExecutableFile(atPath: schemathesis),
            "schemathesis is not installed at \(schemathesis); run scripts/setup")
        let port = try LoopbackPort.free()
        let base = "http://127.0.0.1:\(port)"
        let server = try CourierExecutable.start(
            ["serve", "--port", "\(port)", "--handler", "echo"],
            environment: ["QUEUE_TYPE": "memory", "LOG_LEVEL": "warning", "COURIER_HTTP_MAX_WAIT_SECONDS": "1"])
        defer { kill(server, SIGKILL) }
        try await eventually(.seconds(20)) {
            try await GatewayProcessTests.curl(["--max-time", "2", base + "/healthz"]).contains("ok")
        }
        // A fixed seed keeps the suite reproducible; run `st run` without one to explore further.
        let outcome = try await value(within: .seconds(300)) {
            try await Subprocess.run(
                .path(.init(schemathesis)),
                arguments: [
                    "run", Self.root.appendingPathComponent("docs/openapi.yaml").path, "--url", base, "--checks", "all",
                    "--max-examples", "50", "--seed", "1", "--no-color",
                ],
                environment: .inherit.updating(["SCHEMATHESIS_HOOKS": nil]),
                output: .string(limit: 1 << 22), error: .string(limit: 1 << 20))
        }
        let result = try #require(outcome, "schemathesis did not finish within 300 s")
        #expect(
            result.terminationStatus.isSuccess,
            "\(result.standardOutput.suffix(6000))\(result.standardError.suffix(2000))")
    }
}
