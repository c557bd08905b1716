import CourierTestSupport
import Foundation
import Testing

/// The dashboard at `/` in a real headless Chromium, as an operator uses it: a task submitted over HTTP appears,
/// selecting it shows its progress moving and its output streaming in, it ends completed, and the cancel button
/// cancels a running task. The page must reach nothing but the gateway (its content security policy allows
/// nothing else). Set `COURIER_DASHBOARD_SCREENSHOT` to a path to keep the screenshot (docs/dashboard.png is
/// made that way).
@Suite("The dashboard in a headless browser", .serialized)
struct DashboardBrowserTests {
    /// Polls `script` in the page until it returns something other than null or false, for up to `limit`.
    static func waitFor(
        _ browser: WebDriverSession, _ what: String, within limit: Duration = .seconds(15), _ script: String
    ) async throws -> Any {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if let value = try await browser.evaluate(script), (value as? Bool) != false { return value }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw WebDriverError("the page did not show \(what) within \(limit)")
    }

    @Test func anOperatorWatchesATaskFinishAndCancelsAnother() async throws {
        let port = try LoopbackPort.free()
        let base = "http://127.0.0.1:\(port)"
        let server = try CourierExecutable.start(
            ["serve", "--port", "\(port)", "--handler", "chat"],
            environment: ["QUEUE_TYPE": "memory", "LOG_LEVEL": "warning"])
        defer { kill(server, SIGKILL) }
        try await eventually(.seconds(20)) {
            try await GatewayProcessTests.curl(["--max-time", "2", base + "/healthz"]).contains("ok")
        }
        let browser = try await WebDriverSession(port: try LoopbackPort.free())
        do {
            try await browser.open(base + "/")
            _ = try await Self.waitFor(browser, "the counts", #"return document.querySelector(".count") !== null"#)

            // A long question: the chat handler answers a word every 80 ms, so it runs for about seven seconds.
            let question = (1...80).map { "word\($0)" }.joined(separator: " ")
            let submitted = try await GatewayProcessTests.curl([
                "--max-time", "10", "-X", "POST", "-H", "Content-Type: application/json", "-H",
                "Idempotency-Key: watched", "--data-binary", #"{"message": "\#(question)"}"#,
                base + "/v1/tasks/submit",
            ])
            #expect(submitted.contains(#""task_id":"watched""#), "\(submitted)")
            _ = try await Self.waitFor(
                browser, "the new task", #"return document.querySelector('tr[data-id="watched"]') !== null"#)
            try await browser.click(#"tr[data-id="watched"]"#)

            // The selected task's bar moves and its output grows while it runs.
            var widths: Set<String> = []
            let deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while ContinuousClock.now < deadline {
                let state =
                    try await browser.evaluate(
                        #"return [document.getElementById("detail-bar").style.width, document.getElementById("detail-status").textContent]"#
                    ) as? [String]
                if let state, state[1] == "running", state[0] != "0%" { widths.insert(state[0]) }
                if let status = state?[1], !["–", "pending", "running"].contains(status) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(widths.count >= 3, "the progress bar showed \(widths.sorted()) while the task ran")
            _ = try await Self.waitFor(
                browser, "the task completed in the table",
                #"return document.querySelector('tr[data-id="watched"]').dataset.status === "completed""#)
            let output = try await browser.evaluate(#"return document.getElementById("output").textContent"#) as? String
            #expect(output == "You asked: " + question, "the output panel shows \(output ?? "nothing")")
            #expect(
                try await browser.evaluate(#"return document.getElementById("detail-bar").style.width"#) as? String
                    == "100%")

            // Another task, cancelled from the page while it runs.
            _ = try await GatewayProcessTests.curl([
                "--max-time", "10", "-X", "POST", "-H", "Idempotency-Key: doomed", "--data-binary", question,
                base + "/v1/tasks/submit",
            ])
            _ = try await Self.waitFor(
                browser, "the second task", #"return document.querySelector('tr[data-id="doomed"]') !== null"#)
            try await browser.click(#"tr[data-id="doomed"]"#)
            _ = try await Self.waitFor(
                browser, "the second task running",
                #"return document.getElementById("detail-status").textContent === "running" && !document.getElementById("cancel").disabled"#
            )
            try await browser.click("#cancel")
            _ = try await Self.waitFor(
                browser, "the task cancelled",
                #"return document.querySelector('tr[data-id="doomed"]').dataset.status === "cancelled""#)
            let status = try await GatewayProcessTests.curl(["--max-time", "5", base + "/v1/tasks/doomed/status"])
            #expect(status.contains(#""status":"cancelled""#), "\(status)")
            _ = try await Self.waitFor(
                browser, "the counts",
                #"return document.querySelector('.count[data-name="cancelled"] b')?.textContent === "1""#)

            try await browser.click(#"tr[data-id="watched"]"#)
            _ = try await Self.waitFor(
                browser, "the finished task's output again",
                #"return document.getElementById("output").textContent.startsWith("You asked:")"#)
            _ = try await Self.waitFor(
                browser, "the finished task's attempt",
                #"return document.getElementById("detail-attempt").textContent === "1""#)
            try await Task.sleep(for: .milliseconds(500))  // the bar's width transition
            let png = try await browser.screenshot()
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG screenshot")
            let path =
                ProcessInfo.processInfo.environment["COURIER_DASHBOARD_SCREENSHOT"]
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("courier-dashboard.png").path
            try png.write(to: URL(fileURLWithPath: path))
        } catch {
            await browser.close()
            throw error
        }
        await browser.close()
    }
}
