import Courier
import Foundation

/// Waiting for responses: a wait registers in ``RedisWaiters``, the first wait on an id starts the id's watch on
/// the wake channel, and the wake-up, or the look for a response stored before the watch began, resolves every
/// wait on the id.
extension RedisQueueBackend {
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
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                switch waiters.add(correlationID, token: token, continuation) {
                case .closed:
                    continuation.resume(throwing: CourierError(.shutDown, "the Redis queue was shut down"))
                    return
                case .first:
                    Task { await Self.watch(correlationID, for: timeout, channel: channel, waiters: waiters) }
                case .joined:
                    break
                }
                if Task.isCancelled {
                    if waiters.remove(correlationID, token: token, with: CancellationError()) {
                        channel.stopWatching(correlationID, answered: false)
                    }
                    return
                }
                let timer = timeouts.schedule(after: timeout) {
                    let error = CourierError(.timedOut, "no response to \(correlationID) within \(timeout)")
                    if waiters.remove(correlationID, token: token, with: error) {
                        channel.stopWatching(correlationID, answered: false)
                    }
                }
                waiters.attach(timeout: timer, to: correlationID, token: token)
            }
        } onCancel: {
            if waiters.remove(correlationID, token: token, with: CancellationError()) {
                channel.stopWatching(correlationID, answered: false)
            }
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
