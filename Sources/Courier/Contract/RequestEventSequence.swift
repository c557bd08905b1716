/// A reader of one request's events: first the retained events after a sequence number (catch-up), then live
/// ones, then the final response as the last element. See ``QueueBackend/events(for:after:)``.
///
/// Built only on ``QueueBackend/readEvents(of:after:limit:)`` and ``QueueBackend/waitForEvents(of:after:timeout:)``,
/// so every adapter that implements those two gets the same reader. Iterating throws ``CourierError`` with code
/// ``CourierError/Code/notFound`` for an id the backend does not know (never published, or expired), and
/// `CancellationError` when the reading task is cancelled; a reader that stops holds nothing.
public struct RequestEventSequence: AsyncSequence, Sendable {
    /// Events, gap markers and, last, the final response.
    public typealias Element = RequestEventElement

    let backend: any QueueBackend
    let correlationID: CorrelationID
    let after: UInt64

    /// Creates a reader of the events of `correlationID` after sequence number `after`.
    public init(backend: any QueueBackend, correlationID: CorrelationID, after: UInt64) {
        self.backend = backend
        self.correlationID = correlationID
        self.after = after
    }

    /// A reader positioned after the sequence number given at creation.
    public func makeAsyncIterator() -> Iterator {
        Iterator(backend: backend, correlationID: correlationID, position: after)
    }

    /// Reads pages and waits between them.
    public struct Iterator: AsyncIteratorProtocol {
        let backend: any QueueBackend
        let correlationID: CorrelationID
        var position: UInt64
        var buffered: [RequestEventElement] = []
        var finished = false
        /// Whether the last read reached the newest event of a log without a final response: the next read waits
        /// first (a read at once would find nothing).
        var caughtUp = false
        /// How many events one read asks for.
        private let pageSize = 256
        /// How long one wait lasts before the reader looks again (a safety net; wake-ups are pushed).
        private let waitSlice: Duration = .seconds(30)

        /// The next element, waiting for it if need be; `nil` after the final response.
        /// - Throws: ``CourierError`` (`notFound` for an unknown id, or what the backend throws) or
        ///   `CancellationError`.
        public mutating func next() async throws -> RequestEventElement? {
            while true {
                switch try await next(idlingAtMost: waitSlice) {
                case .element(let element): return element
                case .end: return nil
                case .idle: continue
                }
            }
        }

        /// What ``next(idlingAtMost:)`` found.
        public enum Step: Sendable {
            /// The next element.
            case element(RequestEventElement)
            /// Nothing arrived within the interval; the reader keeps its position, and the next call goes on.
            case idle
            /// The final response has been returned: the log is read to its end.
            case end
        }

        /// The next element, or ``Step/idle`` when nothing arrives within `interval`, so one task can follow a log
        /// and do something else on a clock (an event stream's heartbeat) without a second task. Iterating with
        /// ``next()`` and with this method can be mixed.
        /// - Throws: ``CourierError`` (`notFound` for an unknown id, or what the backend throws) or
        ///   `CancellationError`.
        public mutating func next(idlingAtMost interval: Duration) async throws -> Step {
            while buffered.isEmpty {
                if finished { return .end }
                try Task.checkCancellation()
                if try await !fill(waitingAtMost: interval) { return .idle }
            }
            return .element(buffered.removeFirst())
        }

        /// Reads the next page into `buffered`, waiting up to `limit` first when the last read was caught up and
        /// after a read that found nothing; false when such a wait ended at `limit` (the next call reads again).
        private mutating func fill(waitingAtMost limit: Duration) async throws -> Bool {
            if caughtUp {
                caughtUp = false
                if try await !backend.waitForEvents(of: correlationID, after: position, timeout: limit) { return false }
            }
            guard let page = try await backend.readEvents(of: correlationID, after: position, limit: pageSize)
            else {
                throw CourierError(.notFound, "no request with correlation id \(correlationID)")
            }
            if page.trimmedThrough > position {
                buffered.append(.gap(after: position, through: page.trimmedThrough))
                position = page.trimmedThrough
            }
            // Passed on as the adapter gives them, never de-duplicated: the conformance kit must see what it returns.
            for record in page.events {
                buffered.append(.event(record))
                position = Swift.max(position, record.sequence)
            }
            if !buffered.isEmpty {
                caughtUp = page.finalResponse == nil && position >= page.lastSequence
                return true
            }
            if let response = page.finalResponse, position >= page.lastSequence {
                buffered.append(.final(response))
                finished = true
                return true
            }
            if position < page.lastSequence {
                // The log says it holds more than it returned: report it as a gap rather than read forever.
                buffered.append(.gap(after: position, through: page.lastSequence))
                position = page.lastSequence
                return true
            }
            return try await backend.waitForEvents(of: correlationID, after: position, timeout: limit)
        }
    }
}
