import Courier
import CourierTestSupport
import Foundation
import Testing

@testable import CourierRedis

/// `publishRequestAndWait` registers its waiter before it publishes, and the response comes on the instance's reply
/// channel: on redis-pubsub and redis-streams the publish script is the round trip's only command (a plain wait
/// adds `SUBSCRIBE`, `GET` and `UNSUBSCRIBE`).
@Suite("Redis publish and wait")
struct RedisPublishAndWaitTests {
    /// Two instances on one queue of `server`, as a client process and a worker process would hold them.
    static func clientAndWorker(
        _ mode: RedisWakeMode, _ server: RedisTestServer
    ) async throws -> (client: RedisQueueBackend, worker: RedisQueueBackend) {
        let namespace = "pw-\(UUID().uuidString.prefix(8))"
        let client = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        let worker = try await RedisResourceTests.backend(mode, server, namespace: namespace, lease: .seconds(60))
        return (client, worker)
    }

    /// A plain wait that joins a publish-and-wait on the same id still gets the id watched: the publish-and-wait's
    /// waiter hears only the instance's reply channel, which a request published by another instance does not
    /// name. Before, the plain wait counted as joining a watched id and slept through the answer to its timeout.
    @Test(arguments: [RedisWakeMode.pubSub, .streams])
    func aWaitThatJoinsAPublishAndWaitOnTheSameIdIsStillWoken(_ mode: RedisWakeMode) async throws {
        // A server of its own: the test pauses its writes.
        let server = try await RedisTestServer.start()
        let (client, worker) = try await Self.clientAndWorker(mode, server)
        let request = QueueRequest(payload: Data("asked elsewhere".utf8))
        try await worker.publishRequest(request)
        _ = try await client.channel.replyChannel()
        // The publish-and-wait registers its waiter, then its publish (a script: a write) waits out the pause.
        _ = try server.command("CLIENT", "PAUSE", "3000", "WRITE")
        let duplicate = Task { try await client.publishRequestAndWait(request, timeout: .seconds(30)) }
        try await eventually { client.activeWaits >= 1 }
        let waiting = Task { try await client.subscribe(to: request.correlationID, timeout: .seconds(60)) }
        // Its watch is set up (SUBSCRIBE and a read are not writes): one waiting id and one subscription.
        try await eventually { client.activeWaits >= 2 }
        await #expect(throws: CourierError.self) { try await duplicate.value }

        var consumer = worker.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await consumer.next())
        _ = try await worker.publishResponse(
            .completed(request.correlationID, payload: Data("answer".utf8)), settling: delivery.lease)
        let response = try await value(within: .seconds(20)) { try await waiting.value }
        #expect(response?.payload == Data("answer".utf8))
        try await eventually { client.activeWaits == 0 }
        await client.shutdown()
        await worker.shutdown()
        await server.stop()
    }

    @Test(arguments: [RedisWakeMode.pubSub, .streams])
    func aWaitSetUpBeforeItsPublishSkipsTheLookForAnEarlierAnswer(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.shared()
        let (client, worker) = try await Self.clientAndWorker(mode, server)
        let answering = Task {
            for try await delivery in worker.consumeRequests() {
                _ = try await worker.publishResponse(
                    .completed(delivery.request.correlationID, payload: delivery.request.payload),
                    settling: delivery.lease)
            }
        }
        // One round trip first: a connection's first use sends commands of its own (its name, its database), and
        // the first publish and wait subscribes to the reply channel.
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
        // Publish then wait: the publish script, SUBSCRIBE, GET, UNSUBSCRIBE. Publish and wait: the publish script.
        #expect(sent[0] == 4 * rounds, "publish, then wait: \(sent[0]) commands for \(rounds) round trips")
        #expect(sent[1] == rounds, "publish and wait: \(sent[1]) commands for \(rounds) round trips")
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

    /// A reply published while the instance's subscriber connection is down is lost; the look every waiter gets after
    /// the reconnect finds the stored response.
    @Test(arguments: [RedisWakeMode.pubSub, .streams])
    func aReplyLostWhileTheSubscriberIsDisconnectedStillArrives(_ mode: RedisWakeMode) async throws {
        let server = try await RedisTestServer.start()
        let (client, worker) = try await Self.clientAndWorker(mode, server)
        let request = QueueRequest(payload: Data("lost reply".utf8))
        // A wait far longer than the bound below: its end would look for the stored response too.
        let waiting = Task { try await client.publishRequestAndWait(request, timeout: .seconds(600)) }
        var consumer = worker.consumeRequests().makeAsyncIterator()
        let delivery = try #require(try await consumer.next())
        // Only the client's subscriber is a pub/sub connection on this server. With a password required, the
        // connections already open stay authenticated but the subscriber cannot come back: the answer is published
        // while it is away.
        _ = try server.command("CONFIG", "SET", "requirepass", "away")
        let authenticated = RedisTestClient(port: server.port, password: "away")
        _ = try authenticated.run(["CLIENT", "KILL", "TYPE", "pubsub"])
        _ = try await worker.publishResponse(
            .completed(request.correlationID, payload: Data("answered".utf8)), settling: delivery.lease)
        _ = try authenticated.run(["CONFIG", "SET", "requirepass", ""])
        let arrived = try await value(within: .seconds(60)) { try await waiting.value }
        let finished = try #require(arrived, "the reply did not arrive after the reconnect")
        #expect(finished.response.payload == Data("answered".utf8))
        #expect(finished.report.state == .finished(.completed))
        try await eventually { client.activeWaits == 0 }
        await worker.shutdown()
        await client.shutdown()
        await server.stop()
    }
}
