import Courier
import Foundation

/// Leaks the kit finds without the harness's resource probe, by counting what the whole process holds.
extension Conformance {
    /// How many waits one round of F9 makes.
    static let waitsPerRound = 1000
    /// How many backends one round of H7 opens and shuts down.
    static let backendsPerRound = 32

    static let resourceCases: [ConformanceCase] = [
        ConformanceCase("F9", "waitsLeaveNothingBehind") { c in
            let backend = try await c.backend()
            // A leak of one file descriptor, thread or small allocation per wait shows in every round; other work
            // in the process does not.
            try await c.expectNoGrowth(
                rule: "rule 6 resources", "\(waitsPerRound) timed-out and cancelled waits",
                allowance: .init(fileDescriptors: waitsPerRound / 10, threads: 50, heapBytes: waitsPerRound * 256),
                settle: c.timing.scaled(c.timing.wakeBound * 5 + .seconds(1))
            ) {
                try await c.timedOutAndCancelledWaits(waitsPerRound) { ending in
                    _ = try await backend.subscribe(to: .generate(), timeout: ending.timeout)
                }
            }
        },
        ConformanceCase("H7", "shutdownLeavesNothingRunning") { c in
            // Each backend does a little of everything (publish, claim, answer, wait) before it is shut down, so
            // whatever it starts lazily is started.
            try await c.expectNoGrowth(
                rule: "rule 8 shutdown", "\(backendsPerRound) backends opened, used and shut down",
                allowance: .init(
                    fileDescriptors: backendsPerRound / 2, threads: backendsPerRound / 2, heapBytes: 8 << 20),
                settle: c.timing.scaled(c.timing.wakeBound * 5 + .seconds(1))
            ) {
                for _ in 0..<backendsPerRound {
                    let backend = try await c.harness.makeBackend(configuration: c.configuration())
                    let watched = WatchedBackend(backend, timing: c.timing)
                    let request = try await c.publish(watched)
                    try await c.answer(watched, try await c.claim(watched, rule: "rule 8 shutdown"))
                    _ = try await c.response(watched, request.correlationID, rule: "rule 8 shutdown")
                    if case .expired = await Deadline.race(c.shutdownBound, { await backend.shutdown() }) {
                        throw ConformanceFailure(
                            rule: "rule 8 shutdown", "shutdown() did not return within \(c.shutdownBound)")
                    }
                }
            }
        },
    ]
}
