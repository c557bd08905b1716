import Courier
import CourierTestSupport
import Foundation
import Testing

@testable import CourierRedis

/// `publishRequestAndWait` sets up the wait before it publishes, so the look for a response stored before the
/// wait began (a `GET` on redis-pubsub and redis-streams) is not needed: one command fewer per round trip.
@Suite("Redis publish and wait")
struct RedisPublishAndWaitTests {
    @Test(arguments: [RedisWakeMode.pubSub, .streams])
    func aWaitSetUpBeforeItsPublishSkipsTheLookForAnEarlierAnswer(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "pw-\(UUID().uuidString.prefix(8))"
        let client = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        let worker = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        let answering = Task {
            for try await delivery in worker.consumeRequests() {
                try await worker.publishResponse(
                    .completed(delivery.request.correlationID, payload: delivery.request.payload),
                    settling: delivery.lease)
            }
        }
        // One round trip first: a connection's first use sends commands of its own (its name, its database).
        let warmUp = QueueRequest(payload: Data("warm-up".utf8))
        _ = try await client.publishRequestAndWait(warmUp, timeout: .seconds(30))
        try await eventually { client.activeWaits == 0 }
        let rounds = 20
        var sent: [Int] = []
        for publishingFirst in [false, true] {
            let before = client.commandsSent
            for index in 0..<rounds {
                let request = QueueRequest(payload: Data("\(publishingFirst) \(index)".utf8))
                let finished: FinishedRequest
                if publishingFirst {
                    finished = try await client.publishRequestAndWait(request, timeout: .seconds(30))
                } else {
                    try await client.publishRequest(request)
                    finished = try await client.subscribeWithStatusReport(
                        to: request.correlationID, timeout: .seconds(30))
                }
                #expect(finished.response.payload == request.payload)
                #expect(finished.report.state == .finished(.completed))
            }
            try await eventually { client.activeWaits == 0 }
            sent.append(client.commandsSent - before)
        }
        // Publish then wait: the publish script, SUBSCRIBE, GET, UNSUBSCRIBE. Waiting first: no GET.
        #expect(sent[0] == 4 * rounds, "publish, then wait: \(sent[0]) commands for \(rounds) round trips")
        #expect(sent[1] == 3 * rounds, "wait, then publish: \(sent[1]) commands for \(rounds) round trips")
        answering.cancel()
        await worker.shutdown()
        await client.shutdown()
    }

    @Test(arguments: RedisWakeMode.allCases)
    func waitsThatRunOutOrAreRefusedLeaveTheirRequestsAsTheContractSaysAndNothingBehind(
        _ mode: RedisWakeMode
    ) async throws {
        let server = try await RedisTestServer.shared()
        let namespace = "pw-\(UUID().uuidString.prefix(8))"
        let client = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        // Waits that run out at once, most of them before their watch is in place: each request is published
        // by the time the caller hears of the timeout.
        var ids: [CorrelationID] = []
        for index in 0..<30 {
            let request = QueueRequest(payload: Data("\(index)".utf8))
            ids.append(request.correlationID)
            do {
                _ = try await client.publishRequestAndWait(request, timeout: .milliseconds(index % 3))
                Issue.record("a wait nobody answers returned")
            } catch let error as CourierError {
                #expect(error.code == .timedOut)
            }
            #expect(try await client.status(of: request.correlationID) == .pending(attempt: 1))
        }
        // A known id is refused, and its request stays as it was.
        let known = QueueRequest(correlationID: ids[0], payload: Data("other".utf8))
        do {
            _ = try await client.publishRequestAndWait(known, timeout: .seconds(5))
            Issue.record("a known id was published again")
        } catch let error as CourierError {
            #expect(error.code == .duplicateRequest)
        }
        #expect(try await client.pendingRequestCount() == 30)
        try await eventually(.seconds(10)) { client.activeWaits == 0 }
        await client.shutdown()
    }
}
