import Courier
import Synchronization
import Testing

@Suite("TimeoutScheduler")
struct TimeoutSchedulerTests {
    @Test func actionsRunOnceAtTheirDeadlinesAndCancelledOnesNever() async throws {
        let scheduler = TimeoutScheduler()
        let fired = Mutex<[Int]>([])
        scheduler.schedule(after: .milliseconds(300)) { fired.withLock { $0.append(3) } }
        let cancelled = scheduler.schedule(after: .milliseconds(400)) { fired.withLock { $0.append(99) } }
        scheduler.schedule(after: .milliseconds(200)) { fired.withLock { $0.append(2) } }
        // Earlier than everything scheduled so far: the timer must be re-armed.
        scheduler.schedule(after: .milliseconds(20)) { fired.withLock { $0.append(1) } }
        scheduler.cancel(cancelled)
        scheduler.cancel(cancelled)
        let started = ContinuousClock.now
        while fired.withLock({ $0.count }) < 3, started.duration(to: .now) < .seconds(20) {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(fired.withLock { $0 } == [1, 2, 3])
        #expect(scheduler.pendingCount == 0)
    }

    @Test func manyCancelledTimeoutsLeaveNothingBehind() async throws {
        let scheduler = TimeoutScheduler()
        let fired = Atomic<Int>(0)
        for _ in 0..<10_000 {
            let token = scheduler.schedule(after: .seconds(300)) { fired.add(1, ordering: .relaxed) }
            scheduler.cancel(token)
        }
        #expect(scheduler.pendingCount == 0)
        // Far enough out that a loaded machine cannot reach the deadline before close() runs.
        scheduler.schedule(after: .milliseconds(500)) { fired.add(1, ordering: .relaxed) }
        scheduler.close()
        try await Task.sleep(for: .milliseconds(800))
        #expect(fired.load(ordering: .relaxed) == 0, "close() cancels what was pending")
    }
}
