import Courier
import Foundation
import Logging
import Synchronization

/// A queue in Redis, shared by every process and host that uses the same server, key namespace and queue name.
///
/// Both Redis adapters are this type; ``RedisWakeMode`` is the only difference (how a waiting client learns its
/// response is stored). What both guarantee:
/// - **Reliable delivery.** A claim moves a request to a lease atomically (a Lua script), so a worker killed
///   mid-request loses nothing: after its lease the request is delivered again with attempt + 1, and after
///   ``QueueConfiguration/maxAttempts`` it is dead-lettered.
/// - **First response wins**, stored with the response TTL; every key a request creates is deleted when it is
///   answered or expires by TTL, so a `noeviction` server does not fill up.
/// - **No polling while waiting.** Consumers block on the queue's wake list; waiters are pushed their response
///   (pub/sub message or reply list). A waiter issues no command between subscribing and being notified; only
///   after a connection was replaced do waiters re-check for their responses, at once and again
///   ``Options/fallbackCheckInterval`` (5 s) later, to catch notifications lost during the reconnect.
/// - **A fixed connection budget**: at most three connections per instance (commands, one blocking consumer
///   connection once it consumes, one subscriber or reply connection once anyone waits), whatever the number of
///   waiting requests.
/// - **Durability** is the server's: run Redis with `appendonly yes` (and `appendfsync always` to lose nothing
///   on power loss).
///
/// Capabilities: `fifo`, `durable`, `shared`, `pushWakeups`.
public final class RedisQueueBackend: QueueBackend {
    /// Adapter settings beyond ``QueueConfiguration``.
    public struct Options: Sendable, Hashable {
        /// The first part of every key, so several applications can share one database. `courier` by default.
        public var namespace: String
        /// After a connection is replaced, waiters re-check for their responses at once and again after this
        /// interval (5 s by default), for notifications published while the connection was down. Without a
        /// reconnect, waiting issues no commands.
        public var fallbackCheckInterval: Duration

        /// Creates options; every argument has the documented default.
        public init(namespace: String = "courier", fallbackCheckInterval: Duration = .seconds(5)) {
            self.namespace = namespace
            self.fallbackCheckInterval = fallbackCheckInterval
        }
    }

    /// Always `[fifo, durable, shared, pushWakeups, eventStreams]`.
    public var capabilities: QueueCapabilities {
        [.fifo, .durable, .shared, .pushWakeups, .eventStreams, .requestListing]
    }
    /// The queue this instance serves and its lease, attempts, TTL and payload limits.
    public let configuration: QueueConfiguration
    /// How waiters are woken: `.list` (redis-list) or `.pubSub` (redis-pubsub).
    public let wakeMode: RedisWakeMode
    /// The key namespace and fallback-check interval this instance was created with.
    public let options: Options
    /// Where the server is (the password is never printed).
    public let connectionOptions: RedisConnectionOptions

    let store: RedisQueueStore
    let commands: RedisConnection
    /// The instance's one timer: waiter timeouts and request deadlines.
    let timeouts = TimeoutScheduler()
    let waiters: RedisWaiters
    let consumers: RedisConsumerLoop
    let channel: any RedisWakeChannel
    /// Tasks in `waitForEvents`, and their own wake channel (its connection opens when the first one waits).
    let eventWaiters: RedisEventWaiters
    let eventChannel: any RedisWakeChannel
    /// The events announcements brought, which live readers take instead of reading them back.
    let eventCache: RedisEventCache
    /// The ids whose event watch outlives its last wait.
    let watchLinger = RedisWatchLinger(duration: RedisQueueBackend.watchLinger)
    let settle: RedisSettle
    private let logger: Logger
    private let lifecycle = Mutex<(isShutDown: Bool, maintenance: Task<Void, Never>?)>((false, nil))

    /// Connects to the server at `url` (`redis://[[user]:password@]host[:port][/database]`).
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for a malformed URL or settings,
    ///   `backendUnavailable` when the server cannot be reached or refuses the credentials (the message never
    ///   contains the password).
    public convenience init(
        url: String, wakeMode: RedisWakeMode, configuration: QueueConfiguration = QueueConfiguration(),
        options: Options = Options(), logger: Logger = Logger(label: "courier.redis")
    ) async throws {
        try await self.init(
            connection: try RedisConnectionOptions(url: url), wakeMode: wakeMode, configuration: configuration,
            options: options, logger: logger)
    }

    /// Connects to the server described by `connection`. Throws as ``init(url:wakeMode:configuration:options:logger:)``.
    public init(
        connection: RedisConnectionOptions, wakeMode: RedisWakeMode,
        configuration: QueueConfiguration = QueueConfiguration(), options: Options = Options(),
        logger: Logger = Logger(label: "courier.redis")
    ) async throws {
        try configuration.validate()
        guard !options.namespace.isEmpty, !options.namespace.contains(where: { $0 == "{" || $0 == "}" }) else {
            throw CourierError(.invalidConfiguration, "the Redis key namespace must be non-empty, without braces")
        }
        self.configuration = configuration
        self.wakeMode = wakeMode
        self.options = options
        self.connectionOptions = connection
        var logger = logger
        logger[metadataKey: "queue"] = "\(configuration.queueName)"
        self.logger = logger
        let store = RedisQueueStore(
            keys: RedisKeys(namespace: options.namespace, queue: configuration.queueName),
            scripts: RedisScripts(wake: wakeMode), configuration: configuration)
        self.store = store
        waiters = RedisWaiters(timeouts: timeouts)
        let waiters = self.waiters
        commands = try await RedisConnection.open(connection, role: "commands")
        let commands = self.commands
        let settle = RedisSettle(waiters: waiters)
        let deliver: @Sendable (RedisWakeMessage) -> Void = { message in
            if case .response(let stored) = message { settle.resolve(stored) }
        }
        let fallback = options.fallbackCheckInterval
        let reconnected: @Sendable () -> Void = {
            Task {
                await Self.recheck(waiters.ids, store: store, commands: commands, settle: settle)
                try? await Task.sleep(for: fallback)
                await Self.recheck(waiters.ids, store: store, commands: commands, settle: settle)
            }
        }
        let channel = makeRedisWakeChannel(
            wakeMode, connection: connection, store: store, commands: commands, logger: logger, deliver: deliver,
            hasWaiters: { waiters.count > 0 }, isWaitedOn: { waiters.isWaiting(on: $0) }, reconnected: reconnected)
        settle.channel.withLock { $0 = channel }
        self.channel = channel
        let eventWaiters = RedisEventWaiters(timeouts: timeouts)
        self.eventWaiters = eventWaiters
        let eventCache = RedisEventCache()
        self.eventCache = eventCache
        self.eventChannel = Self.makeEventChannel(
            wakeMode: wakeMode, connection: connection, store: store, commands: commands, waiters: eventWaiters,
            cache: eventCache, logger: logger)
        self.settle = settle
        consumers = RedisConsumerLoop(options: connection, store: store, mode: wakeMode, logger: logger)
    }

    var isShutDown: Bool { lifecycle.withLock { $0.isShutDown } }

    func checkOpen() throws(CourierError) {
        if isShutDown {
            throw CourierError(.shutDown, "the Redis queue '\(configuration.queueName)' was shut down")
        }
    }

    // MARK: Requests

    /// Enqueues a request. See ``QueueBackend/publishRequest(_:)``.
    /// - Throws: ``CourierError`` with code `duplicateRequest`, `payloadTooLarge`, `backendUnavailable` or `shutDown`.
    public func publishRequest(_ request: QueueRequest) async throws {
        try checkPublishable(request)
        try await publish(request, replyChannel: nil)
    }

    /// What every publish checks first: the payload's size, the fingerprint, and that the backend is open.
    func checkPublishable(_ request: QueueRequest) throws {
        try configuration.checkPayloadSize(request.payload.count, of: "the request payload")
        try request.checkFingerprint()
        try checkOpen()
    }

    /// Publishes a checked request, its response to be published on `replyChannel` too when given.
    func publish(_ request: QueueRequest, replyChannel: String?) async throws {
        try await store.publish(request, replyChannel: replyChannel, on: commands)
        if let deadline = request.deadline {
            // Time the request out on schedule even when no consumer is running anywhere.
            let delay = Duration.milliseconds(max(0, Int(deadline.timeIntervalSinceNow * 1000)) + 5)
            timeouts.schedule(after: delay) { [weak self] in
                guard let self, !self.isShutDown else { return }
                Task { _ = try? await self.store.claim(0, on: self.commands) }
            }
        }
    }

    /// Returns a consumer's stream of leased deliveries. See ``QueueBackend/consumeRequests()``.
    public func consumeRequests() -> DeliverySequence {
        startMaintenance()
        return DeliverySequence { [consumers] in await consumers.next() }
    }

    // MARK: Leases

    /// Extends a lease. See ``QueueBackend/extendLease(_:)``.
    /// - Throws: ``CourierError`` with code `requestCancelled`, `leaseLost`, `backendUnavailable` or `shutDown`.
    public func extendLease(_ lease: Lease) async throws -> Lease {
        try checkOpen()
        return try await store.extend(lease, on: commands)
    }

    /// Gives a delivery back. See ``QueueBackend/release(_:retryAfter:reason:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `backendUnavailable` or `shutDown`.
    public func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws {
        try checkOpen()
        try await store.release(
            lease, after: retryAfter, reason: reason ?? "released by its consumer", on: commands)
    }

    /// Gives a delivery back without spending its attempt. See ``QueueBackend/giveBack(_:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `backendUnavailable` or `shutDown`.
    public func giveBack(_ lease: Lease) async throws {
        try await giveBack(lease, after: .zero)
    }

    /// Gives a delivery back without spending its attempt, pending again after `delay`. See
    /// ``QueueBackend/giveBack(_:after:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `backendUnavailable` or `shutDown`.
    public func giveBack(_ lease: Lease, after delay: Duration) async throws {
        try checkOpen()
        try await store.giveBack(lease, after: delay, on: commands)
    }

    // MARK: Responses

    /// Stores a response and wakes its waiters in one script call. See ``QueueBackend/publishResponse(_:settling:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `payloadTooLarge`, `backendUnavailable` or `shutDown`.
    public func publishResponse(
        _ response: QueueResponse, settling lease: Lease?
    ) async throws
        -> PublishResponseResult
    {
        try configuration.checkPayloadSize(response.payload.count, of: "the response payload")
        try checkOpen()
        return try await store.respond(response, settling: lease, on: commands)
    }

    /// Returns the stored response, if any. See ``QueueBackend/getResponse(for:)``.
    /// - Throws: ``CourierError`` with code `backendUnavailable`, `decodingFailed` or `shutDown`.
    public func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse? {
        try checkOpen()
        return try await store.response(correlationID, on: commands)
    }

    // MARK: Status and cancel

    /// Reports where a request is. See ``QueueBackend/status(of:)``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func status(of correlationID: CorrelationID) async throws -> RequestState {
        try checkOpen()
        return try await store.status(correlationID, on: commands)
    }

    /// Reports a request's state, progress and times. See ``QueueBackend/statusReport(of:)``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func statusReport(of correlationID: CorrelationID) async throws -> RequestStatusReport {
        try checkOpen()
        return try await store.statusReport(correlationID, on: commands)
    }

    /// Cancels a request. See ``QueueBackend/cancel(_:)``.
    /// - Throws: ``CourierError`` with code `notFound`, `alreadyFinished`, `backendUnavailable` or `shutDown`.
    @discardableResult
    public func cancel(_ correlationID: CorrelationID) async throws -> CancelResult {
        try checkOpen()
        return try await store.cancel(correlationID, on: commands)
    }

    // MARK: Lifecycle

    /// Stops consumers and waiters and closes every connection. See ``QueueBackend/shutdown()``.
    public func shutdown() async {
        let (wasOpen, maintenance) = lifecycle.withLock { state -> (Bool, Task<Void, Never>?) in
            if state.isShutDown { return (false, nil) }
            state.isShutDown = true
            return (true, state.maintenance)
        }
        guard wasOpen else { return }
        maintenance?.cancel()
        let consumed = consumers.connection.open != nil
        consumers.close()
        if let consumer = consumers.consumer, consumed {
            // redis-streams: leave the group when holding nothing (a live consumer removes one that could not).
            try? await store.leave(consumer, on: commands)
        }
        waiters.close(with: CourierError(.shutDown, "the Redis queue '\(configuration.queueName)' was shut down"))
        eventWaiters.close(with: CourierError(.shutDown, "the Redis queue '\(configuration.queueName)' was shut down"))
        timeouts.close()
        channel.close()
        eventChannel.close()
        commands.close()
    }

    /// Starts reaping in a process that consumes: while every consumer here is busy in a handler, nobody is
    /// blocked on the wake list to reap expired leases and due retries. Client-only instances never reap (they
    /// issue no commands while waiting); a request's deadline is enforced by the instance that published it.
    private func startMaintenance() {
        lifecycle.withLock { state in
            guard !state.isShutDown, state.maintenance == nil else { return }
            state.maintenance = Task { [weak self] in await self?.maintain() }
        }
    }

    private func maintain() async {
        let longest = min(configuration.leaseDuration / 2, .seconds(5))
        var wait = longest
        while !Task.isCancelled && !isShutDown {
            try? await Task.sleep(for: wait)
            if Task.isCancelled || isShutDown { return }
            // A consumer blocked on the queue reaps when its read ends (at the latest what was due at its last claim,
            // or its longest block).
            if consumers.isReading {
                wait = longest
                continue
            }
            do {
                let (_, due) = try await store.claim(0, on: commands)
                wait = max(.milliseconds(20), min(due ?? longest, longest))
            } catch {
                wait = longest
            }
        }
    }

    // MARK: Inspection

    /// Waiting ids plus subscriptions or reply registrations held; zero when nobody waits.
    public var activeWaits: Int {
        waiters.count + channel.openSubscriptions + eventWaiters.count + eventChannel.openSubscriptions
    }

    /// Commands this instance has sent to Redis on all its connections (for measuring; see docs/performance.md).
    public var commandsSent: Int {
        commands.commandsSent + consumers.connection.commandsSent + channel.connection.commandsSent
            + eventChannel.connection.commandsSent
    }

    /// Connections this instance holds open: the command connection, plus the consumer connection once it
    /// consumed, the subscriber (or reply) connection once anyone waited, and the event channel's once anyone
    /// followed events. Never more than four.
    public var openConnections: Int {
        1 + (consumers.connection.open == nil ? 0 : 1) + (channel.connection.open == nil ? 0 : 1)
            + (eventChannel.connection.open == nil ? 0 : 1)
    }
}

/// Resolves a response's waiters and stops watching its id: the one way every notification path ends a wait.
final class RedisSettle: Sendable {
    let waiters: RedisWaiters
    /// Set once, right after the channel (whose callbacks call ``resolve(_:)``) is made.
    let channel = Mutex<(any RedisWakeChannel)?>(nil)

    init(waiters: RedisWaiters) { self.waiters = waiters }

    func resolve(_ stored: RedisStoredResponse) {
        if waiters.resolve(stored) {
            channel.withLock { $0 }?.stopWatching(stored.response.correlationID, answered: true)
        }
    }
}
