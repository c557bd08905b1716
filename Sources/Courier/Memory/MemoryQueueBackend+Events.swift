import Foundation

extension MemoryQueueBackend {
    /// Appends events to a running request's log. See ``QueueBackend/appendEvents(_:holding:)``.
    /// - Throws: ``CourierError`` with code `leaseLost`, `requestCancelled`, `alreadyFinished`,
    ///   `payloadTooLarge`, `invalidConfiguration` or `shutDown`.
    @discardableResult
    public func appendEvents(_ events: [RequestEvent], holding lease: Lease) async throws -> UInt64 {
        try configuration.checkEvents(events)
        return try mutate { state, now, effects in
            try state.checkOpen()
            let id = lease.correlationID
            if let response = state.storedResponse(id, now: now) {
                throw CourierError.requestFinished(id, response.status)
            }
            _ = try state.currentRecord(for: lease)
            return state.appendEvents(events, holding: lease, effects: &effects)
        }
    }

    /// Reads a request's retained events. See ``QueueBackend/readEvents(of:after:limit:)``.
    /// - Throws: ``CourierError`` with code `shutDown`.
    public func readEvents(
        of correlationID: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws
        -> RequestEventPage?
    {
        try mutate { state, now, _ -> RequestEventPage? in
            try state.checkOpen()
            guard let log = state.eventLog(correlationID, now: now) else { return nil }
            return log.page(
                after: sequence, limit: limit, finalResponse: state.storedResponse(correlationID, now: now))
        }
    }

    /// Waits for a new event or the final response. See ``QueueBackend/waitForEvents(of:after:timeout:)``.
    /// - Throws: ``CourierError`` with code `shutDown`, or `CancellationError`.
    public func waitForEvents(
        of correlationID: CorrelationID, after sequence: UInt64, timeout: Duration
    )
        async throws -> Bool
    {
        let token = waiterTokens.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                mutate { state, now, effects in
                    var waiter = MemoryEventWaiter(continuation: continuation, timer: nil)
                    // Something to read: an unknown id (the reader learns so), a final response, or a newer event.
                    let log = state.eventLog(correlationID, now: now)
                    let readable =
                        log == nil || state.storedResponse(correlationID, now: now) != nil
                        || (log?.lastSequence ?? 0) > sequence
                    if state.isShutDown {
                        effects.eventWakeups.append(
                            (waiter, .failure(CourierError(.shutDown, "the memory queue was shut down"))))
                    } else if readable {
                        effects.eventWakeups.append((waiter, .success(true)))
                    } else if Task.isCancelled {
                        effects.eventWakeups.append((waiter, .failure(CancellationError())))
                    } else {
                        waiter.timer = timeouts.schedule(after: timeout) { [weak self] in
                            self?.endEventWait(correlationID, token: token, with: .success(false))
                        }
                        state.eventWaiters[correlationID, default: [:]][token] = waiter
                    }
                }
            }
        } onCancel: {
            endEventWait(correlationID, token: token, with: .failure(CancellationError()))
        }
    }

    private func endEventWait(_ id: CorrelationID, token: UInt64, with result: Result<Bool, any Error>) {
        mutate { state, _, effects in
            guard let waiter = state.eventWaiters[id]?.removeValue(forKey: token) else { return }
            if state.eventWaiters[id]?.isEmpty == true { state.eventWaiters[id] = nil }
            if let timer = waiter.timer { effects.cancelledTimers.append(timer) }
            effects.eventWakeups.append((waiter, result))
        }
    }
}

extension QueueConfiguration {
    /// Checks events before they are appended: bytes within ``maxPayloadBytes``, progress valid.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/payloadTooLarge`` or
    ///   ``CourierError/Code/invalidConfiguration``.
    public func checkEvents(_ events: [RequestEvent]) throws(CourierError) {
        for event in events {
            switch event {
            case .chunk(let data): try checkPayloadSize(data.count, of: "a chunk")
            case .custom(let name, let data):
                if name.isEmpty || name.utf8.count > 128 {
                    throw CourierError(.invalidConfiguration, "an event name must be 1-128 bytes")
                }
                try checkPayloadSize(data.count, of: "the event '\(name)'")
            case .progress(let progress): try progress.validate()
            case .attemptStarted:
                throw CourierError(.invalidConfiguration, "attempt boundaries are recorded by the backend")
            }
        }
    }
}

extension CourierError {
    /// The error an append (or other holder operation) gets on a request that already has a final response:
    /// ``Code/requestCancelled`` when it was cancelled, ``Code/alreadyFinished`` otherwise.
    public static func requestFinished(_ id: CorrelationID, _ status: ResponseStatus) -> CourierError {
        status == .cancelled
            ? CourierError(.requestCancelled, "request \(id) was cancelled")
            : CourierError(.alreadyFinished, "request \(id) already has a \(status.rawValue) response")
    }
}
