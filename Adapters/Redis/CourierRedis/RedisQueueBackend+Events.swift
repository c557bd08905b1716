import Courier
import Foundation
import Logging
import Synchronization

extension RedisQueueBackend {
    /// Appends events to a running request's log in one script call. See ``QueueBackend/appendEvents(_:holding:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `requestCancelled`, `alreadyFinished`, `payloadTooLarge`,
    ///   `invalidConfiguration`, `backendUnavailable` or `shutDown`.
    @discardableResult
    public func appendEvents(_ events: [RequestEvent], holding lease: Lease) async throws -> UInt64 {
        try configuration.checkEvents(events)
        try checkOpen()
        return try await store.appendEvents(events, holding: lease, on: commands)
    }

    /// Reads a request's retained events in one script call, or none when the announcements this process
    /// watches already brought them. See ``QueueBackend/readEvents(of:after:limit:)``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func readEvents(
        of correlationID: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws
        -> RequestEventPage?
    {
        try checkOpen()
        // Only while the id's watch is in place: otherwise (redis-list, whose every wait costs commands) one read
        // from Redis takes everything appended so far, where the cache would hand out one batch per wait.
        if let generation = eventChannel.watchGeneration(correlationID) {
            if let page = eventCache.page(correlationID, after: sequence, limit: limit)
                ?? eventCache.caughtUpPage(correlationID, watched: generation, at: sequence)
            {
                return page
            }
        }
        return try await readEventsFromRedis(of: correlationID, after: sequence, limit: limit)
    }

    /// A read from Redis; one made while the id's watch is in place tells the cache where its coverage starts.
    private func readEventsFromRedis(
        of id: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws -> RequestEventPage? {
        let mark = eventCache.mark
        let generation = eventChannel.watchGeneration(id)
        let page = try await store.eventPage(id, after: sequence, limit: limit, on: commands)
        if let generation, let page, page.finalResponse == nil {
            eventCache.cover(id, generation: generation, through: page.lastSequence, since: mark)
        }
        return page
    }

    /// Waits for a new event or the final response. See ``QueueBackend/waitForEvents(of:after:timeout:)``.
    ///
    /// Pushed like responses: an append publishes (redis-pubsub) or pushes (redis-list) an announcement to the
    /// id's watchers, carrying the events when they are small, so a waiting reader sends no command until
    /// something happens and a live reader usually reads nothing back.
    /// - Throws: ``CourierError`` with code `shutDown` or `backendUnavailable`, or `CancellationError`.
    public func waitForEvents(
        of correlationID: CorrelationID, after sequence: UInt64, timeout: Duration
    )
        async throws -> Bool
    {
        try checkOpen()
        // A live reader whose cache already holds something newer does not wait at all.
        if let newest = coveredNewest(correlationID, from: sequence), newest > sequence { return true }
        watchLinger.touch(correlationID)
        let token = eventWaiters.makeToken()
        let waiters = eventWaiters
        let channel = eventChannel
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                guard waiters.add(correlationID, token: token, continuation) != .closed else {
                    continuation.resume(
                        throwing: CourierError(.shutDown, "the Redis queue '\(configuration.queueName)' was shut down"))
                    return
                }
                let timer = waiters.timeouts.schedule(after: timeout) { [self] in
                    // A follower whose wait ran out waits again at once, so the watch stays for that wait.
                    if waiters.finish(correlationID, token: token, with: .success(false)) {
                        stopWatchingSoon(correlationID)
                    }
                }
                waiters.attach(timeout: timer, to: correlationID, token: token)
                // Registered first: an announcement after this wakes the waiter, one before it is in the cache.
                if let newest = coveredNewest(correlationID, from: sequence) {
                    if newest > sequence { waiters.finish(correlationID, token: token, with: .success(true)) }
                    return
                }
                Task { [self] in await watchEvents(correlationID, after: sequence, token: token, for: timeout) }
            }
        } onCancel: {
            if waiters.finish(correlationID, token: token, with: .failure(CancellationError())) {
                channel.stopWatching(correlationID, answered: false)
            }
        }
    }

    /// How long an id's watch outlives the last wait on it, for the waiter's next wait, when that wait timed out or
    /// its own setup answered it.
    static let watchLinger: Duration = .seconds(5)

    /// Stops watching `id` once nobody has waited on it for ``watchLinger``. A follower whose wait ran out, or was
    /// answered by the read that set up its watch, waits again at once; its watch (and with it what the cache
    /// knows about the id) stays in place for that wait, so it sends nothing for it: no UNSUBSCRIBE, SUBSCRIBE or
    /// read. One check per id, moved on by every wait, so a check that comes while the follower is between two
    /// waits does not stop its watch.
    private func stopWatchingSoon(_ id: CorrelationID) {
        if watchLinger.linger(id) {
            Self.checkLinger(
                of: id, after: watchLinger.duration, linger: watchLinger, channel: eventChannel, on: timeouts)
        }
    }

    private static func checkLinger(
        of id: CorrelationID, after delay: Duration, linger: RedisWatchLinger, channel: any RedisWakeChannel,
        on timeouts: TimeoutScheduler
    ) {
        _ = timeouts.schedule(after: delay) {
            if let left = linger.remaining(id) {
                checkLinger(of: id, after: left, linger: linger, channel: channel, on: timeouts)
            } else {
                channel.stopWatching(id, answered: false)  // does nothing while the id is waited on
            }
        }
    }

    /// The newest event announced for `id`, when its watch has stayed in place since a read from Redis at or
    /// before `position` (so every later event was announced); nil when only Redis can tell.
    private func coveredNewest(_ id: CorrelationID, from position: UInt64) -> UInt64? {
        guard let generation = eventChannel.watchGeneration(id) else { return nil }
        return eventCache.newest(id, watched: generation, from: position)
    }

    /// Watches the id (every waiter does, so its own check below happens after the watch is in place), then
    /// wakes the waiter at once when there is already something after `sequence`. A reader that follows a log
    /// live checks the cache instead of Redis: its watch was in place when it last read from Redis, so every
    /// event since was announced, and the announcement either filled the cache before this waiter was
    /// registered or wakes it.
    private func watchEvents(_ id: CorrelationID, after sequence: UInt64, token: UInt64, for time: Duration) async {
        do {
            try await eventChannel.startWatchingEvents(id, for: time)
            if let newest = coveredNewest(id, from: sequence) {
                // Woken at once, the watch stays for the reader's next wait, as after an announcement.
                if newest > sequence {
                    eventWaiters.finish(id, token: token, with: .success(true))
                    return
                }
                if !eventWaiters.isWaiting(on: id) { eventChannel.stopWatching(id, answered: false) }
                return
            }
            let page = try await readEventsFromRedis(of: id, after: sequence, limit: 0)
            if page == nil || page?.finalResponse != nil {
                if eventWaiters.finish(id, token: token, with: .success(true)) {
                    eventChannel.stopWatching(id, answered: false)
                }
            } else if (page?.lastSequence ?? 0) > sequence {
                // Keep watching, as after an announcement: the reader waits again at once, and stopping here
                // would cost it a SUBSCRIBE and a read on its next wait, and under load on every chunk after (the
                // reader is busy with this one when the check below runs). A reader that never waits again loses
                // the watch after the linger. A waiter that left meanwhile (cancelled) is handled below.
                if eventWaiters.finish(id, token: token, with: .success(true)) {
                    stopWatchingSoon(id)
                    return
                }
            }
        } catch {
            if eventWaiters.finish(id, token: token, with: .failure(error)) {
                eventChannel.stopWatching(id, answered: false)
            }
        }
        // The waiter may have left while the watch was being set up; then nothing else closes it. At once: only a
        // wait that ran out on a watch already in place lingers (the follower's next wait finds it), and a watch
        // left open here after the final response would hold its subscription for nothing.
        if !eventWaiters.isWaiting(on: id) { eventChannel.stopWatching(id, answered: false) }
    }

    /// A wake channel of the backend's mode whose every message (a response or an event announcement) wakes the
    /// event waiters of its id; after a reconnect (messages may have been lost) every event waiter wakes to look.
    static func makeEventChannel(
        wakeMode: RedisWakeMode, connection: RedisConnectionOptions, store: RedisQueueStore,
        commands: RedisConnection, waiters: RedisEventWaiters, cache: RedisEventCache, logger: Logger
    ) -> any RedisWakeChannel {
        let stop = StopWatching()
        // An announcement wakes the readers but keeps the watch: a reader following a stream waits again at
        // once, and unwatching and watching again on every chunk would race the next wait's watch (the server
        // may drop the new subscription after confirming it). The final response ends the watch.
        let deliver: @Sendable (RedisWakeMessage) -> Void = { message in
            switch message {
            case .response(let stored):
                let id = stored.response.correlationID
                cache.forget(id)
                waiters.wakeAll(id)
                stop.channel?.stopWatching(id, answered: false)
            case .events(let id, let batch):
                // An announcement too large to carry its events leaves the cache behind the log: forget the id,
                // so nothing waits on what the cache does not know.
                if let batch, wakeMode != .list { cache.add(batch, of: id) } else { cache.forget(id) }
                waiters.wakeAll(id)
            }
        }
        let reconnected: @Sendable () -> Void = {
            cache.forgetAll()
            for id in waiters.wakeEveryone() { stop.channel?.stopWatching(id, answered: false) }
        }
        let channel = makeRedisWakeChannel(
            wakeMode, connection: connection, store: store, commands: commands, logger: logger, deliver: deliver,
            hasWaiters: { waiters.count > 0 }, isWaitedOn: { waiters.isWaiting(on: $0) }, reconnected: reconnected)
        stop.channel = channel
        return channel
    }
}

/// The event channel, for its own callbacks (set right after it is made).
private final class StopWatching: Sendable {
    private let stored = Mutex<(any RedisWakeChannel)?>(nil)
    var channel: (any RedisWakeChannel)? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
