import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Synchronization
import Testing

/// `COURIER_GLOBAL_INFLIGHT`: one limit held in Redis for every process, with slots that come back from a
/// holder that crashed.
@Suite("Redis concurrency gate")
struct RedisConcurrencyGateTests {
    @Test func workersOfSeveralProcessesNeverExceedTheSharedLimit() async throws {
        let server = try await RedisTestServer.shared()
        let name = "limit-\(UUID().uuidString.prefix(8))"
        let queueName = "gated-\(UUID().uuidString.prefix(8))"
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        // Three "processes": each its own backend and its own gate instance, four handler slots each.
        var backends: [RedisQueueBackend] = []
        var gates: [RedisConcurrencyGate] = []
        var tasks: [Task<Void, any Error>] = []
        for _ in 0..<3 {
            let backend = try await RedisQueueBackend(
                url: server.url, wakeMode: .pubSub, configuration: QueueConfiguration(queueName: queueName))
            let gate = try await RedisConcurrencyGate(url: server.url, name: name, limit: 2)
            let worker = Worker(
                backend: backend, configuration: .init(concurrency: 4), limits: WorkerLimits(sharedGate: gate)
            ) { request in
                let now = running.add(1, ordering: .relaxed).newValue
                peak.max(now, ordering: .relaxed)
                try await Task.sleep(for: .milliseconds(20))
                running.subtract(1, ordering: .relaxed)
                return request.payload
            }
            backends.append(backend)
            gates.append(gate)
            tasks.append(Task { try await worker.run() })
        }
        let client = backends[0]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<60 {
                group.addTask {
                    let response = try await client.send(
                        QueueRequest(payload: Data("\(index)".utf8)), timeout: .seconds(60))
                    #expect(response.status == .completed)
                }
            }
            try await group.waitForAll()
        }
        #expect(peak.load(ordering: .relaxed) <= 2, "handlers ran \(peak.load(ordering: .relaxed)) at once")
        #expect(peak.load(ordering: .relaxed) == 2, "the gate never let two run at once")
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
        for gate in gates { gate.close() }
        for backend in backends { await backend.shutdown() }
    }

    @Test func aCrashedHoldersSlotComesBackAfterItsLease() async throws {
        let server = try await RedisTestServer.shared()
        let name = "crash-\(UUID().uuidString.prefix(8))"
        let crashed = try await RedisConcurrencyGate(url: server.url, name: name, limit: 1, slotLease: .seconds(1))
        let taken = ContinuousClock.now  // before the slot is taken, so `held` below can only err long
        _ = try await crashed.acquire()
        crashed.close()  // stops renewing without giving the slot back, as a killed process would

        let survivor = try await RedisConcurrencyGate(url: server.url, name: name, limit: 1, slotLease: .seconds(1))
        let permit = try await survivor.acquire()
        // The slot came back only when its lease ran out (a stall can make this later, never sooner).
        let held = taken.duration(to: .now)
        #expect(held >= .milliseconds(900) && held < .seconds(15), "the slot came back after \(held)")
        await survivor.release(permit)
        #expect(survivor.heldPermits == 0)
        survivor.close()
    }

    @Test func aHeldSlotIsRenewedPastItsLease() async throws {
        let server = try await RedisTestServer.shared()
        let name = "renew-\(UUID().uuidString.prefix(8))"
        let holder = try await RedisConcurrencyGate(url: server.url, name: name, limit: 1, slotLease: .seconds(3))
        let other = try await RedisConcurrencyGate(url: server.url, name: name, limit: 1, slotLease: .seconds(3))
        let permit = try await holder.acquire()
        let taken = Atomic<Bool>(false)
        let competitor = Task {
            let permit = try await other.acquire()
            taken.store(true, ordering: .relaxed)
            return permit
        }
        // Well past the 3 s lease: only renewals (every second) keep the slot from going to the competitor.
        try await Task.sleep(for: .seconds(4.5))
        let stolen = taken.load(ordering: .relaxed)
        #expect(!stolen, "the slot expired while its holder still held it")
        await holder.release(permit)
        await other.release(try await competitor.value)
        holder.close()
        other.close()
    }

    @Test func aReleaseWakesAWaiterInAnotherProcessAndCancelledWaitsTakeNothing() async throws {
        let server = try await RedisTestServer.shared()
        let name = "wake-\(UUID().uuidString.prefix(8))"
        let holder = try await RedisConcurrencyGate(url: server.url, name: name, limit: 1)
        let waiter = try await RedisConcurrencyGate(url: server.url, name: name, limit: 1)
        let held = try await holder.acquire()

        let cancelled = Task { try await waiter.acquire() }
        try await Task.sleep(for: .milliseconds(100))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }

        let waiting = Task { try await waiter.acquire() }
        try await Task.sleep(for: .milliseconds(200))
        let released = ContinuousClock.now
        await holder.release(held)
        let permit = try await waiting.value
        #expect(released.duration(to: .now) < .seconds(5))
        #expect(waiter.heldPermits == 1)
        await waiter.release(permit)
        holder.close()
        waiter.close()
    }
}
