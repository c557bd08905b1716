import Foundation
import Logging
import Synchronization

/// What a streaming handler uses to report partial output and progress while it runs, whatever the adapter.
///
/// A write after a quiet spell is appended at once; later ones are batched, adjacent chunks merged, so that a
/// stream costs at most one append per ``WorkerConfiguration/eventFlushInterval`` (sooner only when
/// ``WorkerConfiguration/eventFlushBytes`` are waiting): a model producing a hundred tokens a second costs at most
/// fifty appends a second at the default 20 ms, and a token is delayed by at most that interval. Everything written is appended, in order, before the
/// response is stored. A write throws when an earlier append failed: ``CourierError/Code/requestCancelled``
/// when the request was cancelled, ``CourierError/Code/leaseLost`` when the delivery was lost (stop working),
/// or a validation error for bad input (an oversized chunk, an invalid progress fraction). On an adapter without
/// ``QueueCapabilities/eventStreams`` writes are accepted and dropped, and one warning is logged.
public actor RequestEventWriter {
    private let backend: any QueueBackend
    private let lease: Lease
    private let flushInterval: Duration
    private let flushBytes: Int
    private let logger: Logger
    private var pending: [RequestEvent] = []
    private var pendingBytes = 0
    private var flushing = false
    private var timerArmed = false
    private var failure: (any Error)?
    private var unsupported = false
    private var flushWaiters: [CheckedContinuation<Void, Never>] = []
    /// Whether anything was ever written, readable without hopping onto the actor: a handler that streams
    /// nothing costs its worker no actor hop at the end.
    private nonisolated let used = Atomic<Bool>(false)
    /// The earliest moment the next append may start without the size bound forcing it.
    private var nextFlush = ContinuousClock.now

    init(backend: any QueueBackend, lease: Lease, configuration: WorkerConfiguration, logger: Logger) {
        self.backend = backend
        self.lease = lease
        self.flushInterval = configuration.eventFlushInterval
        self.flushBytes = configuration.eventFlushBytes
        self.logger = logger
        self.unsupported = !backend.capabilities.contains(.eventStreams)
    }

    /// Appends bytes of partial output.
    /// - Throws: See the type's description.
    public func write(_ chunk: Data) async throws {
        try await add(.chunk(chunk), bytes: chunk.count)
    }

    /// Appends text of partial output, as UTF-8.
    /// - Throws: See the type's description.
    public func write(_ text: String) async throws {
        try await write(Data(text.utf8))
    }

    /// Reports progress: any of a fraction (0…1), a short message and a counter.
    /// - Throws: See the type's description.
    public func progress(fraction: Double? = nil, message: String? = nil, counter: Int? = nil) async throws {
        try await add(
            .progress(RequestProgress(fraction: fraction, message: message, counter: counter)),
            bytes: message?.utf8.count ?? 0)
    }

    /// Appends an application-defined event.
    /// - Throws: See the type's description.
    public func emit(_ name: String, _ data: Data = Data()) async throws {
        try await add(.custom(name: name, data: data), bytes: data.count + name.utf8.count)
    }

    /// Appends whatever is buffered and waits for it; the worker calls this before storing the response.
    nonisolated func finishIfUsed() async {
        if used.load(ordering: .relaxed) { await finish() }
    }

    private func finish() async {
        while (flushing || !pending.isEmpty) && failure == nil && !unsupported {
            if flushing {
                await withCheckedContinuation { flushWaiters.append($0) }
            } else {
                await flush()
            }
        }
    }

    private func add(_ event: RequestEvent, bytes: Int) async throws {
        used.store(true, ordering: .relaxed)
        if let failure { throw failure }
        if unsupported { return }
        try backend.configuration.checkEvents([event])
        if case .chunk(let data) = event, case .chunk(let previous)? = pending.last,
            previous.count + data.count <= backend.configuration.maxPayloadBytes
        {
            pending[pending.count - 1] = .chunk(previous + data)
        } else {
            pending.append(event)
        }
        pendingBytes += bytes
        // A write after a quiet spell goes out at once; writes that follow it within the interval are batched
        // into the next append, so a stream costs at most one append per interval (or per size bound).
        if pendingBytes >= flushBytes || (!flushing && !timerArmed && ContinuousClock.now >= nextFlush) {
            await flush()
            if let failure { throw failure }
        } else {
            armTimer()
        }
    }

    /// Schedules a flush at the end of the current interval, unless one is scheduled or under way.
    private func armTimer() {
        guard !timerArmed, !flushing else { return }
        timerArmed = true
        let delay = max(.zero, nextFlush - ContinuousClock.now)
        Task { [weak self] in
            try? await Task.sleep(for: delay)
            await self?.timerFired()
        }
    }

    private func timerFired() async {
        timerArmed = false
        await flush()
    }

    /// Appends the buffer in one call; one append at a time, so events keep their order. What was written
    /// meanwhile waits for the next interval.
    private func flush() async {
        guard !flushing, !pending.isEmpty, failure == nil, !unsupported else { return }
        flushing = true
        nextFlush = ContinuousClock.now + flushInterval
        let batch = pending
        pending = []
        pendingBytes = 0
        do {
            try await backend.appendEvents(batch, holding: lease)
        } catch let error as CourierError where error.code == .unsupportedOperation {
            unsupported = true
            logger.warning("this queue cannot stream events; partial output and progress are dropped")
        } catch {
            failure = error
        }
        flushing = false
        let waiters = flushWaiters
        flushWaiters = []
        for waiter in waiters { waiter.resume() }
        if !pending.isEmpty && failure == nil { armTimer() }
    }
}
