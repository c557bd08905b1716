import Courier
import Foundation
import Synchronization

/// A deliberately broken adapter: the memory adapter with one contract violation, to prove the kit notices.
final class MutantBackend: QueueBackend {
    enum Mutation: String, CaseIterable, Sendable {
        /// Silently drops 1 in 100 published requests.
        case dropsOneInHundred
        /// Hands every delivery to its consumer twice.
        case deliversTwice
        /// Reports every response as stored, even a second one.
        case answersTwice
        /// Keeps serving responses after their TTL.
        case neverExpiresResponses
        /// Ignores the lease when storing a response.
        case ignoresFencing
        /// Never dead-letters: gives exhausted requests back as if they were new.
        case neverDeadLetters
        /// Spends the attempt when a delivery is given back, as a release would.
        case giveBackSpendsAttempt
        /// Gives a delivery back at once when asked to give it back after a delay.
        case delayedGiveBackComesBackAtOnce
        /// `subscribe` never returns, and ignores cancellation and its own timeout.
        case hangsInSubscribe
        /// The delivery stream's `next()` never returns, and ignores cancellation.
        case hangsInConsume
        /// `shutdown()` never returns.
        case hangsInShutdown
        /// `subscribe` times out 3 s after its timeout.
        case subscribeReturnsLate
        /// `getResponse` for an unanswered id waits 6 s before saying there is none.
        case getResponseWaits
        /// Waiters wake only when a response is published; dead letters, deadlines and cancels leave them waiting.
        case wakesOnlyOnAnswers
        /// Waiters wake on published responses and cancels, not on what the store decides itself.
        case wakesOnlyOnAnswersAndCancels
        /// `status` reports every finished request as completed.
        case statusSaysCompletedWhenFinished
        /// `status` forgets a finished request at once.
        case statusForgetsFinished
        /// Republishing the id of a failed, cancelled or dead-lettered request is accepted (and dropped).
        case republishAcceptedUnlessCompleted
        /// Republishing the id of a cancelled request is accepted (and dropped).
        case republishAcceptedAfterCancel
        /// Cancelling a request that waits for its retry reports success but leaves it queued.
        case cancelIgnoredWhileWaitingForRetry
        /// Cancelling a request that is already cancelled reports success instead of alreadyFinished.
        case cancelTwiceSucceeds
        /// Deadlines are dropped when a request is published.
        case dropsDeadlines
        /// Deadlines are moved 5 s later when a request is published.
        case extendsDeadlines
        /// Instances share queues (like a store), but queue names that differ only in case share one queue.
        case queueNamesCaseInsensitive
        /// Instances share queues, but names are compared without case and accents.
        case queueNamesFolded
        /// Claims `durable` (and its harness declares it) without any way to prove it.
        case claimsDurable
        /// Claims `shared` though two instances share nothing.
        case claimsShared
        /// Claims `pushWakeups` but waiters look for their response once a second.
        case subscribePollsEverySecond
        /// Claims `pushWakeups` but waiters look for their response twice a second.
        case subscribePollsEveryHalfSecond
        /// Keeps only the first MiB of a larger request payload.
        case truncatesLargePayloads
        /// Drops the last byte of a response payload of a MiB or more.
        case dropsLastByteOfLargeResponses
        /// Trims trailing whitespace from request payloads.
        case trimsTrailingWhitespace
        /// Returns response header keys in lower case.
        case lowercasesHeaderKeys
        /// Cuts error descriptions to 1,000 characters.
        case truncatesLongErrors
        /// Refuses an id that differs from a published one only in case.
        case idsCaseInsensitive
        /// Finds a response under an id that differs from the asked one only in case.
        case getResponseCaseInsensitive
        /// Answers `status` after shutdown.
        case statusAfterShutdown
        /// Accepts `release` after shutdown.
        case releaseAfterShutdown
        /// Leases last ten times as long as the `Lease` says.
        case leaseTenTimesAsLongAsReported
        /// Leases last a tenth as long as the `Lease` says.
        case leaseATenthAsLongAsReported
        /// Responses stay readable for ten times their TTL.
        case keepsResponsesTenTimesTheTTL
        /// Responses disappear after a tenth of their TTL.
        case expiresResponsesAtATenthOfTheTTL
        /// Drops one chunk in a hundred.
        case dropsEveryHundredthChunk
        /// Swaps the first two events of every batch appended.
        case reordersChunkPairs
        /// Appends for any caller, holder of the current lease or not.
        case appendsWithoutFencing
        /// Reports no trimming: a reader behind trimmed events sees a silent hole.
        case hidesTrimming
        /// Replays a resuming reader's events from the start.
        case replaysFromTheStart
        /// Status reports never carry progress.
        case reportsNoProgress
        /// Status reports keep the start of the first delivery, not the latest.
        case reportsTheFirstStart
        /// Status reports forget when a request was submitted once it finishes.
        case reportForgetsSubmissionWhenFinished
        /// `subscribeWithStatusReport` returns the report as it stood when the wait began, not once answered.
        case reportsTheWaitsStartOnWake
        /// `publishRequestAndWait` cancels the request it gave up waiting on, instead of leaving it published.
        case cancelsWhatItGaveUpWaitingOn
        /// Every wait leaves a timer task behind that sleeps for an hour.
        case leavesATimerPerWait
        /// Every wait leaves a record of about 1 KiB behind (the id, the timeout and a buffer).
        case keepsEveryWaiterRecord
        /// Every backend starts a thread that outlives its shutdown.
        case keepsAThreadAfterShutdown
        /// Every backend opens a file that its shutdown never closes.
        case keepsAFileOpenAfterShutdown
        /// Status reports forget the request's fingerprint once it is answered.
        case reportForgetsFingerprintWhenFinished
        /// Request counts leave cancelled responses out.
        case countsIgnoreCancelled
        /// Request counts report leased requests as pending.
        case countsRunningAsPending
        /// Listings come oldest first.
        case listsOldestFirst
        /// Listings ignore their filter.
        case listingIgnoresFilter

        /// What the mutant (and its harness) claims.
        var capabilities: QueueCapabilities {
            switch self {
            case .claimsDurable: [.fifo, .pushWakeups, .eventStreams, .requestListing, .durable]
            case .claimsShared, .queueNamesCaseInsensitive, .queueNamesFolded:
                [.fifo, .pushWakeups, .eventStreams, .requestListing, .shared]
            default: [.fifo, .pushWakeups, .eventStreams, .requestListing]
            }
        }
    }

    let base: MemoryQueueBackend
    let mutation: Mutation
    private let published = Atomic<Int>(0)
    private let chunksSeen = Atomic<Int>(0)
    /// The newest lease handed out for each id, for the mutant that appends for stale holders.
    private let latestLeases = Mutex<[CorrelationID: Lease]>([:])
    /// The first start reported for each id, for the mutant that never moves it.
    private let firstStarts = Mutex<[CorrelationID: Date]>([:])
    private let forever = Mutex<[CorrelationID: QueueResponse]>([:])
    private let stuck = Mutex<[UnsafeContinuation<Void, Never>]>([])
    /// Ids this wrapper saw answered (or cancelled), for the mutants that wake only on those.
    private let signalled = Mutex<Set<CorrelationID>>([])
    private let publishedIDs = Mutex<[String: CorrelationID]>([:])
    private let isShutDown = Atomic<Bool>(false)
    private let waiterRecords = Mutex<[(CorrelationID, Duration, [UInt8])]>([])

    /// Waits forever, ignoring cancellation (the continuation is kept, never resumed).
    private func hang() async {
        await withUnsafeContinuation { continuation in stuck.withLock { $0.append(continuation) } }
    }

    /// The configuration the mutant reports, which its memory queue may not follow.
    let configuration: QueueConfiguration

    init(_ mutation: Mutation, configuration: QueueConfiguration) throws {
        self.configuration = configuration
        var actual = configuration
        switch mutation {
        case .neverDeadLetters: actual.maxAttempts = 1_000
        case .leaseTenTimesAsLongAsReported: actual.leaseDuration = configuration.leaseDuration * 10
        case .leaseATenthAsLongAsReported: actual.leaseDuration = configuration.leaseDuration / 10
        case .keepsResponsesTenTimesTheTTL: actual.responseTTL = configuration.responseTTL * 10
        case .expiresResponsesAtATenthOfTheTTL: actual.responseTTL = configuration.responseTTL / 10
        default: break
        }
        switch mutation {
        case .queueNamesCaseInsensitive:
            self.base = try Self.sharedQueue(actual, key: actual.queueName.lowercased())
        case .queueNamesFolded:
            let key = actual.queueName.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            self.base = try Self.sharedQueue(actual, key: key)
        default:
            self.base = try MemoryQueueBackend(configuration: actual)
        }
        self.mutation = mutation
        if mutation == .keepsAThreadAfterShutdown {
            Thread { Thread.sleep(forTimeInterval: 300) }.start()
        }
        if mutation == .keepsAFileOpenAfterShutdown { _ = open("/dev/null", O_RDONLY) }
    }

    /// Memory queues shared by every instance that names them alike, as a store would share them.
    private static let sharedQueues = Mutex<[String: MemoryQueueBackend]>([:])

    private static func sharedQueue(_ configuration: QueueConfiguration, key: String) throws -> MemoryQueueBackend {
        try sharedQueues.withLock { queues in
            if let queue = queues[key] { return queue }
            let queue = try MemoryQueueBackend(configuration: configuration)
            queues[key] = queue
            return queue
        }
    }

    var capabilities: QueueCapabilities { mutation.capabilities }

    /// The delivery with its lease reported as the configured one, whatever the memory queue really gives.
    private func reported(_ delivery: Delivery?) -> Delivery? {
        guard let delivery, mutation == .leaseTenTimesAsLongAsReported || mutation == .leaseATenthAsLongAsReported
        else { return delivery }
        let lease = Lease(
            correlationID: delivery.lease.correlationID, attempt: delivery.lease.attempt, token: delivery.lease.token,
            expiresAt: Date(timeIntervalSinceNow: configuration.leaseDuration.inSeconds))
        return Delivery(request: delivery.request, lease: lease, maxAttempts: configuration.maxAttempts)
    }

    func publishRequest(_ request: QueueRequest) async throws {
        if mutation == .dropsOneInHundred, published.add(1, ordering: .relaxed).newValue % 100 == 50 { return }
        var request = request
        if mutation == .dropsDeadlines { request.deadline = nil }
        if mutation == .extendsDeadlines { request.deadline = request.deadline?.addingTimeInterval(5) }
        if mutation == .truncatesLargePayloads && request.payload.count > 1 << 20 {
            request.payload = request.payload.prefix(1 << 20)
        }
        if mutation == .trimsTrailingWhitespace {
            while let last = request.payload.last, [9, 10, 13, 32].contains(last) { request.payload.removeLast() }
        }
        if mutation == .idsCaseInsensitive {
            let key = request.correlationID.rawValue.lowercased()
            if let earlier = publishedIDs.withLock({ $0[key] }), earlier != request.correlationID {
                throw CourierError(.duplicateRequest, "\(request.correlationID) is already published")
            }
            publishedIDs.withLock { $0[key] = request.correlationID }
        }
        do {
            try await base.publishRequest(request)
        } catch let error as CourierError where error.code == .duplicateRequest {
            let stored = try await base.getResponse(for: request.correlationID)?.status
            if mutation == .republishAcceptedUnlessCompleted, let stored, stored != .completed { return }
            if mutation == .republishAcceptedAfterCancel, stored == .cancelled { return }
            throw error
        }
    }

    func consumeRequests() -> DeliverySequence {
        if mutation == .hangsInConsume {
            return DeliverySequence { [self] in
                await hang()
                return nil
            }
        }
        if mutation == .leaseTenTimesAsLongAsReported || mutation == .leaseATenthAsLongAsReported {
            return DeliverySequence { [base] in
                var iterator = base.consumeRequests().makeAsyncIterator()
                return self.reported(try await iterator.next())
            }
        }
        if mutation == .appendsWithoutFencing {
            return DeliverySequence { [self] in
                var iterator = base.consumeRequests().makeAsyncIterator()
                let delivery = try await iterator.next()
                if let delivery { self.latestLeases.withLock { $0[delivery.request.correlationID] = delivery.lease } }
                return delivery
            }
        }
        guard mutation == .deliversTwice else { return base.consumeRequests() }
        let repeated = Mutex<Delivery?>(nil)
        return DeliverySequence { [base] in
            if let again = repeated.withLock({ value -> Delivery? in
                defer { value = nil }; return value
            }) {
                return again
            }
            var iterator = base.consumeRequests().makeAsyncIterator()
            let delivery = try await iterator.next()
            repeated.withLock { $0 = delivery }
            return delivery
        }
    }

    func publishResponse(_ response: QueueResponse, settling lease: Lease?) async throws -> PublishResponseResult {
        var response = response
        if mutation == .dropsLastByteOfLargeResponses && response.payload.count >= 1 << 20 {
            response.payload.removeLast()
        }
        if mutation == .truncatesLongErrors, let error = response.error, error.count > 1000 {
            response.error = String(error.prefix(1000))
        }
        if mutation == .getResponseCaseInsensitive {
            publishedIDs.withLock { $0[response.correlationID.rawValue.lowercased()] = response.correlationID }
        }
        let result = try await base.publishResponse(response, settling: mutation == .ignoresFencing ? nil : lease)
        signalled.withLock { _ = $0.insert(response.correlationID) }
        if mutation == .neverExpiresResponses, result == .stored {
            forever.withLock { $0[response.correlationID] = response }
        }
        return mutation == .answersTwice ? .stored : result
    }

    func getResponse(for correlationID: CorrelationID) async throws -> QueueResponse? {
        if let kept = forever.withLock({ $0[correlationID] }) { return kept }
        var response = try await base.getResponse(for: correlationID)
        if response == nil && mutation == .getResponseWaits { try await Task.sleep(for: .seconds(6)) }
        if response == nil && mutation == .getResponseCaseInsensitive,
            let other = publishedIDs.withLock({ $0[correlationID.rawValue.lowercased()] }), other != correlationID
        {
            response = try await base.getResponse(for: other)
        }
        return response.map(lowercasedHeadersIfMutated)
    }

    func subscribe(to correlationID: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        if mutation == .hangsInSubscribe { await hang() }
        if mutation == .leavesATimerPerWait { Task { try? await Task.sleep(for: .seconds(3600)) } }
        if mutation == .keepsEveryWaiterRecord {
            waiterRecords.withLock { $0.append((correlationID, timeout, [UInt8](repeating: 0, count: 1024))) }
        }
        if mutation == .subscribeReturnsLate {
            do {
                return try await base.subscribe(to: correlationID, timeout: timeout)
            } catch let error as CourierError where error.code == .timedOut {
                try await Task.sleep(for: .seconds(3))
                throw error
            }
        }
        if mutation == .wakesOnlyOnAnswers || mutation == .wakesOnlyOnAnswersAndCancels {
            return try await subscribeBySignal(correlationID, timeout: timeout)
        }
        if mutation == .subscribePollsEverySecond || mutation == .subscribePollsEveryHalfSecond {
            let interval: Duration = mutation == .subscribePollsEverySecond ? .seconds(1) : .milliseconds(500)
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let response = try await base.getResponse(for: correlationID) { return response }
                try await Task.sleep(for: interval)
            }
            throw CourierError(.timedOut, "no response to \(correlationID) within \(timeout)")
        }
        return lowercasedHeadersIfMutated(try await base.subscribe(to: correlationID, timeout: timeout))
    }

    private func lowercasedHeadersIfMutated(_ response: QueueResponse) -> QueueResponse {
        guard mutation == .lowercasesHeaderKeys else { return response }
        var response = response
        response.headers = Dictionary(response.headers.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
        return response
    }

    /// A waiter that looks for a stored response once, then only when this wrapper saw the id answered.
    private func subscribeBySignal(_ id: CorrelationID, timeout: Duration) async throws -> QueueResponse {
        if let response = try await base.getResponse(for: id) { return response }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if signalled.withLock({ $0.contains(id) }), let response = try await base.getResponse(for: id) {
                return response
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CourierError(.timedOut, "no response to \(id) within \(timeout)")
    }

    func status(of correlationID: CorrelationID) async throws -> RequestState {
        if mutation == .statusAfterShutdown && isShutDown.load(ordering: .relaxed) { return .unknown }
        let state = try await base.status(of: correlationID)
        guard case .finished = state else { return state }
        if mutation == .statusSaysCompletedWhenFinished { return .finished(.completed) }
        if mutation == .statusForgetsFinished { return .unknown }
        return state
    }

    func requestCounts() async throws -> RequestCounts {
        var counts = try await base.requestCounts()
        switch mutation {
        case .countsIgnoreCancelled: counts.finished[.cancelled] = nil
        case .countsRunningAsPending:
            counts.pending += counts.running
            counts.running = 0
        default: break
        }
        return counts
    }

    func recentRequests(limit: Int, matching filter: RequestStateFilter) async throws -> [RequestSummary] {
        switch mutation {
        case .listsOldestFirst:
            let all = try await base.recentRequests(limit: RequestSummary.listingLimit, matching: filter)
            return Array(all.reversed().prefix(limit))
        case .listingIgnoresFilter: return try await base.recentRequests(limit: limit, matching: .any)
        default: return try await base.recentRequests(limit: limit, matching: filter)
        }
    }

    func statusReport(of correlationID: CorrelationID) async throws -> RequestStatusReport {
        var report = try await base.statusReport(of: correlationID)
        switch mutation {
        case .reportsNoProgress: report.progress = nil
        case .reportsTheFirstStart:
            if let started = report.startedAt {
                report.startedAt = firstStarts.withLock { starts in
                    if let first = starts[correlationID] { return first }
                    starts[correlationID] = started
                    return started
                }
            }
        case .reportForgetsFingerprintWhenFinished:
            if case .finished = report.state { report.fingerprint = nil }
        case .reportForgetsSubmissionWhenFinished:
            if case .finished = report.state { report.submittedAt = nil }
        default: break
        }
        return report
    }

    func cancel(_ correlationID: CorrelationID) async throws -> CancelResult {
        if mutation == .cancelIgnoredWhileWaitingForRetry,
            case .pending(let attempt) = try await base.status(of: correlationID),
            attempt > 1
        {
            return .removedPending
        }
        if mutation == .cancelTwiceSucceeds, try await base.getResponse(for: correlationID)?.status == .cancelled {
            return .removedPending
        }
        let result = try await base.cancel(correlationID)
        if mutation == .wakesOnlyOnAnswersAndCancels { signalled.withLock { _ = $0.insert(correlationID) } }
        return result
    }

    func extendLease(_ lease: Lease) async throws -> Lease { try await base.extendLease(lease) }

    func appendEvents(_ events: [RequestEvent], holding lease: Lease) async throws -> UInt64 {
        var events = events
        if mutation == .dropsEveryHundredthChunk {
            events = events.filter { event in
                guard case .chunk = event else { return true }
                return chunksSeen.add(1, ordering: .relaxed).newValue % 100 != 50
            }
        }
        if mutation == .reordersChunkPairs, events.count >= 2 { events.swapAt(0, 1) }
        if mutation == .appendsWithoutFencing, let current = latestLeases.withLock({ $0[lease.correlationID] }) {
            return try await base.appendEvents(events, holding: current)
        }
        return try await base.appendEvents(events, holding: lease)
    }

    func readEvents(
        of correlationID: CorrelationID, after sequence: UInt64, limit: Int
    ) async throws
        -> RequestEventPage?
    {
        guard var page = try await base.readEvents(of: correlationID, after: sequence, limit: limit) else { return nil }
        if mutation == .hidesTrimming { page.trimmedThrough = 0 }
        if mutation == .replaysFromTheStart, sequence > 0 {
            page = try await base.readEvents(of: correlationID, after: 0, limit: limit) ?? page
        }
        return page
    }

    func waitForEvents(
        of correlationID: CorrelationID, after sequence: UInt64, timeout: Duration
    ) async throws
        -> Bool
    {
        try await base.waitForEvents(of: correlationID, after: sequence, timeout: timeout)
    }

    func release(_ lease: Lease, retryAfter: Duration, reason: String?) async throws {
        if mutation == .releaseAfterShutdown && isShutDown.load(ordering: .relaxed) { return }
        try await base.release(lease, retryAfter: retryAfter, reason: reason)
    }

    func giveBack(_ lease: Lease, after delay: Duration) async throws {
        if mutation == .delayedGiveBackComesBackAtOnce {
            try await base.giveBack(lease)
        } else if mutation == .giveBackSpendsAttempt {
            try await base.release(lease, retryAfter: delay, reason: nil)
        } else {
            try await base.giveBack(lease, after: delay)
        }
    }

    func giveBack(_ lease: Lease) async throws {
        if mutation == .giveBackSpendsAttempt {
            try await base.release(lease, retryAfter: .zero, reason: nil)
        } else {
            try await base.giveBack(lease)
        }
    }

    func shutdown() async {
        isShutDown.store(true, ordering: .relaxed)
        await base.shutdown()
        if mutation == .hangsInShutdown { await hang() }
    }
}
