import Courier

extension ConformanceContext {
    /// Runs `count` waits at once, half ending by a short timeout and half cancelled a few milliseconds in:
    /// `wait(timeout)` is the adapter call (a `subscribe`, a `waitForEvents`, a reader).
    func timedOutAndCancelledWaits(
        _ count: Int, _ wait: @escaping @Sendable (Duration) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    if index.isMultiple(of: 2) {
                        try? await wait(.milliseconds(20))
                    } else {
                        let task = Task { try await wait(.seconds(60)) }
                        try await Task.sleep(for: .milliseconds(5))
                        task.cancel()
                        _ = await task.result
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
