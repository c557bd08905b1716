import Foundation
import Logging

/// What a streaming handler uses to report partial output and progress while it runs, whatever the adapter.
///
/// Writes are buffered and appended in batches (``WorkerConfiguration/eventFlushInterval`` and
/// ``WorkerConfiguration/eventFlushBytes``), adjacent chunks merged, so a model producing a hundred tokens a
/// second costs a few store round trips a second. Everything written is appended, in order, before the
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
        let progress = RequestProgress(fraction: fraction, message: message, counter: counter)
        try progress.validate()
        try await add(.progress(progress), bytes: message?.utf8.count ?? 0)
    }

    /// Appends an application-defined event.
    /// - Throws: See the type's description.
    public func emit(_ name: String, _ data: Data = Data()) async throws {
        try await add(.custom(name: name, data: data), bytes: data.count + name.utf8.count)
    }

    /// Appends whatever is buffered and waits for it; the worker calls this before storing the response.
    func finish() async {
        while flushing { await withCheckedContinuation { flushWaiters.append($0) } }
        await flush()
    }

    private func add(_ event: RequestEvent, bytes: Int) async throws {
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
        if pendingBytes >= flushBytes {
            await flush()
            if let failure { throw failure }
        } else if !timerArmed {
            timerArmed = true
            let interval = flushInterval
            Task { [weak self] in
                try? await Task.sleep(for: interval)
                await self?.timerFired()
            }
        }
    }

    private func timerFired() async {
        timerArmed = false
        await flush()
    }

    /// Appends the buffer; one append at a time, so events keep their order.
    private func flush() async {
        guard !flushing else { return }
        flushing = true
        defer {
            flushing = false
            let waiters = flushWaiters
            flushWaiters = []
            for waiter in waiters { waiter.resume() }
        }
        while !pending.isEmpty, failure == nil {
            let batch = pending
            pending = []
            pendingBytes = 0
            do {
                try await backend.appendEvents(batch, holding: lease)
            } catch let error as CourierError where error.code == .unsupportedOperation {
                unsupported = true
                logger.warning("this queue cannot stream events; partial output and progress are dropped")
                return
            } catch {
                failure = error
            }
        }
    }
}
