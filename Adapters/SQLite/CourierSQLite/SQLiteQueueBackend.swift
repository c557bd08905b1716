import Courier
import Foundation
import Synchronization

/// A durable queue in one SQLite file, shared by every process on the host that opens it.
///
/// Capabilities: `fifo`, `durable` (requests, leases and responses survive restarts and crashes), `shared`
/// (processes and instances on one file see one queue). Waiters and consumers in the process that made a change
/// are woken at once; those in other processes notice within ``Options/changePollInterval`` (within
/// ``Options/activeChangePollInterval`` while other processes' commits keep arriving) through a cheap
/// `PRAGMA data_version` check, so it does not claim `pushWakeups`. Every read-then-write runs in a
/// `BEGIN IMMEDIATE` transaction (writes submitted at the same moment share one, and each caller is answered only
/// after it commits), a claim is one `UPDATE … RETURNING`, and all SQLite calls run on a thread the backend owns,
/// never on Swift's cooperative pool.
public final class SQLiteQueueBackend: QueueBackend {
    /// SQLite's `synchronous` setting: how durable a commit is.
    public enum Synchronous: String, Sendable, Hashable {
        /// Survives process crashes; a power loss may lose the last commits. The default.
        case normal = "NORMAL"
        /// Survives power loss too, at the cost of an fsync per commit.
        case full = "FULL"
    }

    /// Whether a backend may change the file.
    public enum Access: Sendable, Hashable {
        /// Creates the file when it is missing (mode 0600), adopts an empty SQLite database, switches the file to
        /// WAL and creates or migrates Courier's tables. Every operation is available. The default.
        case readWrite
        /// Opens an existing Courier queue with `SQLITE_OPEN_READONLY`: nothing in the file is created, migrated
        /// or converted, and background housekeeping (lease reaping, response expiry, WAL checkpoints) does not
        /// run. ``SQLiteQueueBackend/status(of:)``, ``SQLiteQueueBackend/getResponse(for:)`` and
        /// ``SQLiteQueueBackend/subscribe(to:timeout:)`` work, noticing other processes' writes as usual; every
        /// operation that writes throws ``CourierError`` with code `invalidConfiguration`. SQLite may still
        /// create the file's `-wal` and `-shm` companions to read a WAL database.
        case readOnly
    }

    /// Adapter settings beyond ``QueueConfiguration``.
    public struct Options: Sendable, Hashable {
        /// Commit durability. `.normal` by default.
        public var synchronous: Synchronous
        /// How often another process's changes are looked for while someone waits and none arrived lately.
        /// 5 ms by default.
        public var changePollInterval: Duration
        /// How often they are looked for while other processes' commits keep arriving (one in the last 100 ms).
        /// 1 ms by default; a busy queue's cross-process wake-ups take about this long.
        public var activeChangePollInterval: Duration
        /// How long a statement waits for another connection's lock before failing. 5 s by default.
        public var busyTimeout: Duration
        /// Whether the backend may change the file. `.readWrite` by default.
        public var access: Access

        /// Creates options; every argument has the documented default.
        public init(
            synchronous: Synchronous = .normal, changePollInterval: Duration = .milliseconds(5),
            activeChangePollInterval: Duration = .milliseconds(1), busyTimeout: Duration = .seconds(5),
            access: Access = .readWrite
        ) {
            self.synchronous = synchronous
            self.changePollInterval = changePollInterval
            self.activeChangePollInterval = activeChangePollInterval
            self.busyTimeout = busyTimeout
            self.access = access
        }
    }

    /// Always `[fifo, durable, shared, eventStreams]`.
    public var capabilities: QueueCapabilities { [.fifo, .durable, .shared, .eventStreams, .requestListing] }
    /// The queue and timing settings.
    public let configuration: QueueConfiguration
    /// The adapter settings.
    public let options: Options

    private let path: String
    let database: SQLiteDatabase
    let board = WakeBoard()
    let store: SQLiteQueueStore
    private let lifecycle = Mutex<(isShutDown: Bool, watcher: Task<Void, Never>?)>((false, nil))

    /// Opens the queue in the SQLite file at `path`.
    ///
    /// With ``Access/readWrite`` (the default) it creates the file when missing (mode 0600), or adopts an
    /// existing Courier queue or an empty SQLite database, then switches it to WAL and creates or migrates
    /// Courier's tables. With ``Access/readOnly`` the file must already be a Courier queue of this schema version,
    /// and nothing in it is created or changed.
    ///
    /// Whatever the access, a file holding another application's tables is refused before anything is written
    /// to it (its bytes and journal mode stay as they were), and so are the paths that are not a plain file:
    /// `:memory:`, the empty path and `file:` URIs (nothing is created for them).
    /// - Throws: ``CourierError`` with code `invalidConfiguration` for `:memory:`, an empty or `file:` path, a
    ///   database with other applications' tables, bad settings, or (read-only) a missing file or one without
    ///   Courier's tables; `storageFailure` for a missing directory, an unwritable (read-write), non-SQLite,
    ///   corrupt or newer-version file (nothing is overwritten); `backendUnavailable` when the file stays locked.
    public init(
        path: String, configuration: QueueConfiguration = QueueConfiguration(), options: Options = Options()
    )
        async throws
    {
        try Self.checkPath(path)
        try configuration.validate()
        let readOnly = options.access == .readOnly
        if readOnly && !FileManager.default.fileExists(atPath: path) {
            throw CourierError(.invalidConfiguration, "no Courier queue at '\(path)': the file does not exist")
        }
        self.configuration = configuration
        self.options = options
        self.path = path
        do {
            database = try await SQLiteDatabase(
                path: path, create: !readOnly, readOnly: readOnly, synchronous: options.synchronous,
                busyTimeout: options.busyTimeout)
            try await database.runRetryingWhileBusy(for: options.busyTimeout) { connection in
                if readOnly {
                    try SQLiteSchema.verify(connection, path: path)
                } else {
                    try SQLiteSchema.migrate(connection)
                }
            }
        } catch let error as SQLiteError {
            throw error.courierError("cannot open the SQLite queue at '\(path)'")
        }
        store = SQLiteQueueStore(configuration: configuration)
        // Reaping, expiry and checkpoints write: a read-only backend leaves them to the processes that can.
        if !readOnly {
            let watcher = Task { [weak self] in _ = await self?.watch() }
            lifecycle.withLock { $0.watcher = watcher }
        }
        let changes = ChangeWatch(
            board: board, store: store, idleInterval: options.changePollInterval,
            activeInterval: options.activeChangePollInterval)
        database.repeatedly(after: options.changePollInterval) { [weak self] connection in
            guard let self, !self.isShutDown else { return nil }
            return changes.check(connection)
        }
    }

    // MARK: Requests

    /// Enqueues a request. See ``QueueBackend/publishRequest(_:)``.
    /// - Throws: ``CourierError`` with code `duplicateRequest`, `payloadTooLarge`, `backendUnavailable` or `shutDown`,
    ///   or `invalidConfiguration` when the backend was opened ``Access/readOnly``.
    public func publishRequest(_ request: QueueRequest) async throws {
        try checkWritable()
        try configuration.checkPayloadSize(request.payload.count, of: "the request payload")
        try request.checkFingerprint()
        try checkOpen()
        try await transaction { [store] in try store.insert(request, $0) }
        board.notifyOne(SQLiteQueueStore.consumersKey)
    }

    /// Returns a consumer's stream of leased deliveries. See ``QueueBackend/consumeRequests()``. Claiming writes:
    /// when the backend was opened ``Access/readOnly``, the stream's `next()` throws ``CourierError`` with code
    /// `invalidConfiguration`.
    public func consumeRequests() -> DeliverySequence {
        DeliverySequence { [self] in try await nextDelivery() }
    }

    private func nextDelivery() async throws -> Delivery? {
        try checkWritable()
        while !isShutDown && !Task.isCancelled {
            let generation = board.generation(SQLiteQueueStore.consumersKey)
            let claim = try await write(
                skipIf: { [store] connection -> ClaimResult? in
                    guard try !store.hasClaimableWork(connection) else { return nil }
                    return ClaimResult(secondsUntilDue: try store.secondsUntilNextDue(connection))
                },
                { [store] connection in try store.claim(connection) })
            wake(claim.answered)
            if let delivery = claim.delivery {
                // There may be more work: hand it to up to two more idle consumers, who do the same, so a burst
                // of requests reaches every idle consumer in a few group commits instead of one claim at a time.
                if claim.remaining > 0 { board.notify(SQLiteQueueStore.consumersKey, upTo: min(claim.remaining, 2)) }
                return delivery
            }
            let nextDue = claim.secondsUntilDue
            let wait = min(nextDue.map { Duration.milliseconds(Int64(max(1, $0 * 1000))) } ?? .seconds(1), .seconds(1))
            await board.wait(for: SQLiteQueueStore.consumersKey, since: generation, timeout: wait)
        }
        return nil
    }

    // MARK: Leases

    /// Extends a lease. See ``QueueBackend/extendLease(_:)``.
    /// - Throws: ``CourierError`` with code `requestCancelled`, `leaseLost`, `backendUnavailable` or `shutDown`, or
    ///   `invalidConfiguration` when the backend was opened ``Access/readOnly``.
    public func extendLease(_ lease: Lease) async throws -> Lease {
        try checkWritable()
        try checkOpen()
        let (extended, answered) = try await transaction { [store] in try store.extend(lease, $0) }
        wake(answered)
        return try extended.get()
    }

    /// Gives a delivery back without spending its attempt. See ``QueueBackend/giveBack(_:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `backendUnavailable` or `shutDown`.
    public func giveBack(_ lease: Lease) async throws {
        try await giveBack(lease, after: .zero)
    }

    /// Gives a delivery back without spending its attempt, available again after `delay`. See
    /// ``QueueBackend/giveBack(_:after:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `backendUnavailable` or `shutDown`.
    public func giveBack(_ lease: Lease, after delay: Duration) async throws {
        try checkOpen()
        try await transaction { [store] in try store.giveBack(lease, after: delay.inSeconds, $0) }
        board.notifyOne(SQLiteQueueStore.consumersKey)
    }

    /// Gives a delivery back. See ``QueueBackend/release(_:retryAfter:reason:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `backendUnavailable` or `shutDown`, or
    ///   `invalidConfiguration` when the backend was opened ``Access/readOnly``.
    public func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws {
        try checkWritable()
        try checkOpen()
        let answered = try await transaction { [store] in
            try store.release(lease, after: retryAfter.inSeconds, reason: reason ?? "released by its consumer", $0)
        }
        wake(answered)
        board.notifyOne(SQLiteQueueStore.consumersKey)
    }

    // MARK: Responses

    /// Stores a response, first one wins. See ``QueueBackend/publishResponse(_:settling:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `payloadTooLarge`, `backendUnavailable` or `shutDown`, or
    ///   `invalidConfiguration` when the backend was opened ``Access/readOnly``.
    @discardableResult
    public func publishResponse(
        _ response: QueueResponse, settling lease: Lease?
    ) async throws
        -> PublishResponseResult
    {
        try checkWritable()
        try configuration.checkPayloadSize(response.payload.count, of: "the response payload")
        try checkOpen()
        let result = try await transaction { [store] in try store.answer(response, lease: lease, $0) }
        if result == .stored { wake([response.correlationID]) }
        return result
    }

    /// Returns the stored response, if any. See ``QueueBackend/getResponse(for:)``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse? {
        try checkOpen()
        return try await read { [store] in try store.response(correlationID, $0) }
    }

    /// Waits for the response to an id. See ``QueueBackend/subscribe(to:timeout:)``.
    /// - Throws: ``CourierError`` with code `timedOut` or `shutDown`, or `CancellationError`.
    public func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            try checkOpen()
            try Task.checkCancellation()
            let generation = board.generation(correlationID.rawValue)
            if let response = try await getResponse(for: correlationID) { return response }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero {
                throw CourierError(.timedOut, "no response to \(correlationID) within \(timeout)")
            }
            await board.wait(for: correlationID.rawValue, since: generation, timeout: min(remaining, .seconds(5)))
        }
    }

    // MARK: Status and cancel

    /// Reports a request's state. See ``QueueBackend/status(of:)``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func status(of correlationID: CorrelationID) async throws -> RequestState {
        try checkOpen()
        return try await read { [store] in try store.status(correlationID, $0) }
    }

    /// Reports a request's state, progress and times. See ``QueueBackend/statusReport(of:)``.
    /// - Throws: ``CourierError`` with code `backendUnavailable` or `shutDown`.
    public func statusReport(of correlationID: CorrelationID) async throws -> RequestStatusReport {
        try checkOpen()
        return try await read { [store] db in try db.readTransaction { try store.statusReport(correlationID, db) } }
    }

    /// Cancels a request without a response. See ``QueueBackend/cancel(_:)``.
    /// - Throws: ``CourierError`` with code `notFound`, `alreadyFinished`, `backendUnavailable` or `shutDown`, or
    ///   `invalidConfiguration` when the backend was opened ``Access/readOnly``.
    @discardableResult
    public func cancel(_ correlationID: CorrelationID) async throws -> CancelResult {
        try checkWritable()
        try checkOpen()
        let result = try await transaction { [store] in try store.cancel(correlationID, $0) }
        wake([correlationID])
        return result
    }

    // MARK: Lifecycle

    /// Stops the watcher, ends consumer streams, fails waiters with `shutDown` and (read-write only) checkpoints
    /// the WAL. Idempotent.
    public func shutdown() async {
        let watcher = lifecycle.withLock { state -> Task<Void, Never>? in
            defer { state = (true, nil) }
            return state.watcher
        }
        watcher?.cancel()
        board.notifyAll()
        // A reap or sweep already under way finishes before shutdown returns: nothing writes after it.
        await watcher?.value
        if watcher != nil && options.access == .readWrite {
            // Fold the WAL back into the database so a stopped queue is one self-contained file.
            _ = try? await database.run { try $0.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        }
    }

    /// The number of tasks waiting for a response or a request in this process, for leak checks.
    public var waitingTasks: Int { board.waiterCount }

    // MARK: Internals

    private var isShutDown: Bool { lifecycle.withLock { $0.isShutDown } }

    func checkOpen() throws(CourierError) {
        if isShutDown { throw CourierError(.shutDown, "the SQLite queue '\(configuration.queueName)' was shut down") }
    }

    /// Refuses the paths SQLite does not treat as one plain file that every process can open.
    private static func checkPath(_ path: String) throws(CourierError) {
        if path.isEmpty {
            throw CourierError(
                .invalidConfiguration,
                "SQLITE_PATH '' is empty: SQLite would keep requests in a private temporary file that other processes "
                    + "cannot reach and that vanishes at exit; give a file path")
        }
        if path == ":memory:" {
            throw CourierError(
                .invalidConfiguration,
                "SQLITE_PATH ':memory:' would keep requests in one process's memory, where other processes cannot "
                    + "reach them and they vanish at exit; use QUEUE_TYPE=memory for that, or give a file path")
        }
        if path.hasPrefix("file:") {
            throw CourierError(
                .invalidConfiguration,
                "SQLITE_PATH '\(path)' is an SQLite URI filename, whose parameters can change where and how the "
                    + "queue is stored; give a plain file path (write './\(path)' for a file really named so)")
        }
    }

    func checkWritable() throws(CourierError) {
        if options.access == .readOnly {
            throw CourierError(.invalidConfiguration, "the SQLite queue at '\(path)' was opened read-only")
        }
    }

    /// Wakes the response and event waiters of requests that got their final response.
    private func wake(_ answered: [CorrelationID]) {
        for id in answered {
            board.notify(id.rawValue)
            board.notify(SQLiteQueueStore.eventsKey(id))
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction, group-committed with the other writes of the moment.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await write(body)
    }

    func write<T: Sendable>(
        skipIf check: (@Sendable (SQLiteConnection) throws -> T?)? = nil,
        _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        do {
            return try await database.write(skipIf: check, body)
        } catch let error as SQLiteError {
            throw error.courierError("the SQLite queue '\(configuration.queueName)' failed")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        do {
            return try await database.run(body)
        } catch let error as SQLiteError {
            throw error.courierError("the SQLite queue '\(configuration.queueName)' failed")
        }
    }

    /// Reaps expired leases and deadlines, and sweeps expired responses. (Other processes' commits are noticed
    /// by a ``ChangeWatch`` on the database thread.)
    private func watch() async {
        var lastSweep = ContinuousClock.now
        let reapInterval = min(configuration.leaseDuration / 4, .milliseconds(250))
        while (try? await Task.sleep(for: reapInterval)) != nil {
            do {
                let now = ContinuousClock.now
                let answered = try await write(
                    skipIf: { [store] in try store.needsReaping($0) ? nil : (ids: [], requeued: false) },
                    { [store] in try store.reap($0) })
                wake(answered.ids)
                if answered.requeued { board.notify(SQLiteQueueStore.consumersKey) }
                if now - lastSweep >= .seconds(1) {
                    lastSweep = now
                    try await transaction { [store] in try store.sweep($0) }
                    if Int.random(in: 0..<30) == 0 {
                        try await read { try $0.execute("PRAGMA wal_checkpoint(PASSIVE)") }
                    }
                }
            } catch {
                continue
            }
        }
    }
}

/// What one claim attempt found.
struct ClaimResult: Sendable {
    /// The leased request, if one was ready.
    var delivery: Delivery? = nil
    /// Requests the claim's reaping answered (dead-lettered or timed out), whose waiters to wake.
    var answered: [CorrelationID] = []
    /// When nothing was ready: seconds until something next becomes due, if anything is queued.
    var secondsUntilDue: Double? = nil
    /// After a successful claim: how many more requests are ready (counted up to a small cap).
    var remaining: Int = 0
}
