import Foundation

/// Thrown by ``eventually(_:_:)`` when its condition did not hold in time.
public struct ConditionTimedOut: Error, CustomStringConvertible {
    /// What the test waited for, and for how long.
    public let description: String
}

/// Checks `condition` every 20 ms until it holds; throws ``ConditionTimedOut`` (failing the test) when `limit`
/// passes first. Every wait in a test is bounded this way.
public func eventually(
    _ limit: Duration = .seconds(30), file: String = #fileID, line: Int = #line,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw ConditionTimedOut(description: "the condition at \(file):\(line) did not hold within \(limit)")
}

/// Whether process `pid` exists and is not a zombie (Linux `/proc`).
public func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
}
