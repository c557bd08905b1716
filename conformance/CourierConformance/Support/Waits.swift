import Courier

extension ConformanceContext {
    /// How one of ``timedOutAndCancelledWaits(_:_:)``'s waits is meant to end.
    enum WaitEnding: Sendable {
        /// By its own short timeout.
        case timeout(Duration)
        /// By the cancellation of its task a few milliseconds in (its timeout, if it has one, is long).
        case cancellation(longTimeout: Duration)
    }

    /// Runs `count` waits at once, half ending by a short timeout and half cancelled a few milliseconds in:
    /// `wait(ending)` is the adapter call (a `subscribe`, a `waitForEvents`, a reader).
    func timedOutAndCancelledWaits(
        _ count: Int, _ wait: @escaping @Sendable (WaitEnding) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    if index.isMultiple(of: 2) {
                        try? await wait(.timeout(.milliseconds(20)))
                    } else {
                        let task = Task { try await wait(.cancellation(longTimeout: .seconds(60))) }
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

extension ConformanceContext.WaitEnding {
    /// The timeout to give the adapter call.
    var timeout: Duration {
        switch self {
        case .timeout(let timeout): timeout
        case .cancellation(let longTimeout): longTimeout
        }
    }
}
