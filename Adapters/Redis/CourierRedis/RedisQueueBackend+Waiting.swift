import Courier
import Foundation

/// Waiting for responses: a wait registers in ``RedisWaiters``, the first wait on an id starts the id's watch on
/// the wake channel, and the wake-up, or the look for a response stored before the watch began, resolves every
/// wait on the id.
extension RedisQueueBackend {
    typealias Continuation = CheckedContinuation<RedisStoredResponse, any Error>

    /// Waits for a response without polling. See ``QueueBackend/subscribe(to:timeout:)``.
    /// - Throws: ``CourierError`` with code `timedOut`, `backendUnavailable` or `shutDown`; `CancellationError`.
    public func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        try await waitForResponse(correlationID, timeout: timeout).response
    }

    /// Waits for a response without polling and takes its status report from the wake-up or from the read that
    /// found it already stored, which both carry it (a response stored by an older version is read with its
    /// report read after it). See
    /// ``QueueBackend/subscribeWithStatusReport(to:timeout:)``.
    /// - Throws: ``CourierError`` with code `timedOut`, `backendUnavailable` or `shutDown`; `CancellationError`.
    public func subscribeWithStatusReport(
        to correlationID: CorrelationID, timeout: Duration
    ) async throws -> FinishedRequest {
        try await finished(try await waitForResponse(correlationID, timeout: timeout))
    }

    /// A response with its status report: the one its stored form carries, else the report read now.
    func finished(_ stored: RedisStoredResponse) async throws -> FinishedRequest {
        if let report = stored.report { return FinishedRequest(response: stored.response, report: report) }
        return FinishedRequest(
            response: stored.response, reportRead: try await statusReport(of: stored.response.correlationID))
    }

    /// Waits for the response to `correlationID` (and its report, when the wake-up brings it).
    private func waitForResponse(_ correlationID: CorrelationID, timeout: Duration) async throws -> RedisStoredResponse
    {
        try checkOpen()
        let token = waiters.makeToken()
        let (waiters, channel) = (self.waiters, self.channel)
        return try await suspend(correlationID, token: token, timeout: timeout) { continuation in
            switch waiters.add(correlationID, token: token, continuation) {
            case .closed:
                continuation.resume(throwing: CourierError(.shutDown, "the Redis queue was shut down"))
                return false
            case .first:
                Task { await Self.watch(correlationID, for: timeout, channel: channel, waiters: waiters) }
            case .joined:
                break
            }
            return true
        }
    }

    /// Suspends as waiter `token` on `id` until it is resumed (a response or a failure), `timeout` passes (it then
    /// throws `timedOut`) or its task is cancelled. `register` gives the waiter its continuation and returns false
    /// when that was already resumed. A waiter that leaves on its own as the last one on its id stops the id's
    /// watch, if it has one: both kinds of waiter do, so a watch set up for one is never left behind by the other.
    func suspend(
        _ id: CorrelationID, token: UInt64, timeout: Duration, register: (Continuation) -> Bool
    ) async throws -> RedisStoredResponse {
        let (waiters, channel) = (self.waiters, self.channel)
        let leave: @Sendable (any Error) -> Void = { error in
            if waiters.remove(id, token: token, with: error) { channel.stopWatching(id, answered: false) }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard register(continuation) else { return }
                if Task.isCancelled { return leave(CancellationError()) }
                let timer = timeouts.schedule(after: timeout) {
                    leave(CourierError(.timedOut, "no response to \(id) within \(timeout)"))
                }
                waiters.attach(timeout: timer, to: id, token: token)
            }
        } onCancel: {
            leave(CancellationError())
        }
    }

    private static func watch(
        _ id: CorrelationID, for time: Duration, channel: any RedisWakeChannel, waiters: RedisWaiters
    ) async {
        var retry = Duration.milliseconds(50)
        while true {
            do {
                if let stored = try await channel.startWatching(id, for: time), waiters.resolve(stored) {
                    channel.stopWatching(id, answered: true)
                    return
                }
                break
            } catch let error as CourierError where error.code == .backendUnavailable && waiters.isWaiting(on: id) {
                // The connection was lost while the watch was being set up (a restart, say): whether it took
                // effect is unknown, and starting it again is harmless, so try again while anybody waits; the
                // waiters' own timeouts bound this.
                try? await Task.sleep(for: retry)
                retry = min(retry * 2, .seconds(1))
            } catch {
                if waiters.fail(id, with: error) { channel.stopWatching(id, answered: false) }
                break
            }
        }
        // Every waiter may have left (timed out, cancelled) while the subscription was being set up; its
        // stopWatching then found nothing to stop, so the watch this task just opened must be closed here.
        if !waiters.isWaiting(on: id) { channel.stopWatching(id, answered: false) }
    }

    /// Looks up stored responses for waiters whose notification may have been lost.
    static func recheck(
        _ ids: [CorrelationID], store: RedisQueueStore, commands: RedisConnection, settle: RedisSettle
    ) async {
        for start in stride(from: 0, to: ids.count, by: 500) {
            let batch = Array(ids[start..<min(start + 500, ids.count)])
            guard let found = try? await store.storedResponses(batch, on: commands) else { return }
            for stored in found { settle.resolve(stored) }
        }
    }
}
