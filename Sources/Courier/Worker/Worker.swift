import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs a handler over a queue's requests: the worker side of Courier.
///
/// A worker keeps up to ``WorkerConfiguration/concurrency`` handlers running, each on its own delivery. While a
/// handler runs its lease is extended, so a long call (an LLM answer that takes minutes) is never delivered
/// twice. Every delivery is settled:
/// - the handler returns → a ``ResponseStatus/completed`` response with the returned bytes;
/// - the handler throws → the delivery is released for a retry after a ``RetryPolicy`` delay, or after the
///   error's own hint (``ClassifiedHandlerError/retryAfter``, up to ``WorkerConfiguration/maximumRetryHint``);
///   on the last attempt, or at once for an error that is not retryable (``PermanentHandlerError``), a
///   ``ResponseStatus/failed`` response carrying the error's description is stored instead;
/// - the request is cancelled (or the lease is lost) → the handler's task is cancelled and its result dropped.
///
/// With a ``WorkerConfiguration/circuitBreaker``, a key whose calls keep failing is not called for a cool-down;
/// its deliveries are given back without spending their attempts (see ``CircuitBreakerConfiguration``).
///
/// `Worker` is a swift-service-lifecycle `Service`: on graceful shutdown (SIGTERM/SIGINT in a `ServiceGroup`)
/// it stops taking work, lets in-flight handlers finish within ``WorkerConfiguration/gracePeriod``, then
/// cancels the rest and releases their deliveries for another worker. `run()` returns when all that is done.
public struct Worker: Service {
    /// The handler: turns a request into response payload bytes, or throws to fail the attempt.
    public typealias Handler = @Sendable (QueueRequest) async throws -> Data
    /// A handler that also streams partial output and progress through a ``RequestEventWriter`` while it runs.
    public typealias StreamingHandler = @Sendable (QueueRequest, RequestEventWriter) async throws -> Data

    /// The queue the worker consumes.
    public let backend: any QueueBackend
    /// How the worker runs.
    public let configuration: WorkerConfiguration
    /// The shared in-flight gate and rate limit the worker waits for before each handler call.
    public let limits: WorkerLimits
    private let handler: Work
    private let logger: Logger
    private let breakers: CircuitBreakers?

    /// Creates a worker.
    /// - Parameters:
    ///   - backend: The queue to consume.
    ///   - configuration: Concurrency, lease renewal, retries and grace period.
    ///   - limits: A gate and rate limit shared with other workers; none by default.
    ///   - logger: Where the worker logs; every line about a request carries its `correlation_id`.
    ///   - handler: The work to do for each request.
    public init(
        backend: any QueueBackend, configuration: WorkerConfiguration = WorkerConfiguration(),
        limits: WorkerLimits = WorkerLimits(), logger: Logger = Logger(label: "courier.worker"),
        handler: @escaping Handler
    ) {
        self.init(backend, configuration, limits, logger, .plain(handler))
    }

    /// Creates a worker whose handler streams events (chunks, progress) while it runs; see
    /// ``RequestEventWriter``. Everything the handler wrote is appended before its response is stored.
    public init(
        backend: any QueueBackend, configuration: WorkerConfiguration = WorkerConfiguration(),
        limits: WorkerLimits = WorkerLimits(), logger: Logger = Logger(label: "courier.worker"),
        streamingHandler: @escaping StreamingHandler
    ) {
        self.init(backend, configuration, limits, logger, .streaming(streamingHandler))
    }

    private init(
        _ backend: any QueueBackend, _ configuration: WorkerConfiguration, _ limits: WorkerLimits, _ logger: Logger,
        _ handler: Work
    ) {
        self.backend = backend
        self.configuration = configuration
        self.limits = limits
        self.logger = logger
        self.handler = handler
        breakers = configuration.circuitBreaker.map { CircuitBreakers(configuration: $0, logger: logger) }
    }

    /// A plain handler gets no event writer at all: a worker that does not stream pays nothing for streaming.
    private enum Work: Sendable {
        case plain(Handler)
        case streaming(StreamingHandler)
    }

    /// Consumes and handles requests until graceful shutdown or cancellation, then settles what it holds.
    ///
    /// Store errors while waiting for work (a server that is down) are logged and retried with backoff; they
    /// never end the worker. Cancelling the task is the hard stop: running handlers are cancelled and their
    /// deliveries released.
    public func run() async throws {
        let keeper = LeaseKeeper(
            backend: backend,
            interval: configuration.leaseRenewalInterval ?? backend.configuration.leaseDuration / 3,
            handlerTimeout: configuration.handlerTimeout, logger: logger)
        let keeperTask = Task { await keeper.run() }
        defer { keeperTask.cancel() }
        let slots = WorkerSlots()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await slots.run(count: configuration.concurrency) { slot in
                    await runSlot(slot, keeper: keeper, slots: slots)
                }
            } onCancel: {
                slots.cancelAll()
            }
        } onGracefulShutdown: { [gracePeriod = configuration.gracePeriod, logger] in
            logger.info("graceful shutdown: finishing in-flight requests", metadata: ["grace": "\(gracePeriod)"])
            slots.beginShutdown()
            Task {
                try? await Task.sleep(for: gracePeriod)
                slots.cancelAll()
            }
        }
    }

    private func runSlot(_ slot: Int, keeper: LeaseKeeper, slots: WorkerSlots) async {
        var failures = 0
        while !Task.isCancelled && !slots.isStopping {
            var deliveries = backend.consumeRequests().makeAsyncIterator()
            do {
                while slots.markIdle(slot) {
                    let delivery = try await deliveries.next()
                    slots.markBusy(slot)
                    guard let delivery else { return }
                    failures = 0
                    let state = await handle(delivery, slot: slot, keeper: keeper, slots: slots)
                    if state == .slotCancelled {
                        // This task was cancelled to stop the handler; the slot goes on in a fresh one.
                        slots.replace(slot)
                        return
                    }
                }
                return
            } catch {
                slots.markBusy(slot)
                if Task.isCancelled || slots.isStopping { return }
                failures += 1
                let delay = configuration.retry.delay(afterAttempt: failures)
                logger.error(
                    "could not take work from the queue; retrying",
                    metadata: ["error": "\(error)", "slot": "\(slot)", "retry_in": "\(delay)"])
                // Idle while backing off, so a graceful shutdown cancels the wait instead of sitting it out.
                guard slots.markIdle(slot) else { return }
                try? await Task.sleep(for: delay)
                slots.markBusy(slot)
            }
        }
    }

    private enum Outcome: Sendable {
        case answered(Data)
        /// The attempt failed; it is retried (after the hint, if any) unless it was the last.
        case failed(String, retryAfter: Duration?)
        /// The request fails now, whatever attempt this was (retrying cannot help).
        case failedPermanently(String)
        case interrupted
        case leaseEnded(CourierError)
    }

    /// The longest failure reason stored in a response; longer ones are cut, so that any handler error fits.
    static let maximumReasonLength = 4096

    private enum SlotState { case usable, slotCancelled }

    /// Runs the handler on the slot's own task and settles the delivery. The lease keeper stops a handler whose
    /// request was cancelled (or whose lease was lost), and the handler timeout stops a handler that ran too
    /// long, by cancelling the slot's task; the caller then replaces the slot.
    private func handle(
        _ delivery: Delivery, slot: Int, keeper: LeaseKeeper, slots: WorkerSlots
    ) async -> SlotState {
        if logger.logLevel <= .debug { logger(for: delivery).debug("handling request") }
        var trial = false
        let breakerKey = breakers?.key(of: delivery.request)
        if let breakers, let breakerKey {
            switch breakers.admit(breakerKey) {
            case .allowed: break
            case .trial: trial = true
            case .rejected(let wait):
                await putBack(delivery, for: wait)
                return .usable
            }
        }
        let slotTask = slots.task(of: slot)
        let key = keeper.keep(delivery.lease) { slotTask?.cancel() }
        let writer: RequestEventWriter?
        let work: @Sendable () async throws -> Data
        switch handler {
        case .plain(let handler):
            writer = nil
            work = { try await handler(delivery.request) }
        case .streaming(let handler):
            let events = RequestEventWriter(
                backend: backend, lease: delivery.lease, configuration: configuration, logger: logger)
            writer = events
            work = { try await handler(delivery.request, events) }
        }
        let result: Result<Data, any Error>
        do {
            result = .success(try await limits.run(work))
        } catch {
            result = .failure(error)
        }
        await writer?.finishIfUsed()
        let outcome: Outcome
        let ended = keeper.stopKeeping(key)
        switch ended {
        case .leaseEnded(let error)?:
            outcome = .leaseEnded(error)
        case .timedOut(let timeout)?:
            outcome = .failed(
                "the handler did not finish within its timeout of \(timeout.inSeconds) s", retryAfter: nil)
        case nil:
            switch result {
            case .success(let payload) where payload.count > backend.configuration.maxPayloadBytes:
                outcome = .failedPermanently(
                    "the handler's response is \(payload.count) bytes, over the queue's payload limit of "
                        + "\(backend.configuration.maxPayloadBytes) bytes, so it cannot be stored")
            case .success(let payload): outcome = .answered(payload)
            case .failure where Task.isCancelled: outcome = .interrupted
            case .failure(let error as any ClassifiedHandlerError) where !error.isRetryable:
                outcome = .failedPermanently(Self.cut(String(describing: error)))
            case .failure(let error as any ClassifiedHandlerError):
                outcome = .failed(Self.cut(String(describing: error)), retryAfter: error.retryAfter)
            case .failure(let error): outcome = .failed(Self.cut(String(describing: error)), retryAfter: nil)
            }
        }
        if let breakers, let breakerKey {
            switch outcome {
            case .answered: breakers.record(breakerKey, failed: false, trial: trial)
            case .failed: breakers.record(breakerKey, failed: true, trial: trial)
            default: breakers.record(breakerKey, failed: nil, trial: trial)
            }
        }
        do {
            if Task.isCancelled {
                // The slot's task was cancelled to stop the handler; settling must not be cancelled with it.
                try await Task { try await settle(delivery, outcome: outcome) }.value
            } else {
                try await settle(delivery, outcome: outcome)
            }
        } catch {
            logger(for: delivery).error("could not settle the request", metadata: ["error": "\(error)"])
        }
        return ended == nil ? .usable : .slotCancelled
    }

    /// The worker's logger with the request's `correlation_id` and `attempt`. Built only for lines that are
    /// written: setting metadata on a log handler formats it, which cost several percent of a round trip.
    private func logger(for delivery: Delivery) -> Logger {
        var logger = self.logger
        logger[metadataKey: "correlation_id"] = .stringConvertible(delivery.request.correlationID)
        logger[metadataKey: "attempt"] = .stringConvertible(delivery.attempt)
        return logger
    }

    private func settle(_ delivery: Delivery, outcome: Outcome) async throws {
        let logger = { self.logger(for: delivery) }
        let id = delivery.request.correlationID
        switch outcome {
        case .answered(let payload):
            do {
                if case .alreadyAnswered = try await backend.complete(delivery, payload: payload) {
                    logger().notice("a response was already stored; this one was dropped")
                }
            } catch let error as CourierError where error.code == .payloadTooLarge {
                // The adapter refused the response: fail the request now rather than let the lease run out.
                try await settle(
                    delivery, outcome: .failedPermanently("the response cannot be stored: \(error.message)"))
            }
        case .failed(let reason, _) where delivery.isLastAttempt:
            logger().warning("handler failed on its last attempt", metadata: ["error": "\(reason)"])
            try await backend.publishResponse(.failure(id, error: reason), settling: delivery.lease)
        case .failedPermanently(let reason):
            logger().warning("handler failed; retrying cannot help", metadata: ["error": "\(reason)"])
            try await backend.publishResponse(.failure(id, error: reason), settling: delivery.lease)
        case .failed(let reason, let hint):
            let delay =
                hint.map { max(.zero, min($0, configuration.maximumRetryHint)) }
                ?? configuration.retry.delay(afterAttempt: delivery.attempt)
            logger().notice(
                "handler failed; will retry",
                metadata: ["error": "\(reason)", "retry_in": "\(delay)", "hinted": "\(hint != nil)"])
            try await backend.release(delivery.lease, retryAfter: delay, reason: reason)
        case .interrupted:
            logger().notice("handler interrupted by shutdown; giving the request back without spending its attempt")
            try await backend.giveBack(delivery.lease)
        case .leaseEnded(let error) where error.code == .requestCancelled:
            logger().info("request cancelled; handler stopped")
        case .leaseEnded(let error):
            logger().warning("lease lost; handler stopped", metadata: ["error": "\(error)"])
        }
    }

    /// Gives back a delivery whose key's breaker is open, for `wait`, without spending its attempt. An adapter that
    /// cannot delay a give-back gets it back at once, and this slot waits (up to a second) before taking more work,
    /// so it does not take the same request back in a loop.
    private func putBack(_ delivery: Delivery, for wait: Duration) async {
        do {
            try await backend.giveBack(delivery.lease, after: wait)
        } catch let error as CourierError where error.code == .unsupportedOperation {
            try? await backend.giveBack(delivery.lease)
            try? await Task.sleep(for: min(wait, .seconds(1)))
        } catch {
            logger(for: delivery).warning(
                "could not give back a request whose circuit breaker is open", metadata: ["error": "\(error)"])
        }
    }

    /// `reason`, cut to ``maximumReasonLength`` characters.
    static func cut(_ reason: String) -> String {
        reason.count <= maximumReasonLength ? reason : String(reason.prefix(maximumReasonLength - 1)) + "…"
    }
}
