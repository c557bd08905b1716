import Courier
import Foundation

/// Publishing and waiting in one call: on redis-pubsub and redis-streams the response comes on the instance's own
/// reply channel, so the wait costs no `SUBSCRIBE`, `GET` or `UNSUBSCRIBE` of its own.
extension RedisQueueBackend {
    /// Publishes a request and waits for its response with its status report. See
    /// ``QueueBackend/publishRequestAndWait(_:timeout:)``.
    ///
    /// On redis-pubsub and redis-streams the waiter is registered before the publish, and the request names the
    /// instance's reply channel (subscribed once, at the first call), on which the script that stores its
    /// response publishes it too: the publish script is the round trip's only command from this instance.
    /// redis-list publishes, then waits as ``subscribeWithStatusReport(to:timeout:)`` does.
    /// - Throws: As ``publishRequest(_:)``, and then nothing waits: a `duplicateRequest` leaves the existing
    ///   request as it was. ``CourierError`` with code `timedOut` when `timeout` passes after the publish with no
    ///   response stored (looked for once then), `shutDown`, `backendUnavailable`; `CancellationError`.
    public func publishRequestAndWait(_ request: QueueRequest, timeout: Duration) async throws -> FinishedRequest {
        try checkPublishable(request)
        guard let replyChannel = try await channel.replyChannel() else {
            try await publish(request, replyChannel: nil)
            return try await subscribeWithStatusReport(to: request.correlationID, timeout: timeout)
        }
        let id = request.correlationID
        let token = waiters.makeToken()
        guard waiters.expect(id, token: token) else { throw CourierError(.shutDown, "the Redis queue was shut down") }
        do {
            try await publish(request, replyChannel: replyChannel)
        } catch {
            waiters.remove(id, token: token, with: error)
            throw error
        }
        let stored: RedisStoredResponse
        do {
            stored = try await waitForReply(id, token: token, timeout: timeout)
        } catch let error as CourierError where error.code == .timedOut {
            // A store script that does not know reply channels (a worker of an older version) publishes only on
            // `done:<id>`: a response it stored is found here, at the wait's end, rather than reported as missing.
            guard let late = try await store.storedResponse(id, on: commands) else { throw error }
            stored = late
        }
        return try await finished(stored)
    }

    /// Waits for the reply to a request published with the reply channel by a waiter registered before the publish.
    private func waitForReply(_ id: CorrelationID, token: UInt64, timeout: Duration) async throws -> RedisStoredResponse
    {
        // Answered before the wait began (the reply can overtake the publish's own reply): `wait` resumes it at once.
        try await suspend(id, token: token, timeout: timeout) { [waiters] in waiters.wait($0, on: id, token: token) }
    }
}
