import Courier
import Foundation
import Synchronization

/// Waiting for responses: a wait registers in ``RedisWaiters``, the first wait on an id starts the id's watch on
/// the wake channel, and the wake-up, or the look for a response stored before the watch began, resolves every
/// wait on the id.
extension RedisQueueBackend {
    /// Publishes a request once its wait is in place, then waits for the response: the request cannot be answered
    /// before the watch began, so the look for a stored response that a plain wait needs is saved (a `GET` on
    /// redis-pubsub and redis-streams). See ``QueueBackend/publishRequestAndWait(_:timeout:)``.
    /// - Throws: As ``publishRequest(_:)`` (then nothing waits); ``CourierError`` with code `timedOut` with the
    ///   request published; otherwise as ``subscribeWithStatusReport(to:timeout:)``.
    public func publishRequestAndWait(_ request: QueueRequest, timeout: Duration) async throws -> FinishedRequest {
        try configuration.checkPayloadSize(request.payload.count, of: "the request payload")
        try request.checkFingerprint()
        let (store, commands) = (self.store, self.commands)
        let publish = PublishOnce { [weak self] in
            try await store.publish(request, on: commands)
            self?.watchDeadline(of: request)
        }
        do {
            return try await finished(try await waitForResponse(request.correlationID, timeout: timeout, publish))
        } catch let error as CourierError where error.code == .timedOut {
            // The wait ran out, perhaps before the watch was in place: the request is published (or its error
            // reported) before the caller hears of the timeout.
            try await publish.perform()
            throw error
        }
    }

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

    /// The response with its report: the one the wake-up or stored form carried, or one read now.
    private func finished(_ stored: RedisStoredResponse) async throws -> FinishedRequest {
        if let report = stored.report { return FinishedRequest(response: stored.response, report: report) }
        let report = try await statusReport(of: stored.response.correlationID)
        return FinishedRequest(response: stored.response, reportRead: report)
    }

    /// A request's publish for ``publishRequestAndWait(_:timeout:)``: run once, by whichever asks first (the
    /// wait's watch once it is in place, or the caller when the wait ran out before), with one outcome for both.
    final class PublishOnce: Sendable {
        private let run: @Sendable () async throws -> Void
        private let started = Mutex<Task<Void, any Error>?>(nil)

        init(_ run: @escaping @Sendable () async throws -> Void) { self.run = run }

        /// Publishes, or waits for the publish already started; throws its error.
        func perform() async throws {
            let task = started.withLock { started in
                if let started { return started }
                let task = Task { [run] in try await run() }
                started = task
                return task
            }
            try await task.value
        }
    }

    /// A wait's publish and the wait it belongs to.
    struct PublishStep: Sendable {
        let publish: PublishOnce
        let token: UInt64
    }

    /// Runs a wait's publish step; a failure ends that wait alone (and the watch, when nobody else waits).
    /// Returns whether it published.
    @discardableResult
    private static func publish(
        _ step: PublishStep, _ id: CorrelationID, _ channel: any RedisWakeChannel, _ waiters: RedisWaiters
    ) async -> Bool {
        do {
            try await step.publish.perform()
            return true
        } catch {
            _ = waiters.remove(id, token: step.token, with: error)
            // Also when the wait had already left: its own stop may have come before the watch was in place.
            if !waiters.isWaiting(on: id) { channel.stopWatching(id, answered: false) }
            return false
        }
    }

    /// Waits for the response to `correlationID` (and its report, when the wake-up brings it). With `publish`,
    /// the request is published once the wait is in place (see ``publishRequestAndWait(_:timeout:)``); its error
    /// ends this wait alone.
    private func waitForResponse(
        _ correlationID: CorrelationID, timeout: Duration, _ publish: PublishOnce? = nil
    ) async throws -> RedisStoredResponse {
        try checkOpen()
        let token = waiters.makeToken()
        let (waiters, channel) = (self.waiters, self.channel)
        let publishing = publish.map { PublishStep(publish: $0, token: token) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                switch waiters.add(correlationID, token: token, continuation) {
                case .closed:
                    continuation.resume(throwing: CourierError(.shutDown, "the Redis queue was shut down"))
                    return
                case .first:
                    Task {
                        await Self.watch(
                            correlationID, for: timeout, channel: channel, waiters: waiters, publishing: publishing)
                    }
                case .joined:
                    // Another wait on this id set up its watch first (so the request most likely exists already).
                    if let publishing { Task { await Self.publish(publishing, correlationID, channel, waiters) } }
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
        _ id: CorrelationID, for time: Duration, channel: any RedisWakeChannel, waiters: RedisWaiters,
        publishing: PublishStep? = nil
    ) async {
        if let publishing {
            do {
                try await channel.startWatchingEvents(id, for: time)
                // Published once the watch was in place: its response can only come through the watch.
                if await publish(publishing, id, channel, waiters) {
                    if !waiters.isWaiting(on: id) { channel.stopWatching(id, answered: false) }
                    return
                }
            } catch {
                // The watch could not be set up: this wait ends with the error (its request is published only if
                // the wait ran out first and its caller published it).
                _ = waiters.remove(id, token: publishing.token, with: error)
                if !waiters.isWaiting(on: id) {
                    channel.stopWatching(id, answered: false)
                    return
                }
            }
            // Another wait joined this one, on a request that existed: it needs the usual look for a stored response.
            guard waiters.isWaiting(on: id) else { return }
        }
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
