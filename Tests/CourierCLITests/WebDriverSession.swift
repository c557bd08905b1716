import Foundation
import Subprocess
import Testing

/// A headless Chromium driven through chromedriver's W3C WebDriver API: what a person's browser does, scripted.
/// Every call is bounded; ``close()`` ends the browser and the driver.
final class WebDriverSession: @unchecked Sendable {
    private let driver: Process
    private let base: String
    private var session = ""

    /// Starts chromedriver on `port` and a headless Chromium session with a `width`×`height` window.
    init(port: Int, width: Int = 1280, height: Int = 900) async throws {
        let executable = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let executable else {
            throw WebDriverError("chromedriver is not installed (scripts/setup installs chromium-driver)")
        }
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: executable)
        driver.arguments = ["--port=\(port)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        base = "http://127.0.0.1:\(port)"
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        var lastError: (any Error)?
        while true {
            do {
                _ = try await call("GET", "/status")
                break
            } catch { lastError = error }
            guard ContinuousClock.now < deadline else {
                throw WebDriverError("chromedriver did not start: \(String(describing: lastError))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let options: [String: Any] = [
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=\(width),\(height)"],
        ]
        let capabilities = ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": options]]
        let value = try await call("POST", "/session", ["capabilities": capabilities])
        session = try #require((value as? [String: Any])?["sessionId"] as? String)
    }

    /// Loads `url` and waits for the page's load event.
    func open(_ url: String) async throws { _ = try await call("POST", "/session/\(session)/url", ["url": url]) }

    /// Runs `script` (a function body that may `return` a value) in the page and returns its result.
    func evaluate(_ script: String) async throws -> Any? {
        try await call("POST", "/session/\(session)/execute/sync", ["script": script, "args": []])
    }

    /// Clicks the first element that `selector` (CSS) matches, as a mouse would. An element the page replaced
    /// between finding and clicking it (a live page re-renders) is found again, up to five times.
    func click(_ selector: String) async throws {
        for attempt in 1...5 {
            let found = try await call(
                "POST", "/session/\(session)/element", ["using": "css selector", "value": selector])
            guard let element = (found as? [String: Any])?.values.first as? String else {
                throw WebDriverError("no element matches \(selector)")
            }
            do {
                _ = try await call("POST", "/session/\(session)/element/\(element)/click", [:])
                return
            } catch let error as WebDriverError where error.description.contains("stale element") && attempt < 5 {
                continue
            }
        }
    }

    /// A PNG of the window.
    func screenshot() async throws -> Data {
        let encoded = try #require(try await call("GET", "/session/\(session)/screenshot") as? String)
        return try #require(Data(base64Encoded: encoded))
    }

    /// Ends the session and stops chromedriver.
    func close() async {
        if !session.isEmpty { _ = try? await call("DELETE", "/session/\(session)") }
        // Not waited for: the test process reaps its children elsewhere, and a wait here could last forever.
        kill(driver.processIdentifier, SIGKILL)
    }

    /// Sends one WebDriver command (through curl, bounded by its `--max-time`) and returns its `value`.
    private func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        var arguments = ["-s", "--max-time", "30", "-X", method, "-w", "\n%{http_code}"]
        var input = Data()
        if let body {
            input = try JSONSerialization.data(withJSONObject: body)
            arguments += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        }
        let result = try await Subprocess.run(
            .name("curl"), arguments: Arguments(arguments + [base + path]), input: .data(input),
            output: .data(limit: 64 << 20), error: .discarded)
        let text = String(decoding: result.standardOutput, as: UTF8.self)
        guard let newline = text.lastIndex(of: "\n"), text[text.index(after: newline)...] == "200" else {
            throw WebDriverError("\(method) \(path): \(text.prefix(500))")
        }
        let object = try JSONSerialization.jsonObject(with: Data(text[..<newline].utf8)) as? [String: Any]
        let value = object?["value"]
        return value is NSNull ? nil : value
    }
}

struct WebDriverError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
