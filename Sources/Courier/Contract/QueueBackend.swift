/// A request/response queue: the contract every Courier adapter implements.
///
/// A backend instance serves one queue (``QueueConfiguration/queueName``). Clients publish requests and wait
/// for responses by correlation id; workers consume leased deliveries and publish responses. The contract,
/// proved for every adapter by the `CourierConformance` kit (case ids in brackets):
///
/// - **Exactly one holder.** A delivery belongs to one consumer while its lease holds [C1, C3]. A lease that
///   runs out unsettled puts the request back with attempt + 1 [D1]; after ``QueueConfiguration/maxAttempts``
///   deliveries a ``ResponseStatus/deadLettered`` response is stored so no waiter hangs [D4]. A lost lease is
///   fenced: it can neither extend nor answer [D5, D6].
/// - **First response wins.** The first stored response for an id is the only one [E2, E3]; it stays readable
///   for ``QueueConfiguration/responseTTL`` [E4], and while it is stored the id cannot be published again [B2].
/// - **No missed wake-ups.** ``subscribe(to:timeout:)`` returns a response published before, during or after
///   the subscription started [F1–F3], to any number of waiters [F4], and releases everything it held when it
///   times out or its task is cancelled [F6–F8].
/// - **Nothing is lost.** Bytes round-trip exactly [A1–A4]; bad input is rejected with a typed error and
///   changes nothing [A6, B1].
///
/// All methods are safe to call concurrently from any task, and none blocks a thread of the cooperative pool.
/// Errors are ``CourierError`` (compare ``CourierError/code``) or `CancellationError`. After ``shutdown()``
/// every operation throws ``CourierError/Code/shutDown``.
public protocol QueueBackend: Sendable {
    /// What this adapter promises beyond the mandatory contract. Constant for the instance's life.
    var capabilities: QueueCapabilities { get }

    /// The queue and timing settings this instance was created with.
    var configuration: QueueConfiguration { get }

    /// Enqueues a request for a consumer.
    ///
    /// The request is pending when this returns. A request whose ``QueueRequest/deadline`` passes while it is
    /// still pending is never delivered; a ``ResponseStatus/timedOut`` response is stored instead.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/duplicateRequest`` when the id is pending,
    ///   running, or has a stored response (a retried submit never runs twice);
    ///   ``CourierError/Code/payloadTooLarge``; ``CourierError/Code/backendUnavailable``;
    ///   ``CourierError/Code/shutDown``. Nothing is enqueued when it throws.
    func publishRequest(_ request: QueueRequest) async throws

    /// Returns a consumer's stream of leased deliveries.
    ///
    /// Each iterator is one consumer and claims a request only when asked for the next element. Within one
    /// iterator, first attempts arrive in publish order when the adapter has ``QueueCapabilities/fifo``.
    /// The stream ends when the backend shuts down or the consuming task is cancelled; a delivery claimed by a
    /// consumer that stops is delivered again after its lease.
    func consumeRequests() -> DeliverySequence

    /// Stores a response, settles its delivery and wakes every waiter on its id.
    ///
    /// The first response stored for an id wins; later ones are ignored and reported as
    /// ``PublishResponseResult/alreadyAnswered(existing:)``. A worker passes the delivery's lease so a holder
    /// that lost its lease cannot answer; `nil` answers without fencing (for responders outside a delivery).
    /// - Throws: ``CourierError`` with code ``CourierError/Code/leaseLost`` when `lease` is no longer the current
    ///   one and no response is stored; ``CourierError/Code/payloadTooLarge``;
    ///   ``CourierError/Code/backendUnavailable``; ``CourierError/Code/shutDown``.
    @discardableResult
    func publishResponse(_ response: QueueResponse, settling lease: Lease?) async throws -> PublishResponseResult

    /// Returns the stored response for an id, or `nil` when there is none (yet, or any more after its TTL).
    ///
    /// Never waits for a response to arrive.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/backendUnavailable`` or
    ///   ``CourierError/Code/shutDown``.
    func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse?

    /// Waits for the response to an id.
    ///
    /// Returns at once when a response is already stored; otherwise returns when one is published, without
    /// polling on adapters with ``QueueCapabilities/pushWakeups``. Any number of tasks may wait on one id.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/timedOut`` when `timeout` passes first;
    ///   `CancellationError` when the waiting task is cancelled; ``CourierError/Code/shutDown``. A wait that
    ///   throws leaves nothing behind (no continuation, subscription or connection).
    func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse

    /// Waits for the response to an id as ``subscribe(to:timeout:)`` does, and returns it with the request's status
    /// report as it stands once answered: the report ``statusReport(of:)`` gives then, for a caller that shows
    /// both (an HTTP gateway's submit-and-wait). The default implementation subscribes, then reads the report; an
    /// adapter may take both from the wake-up and save that read. Kit case: G10.
    /// - Throws: As ``subscribe(to:timeout:)`` and ``statusReport(of:)``.
    func subscribeWithStatusReport(to correlationID: CorrelationID, timeout: Duration) async throws -> FinishedRequest

    /// Publishes a request and waits for its response with its status report, as ``publishRequest(_:)`` followed by
    /// ``subscribeWithStatusReport(to:timeout:)`` would: for a caller that submits and waits (an HTTP gateway's
    /// submit with `?wait=`). The default implementation makes those two calls; an adapter may set up the wait
    /// first and publish once it is in place, so that the response cannot have been stored before the wait began
    /// and the look for one is saved. Kit case: G11.
    /// - Throws: As ``publishRequest(_:)``, and then nothing waits: a `duplicateRequest` leaves the existing request
    ///   as it was. ``CourierError/Code/timedOut`` when `timeout` passes first; the request is published by then.
    ///   Otherwise as ``subscribeWithStatusReport(to:timeout:)``.
    func publishRequestAndWait(_ request: QueueRequest, timeout: Duration) async throws -> FinishedRequest

    /// Reports where a request is in its life.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/backendUnavailable`` or
    ///   ``CourierError/Code/shutDown``.
    func status(of correlationID: CorrelationID) async throws -> RequestState

    /// Reports where a request is, its latest progress, its attempt and when it was submitted, started, last
    /// updated and finished (see ``RequestStatusReport``), in one read that does not touch its event log.
    ///
    /// The state is the one ``status(of:)`` reports; the times never decrease as the request moves on, and the
    /// report of a finished request keeps its submission, start, attempt and progress until the response expires.
    /// An unknown id gets ``RequestStatusReport/unknown``. Kit cases: G5–G8.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/backendUnavailable`` or
    ///   ``CourierError/Code/shutDown``.
    func statusReport(of correlationID: CorrelationID) async throws -> RequestStatusReport

    /// Cancels a request that has no response yet, storing a ``ResponseStatus/cancelled`` response and waking
    /// its waiters.
    ///
    /// A pending request is removed and never delivered. A running one keeps running until its holder's next
    /// lease operation, which throws ``CourierError/Code/requestCancelled``; its later response is ignored.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/notFound`` for an unknown id;
    ///   ``CourierError/Code/alreadyFinished`` when a response is already stored (it is left unchanged).
    @discardableResult
    func cancel(_ correlationID: CorrelationID) async throws -> CancelResult

    /// Extends a lease to a full ``QueueConfiguration/leaseDuration`` from now.
    /// - Returns: The extended lease (same token and attempt, later ``Lease/expiresAt``).
    /// - Throws: ``CourierError`` with code ``CourierError/Code/requestCancelled`` when the request was
    ///   cancelled; ``CourierError/Code/leaseLost`` when the lease is no longer current.
    func extendLease(_ lease: Lease) async throws -> Lease

    /// Gives a delivery back without answering it, to be delivered again (attempt + 1) after `retryAfter`.
    ///
    /// When the released delivery was the last allowed attempt, the request is dead-lettered instead: a
    /// ``ResponseStatus/deadLettered`` response carrying `reason` is stored and its waiters wake.
    /// Releasing a request that already has a response does nothing.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/leaseLost`` when the lease is no longer current.
    func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws

    /// Gives a delivery back unanswered without counting its attempt: the request is pending again at once,
    /// ahead of later requests on a ``QueueCapabilities/fifo`` adapter, and its next delivery has the same
    /// attempt number. A worker that stops gracefully does this, so a shutdown never uses up a request's
    /// attempts nor dead-letters it [D8].
    ///
    /// Giving back a request that already has a response does nothing.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/leaseLost`` when the lease is no longer current.
    func giveBack(_ lease: Lease) async throws

    /// Gives a delivery back unanswered without counting its attempt, pending again only once `delay` has
    /// passed (a worker whose circuit breaker is open for the request's key does this): no consumer gets it
    /// before then, and its next delivery has the same attempt number [D10]. With a zero delay it is
    /// ``giveBack(_:)``. Giving back a request that already has a response does nothing.
    ///
    /// Optional: the default implementation supports only a zero delay.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/leaseLost`` when the lease is no longer current,
    ///   ``CourierError/Code/unsupportedOperation`` from an adapter that cannot delay.
    func giveBack(_ lease: Lease, after delay: Duration) async throws

    /// Appends events to the log of the request whose delivery `lease` holds, fenced exactly like
    /// ``publishResponse(_:settling:)`` [S5, S6]. Events get consecutive sequence numbers, strictly increasing
    /// per request and never reused [S1]; the log keeps the newest ``QueueConfiguration/maxEventsPerRequest``
    /// [S8] and expires with the request's response [S10]. Waiters in ``waitForEvents(of:after:timeout:)`` wake.
    /// - Returns: The sequence number of the last event appended (of the log's newest event when `events` is
    ///   empty).
    /// - Throws: ``CourierError`` with code ``CourierError/Code/leaseLost`` when `lease` is not the current
    ///   delivery; ``CourierError/Code/requestCancelled`` when the request was cancelled;
    ///   ``CourierError/Code/alreadyFinished`` when it has any other response; ``CourierError/Code/payloadTooLarge``
    ///   for an event over ``QueueConfiguration/maxPayloadBytes``; ``CourierError/Code/invalidConfiguration``
    ///   for an invalid ``RequestProgress``; ``CourierError/Code/unsupportedOperation`` without
    ///   ``QueueCapabilities/eventStreams``; ``CourierError/Code/shutDown``. Nothing is appended when it throws.
    @discardableResult
    func appendEvents(_ events: [RequestEvent], holding lease: Lease) async throws -> UInt64

    /// Returns up to `limit` retained events of a request after sequence number `sequence`, with the log's
    /// bounds and the final response if there is one; `nil` when the id is unknown (never published, or its
    /// response expired) [S2, S3]. Never waits.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/unsupportedOperation`` without
    ///   ``QueueCapabilities/eventStreams``; ``CourierError/Code/backendUnavailable``;
    ///   ``CourierError/Code/shutDown``.
    func readEvents(
        of correlationID: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws
        -> RequestEventPage?

    /// Waits until a request's log holds an event after `sequence`, or the request has a final response, or
    /// `timeout` passes; without polling on adapters with ``QueueCapabilities/pushWakeups`` [S4]. A wait that
    /// ends (by timeout or cancellation) leaves nothing behind [S9].
    /// - Returns: `true` when there is something new to read, `false` when the timeout passed.
    /// - Throws: `CancellationError`; ``CourierError`` with code ``CourierError/Code/unsupportedOperation``
    ///   without ``QueueCapabilities/eventStreams``; ``CourierError/Code/shutDown``.
    func waitForEvents(
        of correlationID: CorrelationID, after sequence: UInt64, timeout: Duration
    ) async throws
        -> Bool

    /// Counts the queue's requests by state, as every instance sharing the queue sees them, without reading
    /// each request: pending and running requests, and stored responses that have not expired by status [L1].
    /// - Throws: ``CourierError`` with code ``CourierError/Code/unsupportedOperation`` without
    ///   ``QueueCapabilities/requestListing``; ``CourierError/Code/backendUnavailable``;
    ///   ``CourierError/Code/shutDown``.
    func requestCounts() async throws -> RequestCounts

    /// Lists the queue's most recently published requests that are still known (pending, running, or with a
    /// response that has not expired), newest first, each with its status report; only those `filter` passes, at
    /// most `limit` [L2–L4]. The listing covers at least the ``RequestSummary/listingLimit`` newest requests and
    /// never reads every request of the queue.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` when `limit` is not 1 to
    ///   ``RequestSummary/listingLimit``; ``CourierError/Code/unsupportedOperation`` without
    ///   ``QueueCapabilities/requestListing``; ``CourierError/Code/backendUnavailable``;
    ///   ``CourierError/Code/shutDown``.
    func recentRequests(limit: Int, matching filter: RequestStateFilter) async throws -> [RequestSummary]

    /// Stops the backend: consumer streams end, waiters throw ``CourierError/Code/shutDown``, and resources
    /// (threads, connections, timers) are released. Calling it again does nothing.
    func shutdown() async
}
