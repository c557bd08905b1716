import Foundation

/// Something the holder of a delivery reports while its request runs, or that the backend records itself.
public enum RequestEvent: Sendable, Hashable {
    /// A piece of partial output, such as model tokens. Bytes are kept exactly.
    case chunk(Data)
    /// How far the work has come.
    case progress(RequestProgress)
    /// An application-defined event: a short name and bytes.
    case custom(name: String, data: Data)
    /// Recorded by the backend before the first event a delivery appends: output of an earlier delivery is
    /// void, and a reader should clear it. A delivery that appends nothing records nothing, so a request that
    /// streams nothing costs nothing.
    case attemptStarted(attempt: Int)
}

/// Progress of a running request: any of a fraction, a short message and a counter.
public struct RequestProgress: Sendable, Hashable, Codable {
    /// How much is done, from 0 to 1.
    public var fraction: Double?
    /// A short text such as `validating`.
    public var message: String?
    /// A count the application defines, such as validation attempts.
    public var counter: Int?

    /// Creates a progress report.
    public init(fraction: Double? = nil, message: String? = nil, counter: Int? = nil) {
        self.fraction = fraction
        self.message = message
        self.counter = counter
    }

    /// Checks the fraction (0…1, finite) and the message length (at most 1,024 bytes).
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration``.
    public func validate() throws(CourierError) {
        if let fraction, !(fraction >= 0 && fraction <= 1) {
            throw CourierError(.invalidConfiguration, "a progress fraction must be from 0 to 1, not \(fraction)")
        }
        if let message, message.utf8.count > 1024 {
            throw CourierError(.invalidConfiguration, "a progress message must be at most 1,024 bytes")
        }
    }
}

/// An event as stored in a request's event log.
public struct RequestEventRecord: Sendable, Hashable {
    /// The event's position in its request's log: 1 for the first, strictly increasing, never reused.
    public var sequence: UInt64
    /// The event.
    public var event: RequestEvent
    /// When the backend stored it.
    public var time: Date

    /// Creates a record.
    public init(sequence: UInt64, event: RequestEvent, time: Date) {
        self.sequence = sequence
        self.event = event
        self.time = time
    }
}

/// What one ``QueueBackend/readEvents(of:after:limit:)`` returns.
public struct RequestEventPage: Sendable, Hashable {
    /// Retained events after the asked sequence number, in order, at most the asked limit.
    public var events: [RequestEventRecord]
    /// The highest sequence number trimmed away (0 when none was): events up to it can no longer be read.
    public var trimmedThrough: UInt64
    /// The sequence number of the newest event in the log (0 when it is empty).
    public var lastSequence: UInt64
    /// The request's final response, when it has one. No event is appended after it.
    public var finalResponse: QueueResponse?

    /// Creates a page.
    public init(
        events: [RequestEventRecord], trimmedThrough: UInt64, lastSequence: UInt64, finalResponse: QueueResponse?
    ) {
        self.events = events
        self.trimmedThrough = trimmedThrough
        self.lastSequence = lastSequence
        self.finalResponse = finalResponse
    }
}

/// One element of ``QueueBackend/events(for:after:)``.
public enum RequestEventElement: Sendable, Hashable {
    /// A stored event.
    case event(RequestEventRecord)
    /// Events after `after` up to and including `through` were trimmed before this reader got them.
    case gap(after: UInt64, through: UInt64)
    /// The request's final response; always the last element.
    case final(QueueResponse)
}
