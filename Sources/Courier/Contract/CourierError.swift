/// The one error type every Courier operation throws (besides `CancellationError`).
///
/// Compare errors by ``code``: two errors are equal when their codes are equal, whatever their messages.
/// Messages are meant for people, never contain secrets (passwords in URLs are redacted), and may change.
public struct CourierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a stable, comparable value.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidCorrelationID, invalidQueueName, duplicateRequest, payloadTooLarge, timedOut, leaseLost
            case requestCancelled, notFound, alreadyFinished, shutDown, backendUnavailable, unknownQueueType
            case unsupportedQueueType, invalidConfiguration, decodingFailed, storageFailure, unsupportedOperation
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A correlation id was empty, too long, or held control characters.
        public static let invalidCorrelationID = Code(.invalidCorrelationID)
        /// A queue name was empty, too long, or held characters outside `[A-Za-z0-9._:-]`.
        public static let invalidQueueName = Code(.invalidQueueName)
        /// A request with this correlation id is already pending, running, or answered.
        public static let duplicateRequest = Code(.duplicateRequest)
        /// A request or response payload is larger than ``QueueConfiguration/maxPayloadBytes``.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// A wait (subscribe, submit-and-wait) ended without a response.
        public static let timedOut = Code(.timedOut)
        /// The lease presented no longer holds: another consumer owns the request now, or it was settled.
        public static let leaseLost = Code(.leaseLost)
        /// The request was cancelled while it was being worked on; stop working on it.
        public static let requestCancelled = Code(.requestCancelled)
        /// No request or response is known under this correlation id.
        public static let notFound = Code(.notFound)
        /// The request already has a stored response, so it can no longer be cancelled.
        public static let alreadyFinished = Code(.alreadyFinished)
        /// The backend was shut down; no operation is accepted any more.
        public static let shutDown = Code(.shutDown)
        /// The backend's store could not be reached (server down, connection refused, file locked too long).
        public static let backendUnavailable = Code(.backendUnavailable)
        /// `QUEUE_TYPE` named no known queue type.
        public static let unknownQueueType = Code(.unknownQueueType)
        /// `QUEUE_TYPE` named a queue type this build cannot construct.
        public static let unsupportedQueueType = Code(.unsupportedQueueType)
        /// A setting (environment variable, URL, path, duration) is malformed or out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Stored bytes could not be decoded into a request or response.
        public static let decodingFailed = Code(.decodingFailed)
        /// The store failed an operation for a reason other than being unreachable.
        public static let storageFailure = Code(.storageFailure)
        /// The adapter does not implement an optional part of the contract (see ``QueueCapabilities``).
        public static let unsupportedOperation = Code(.unsupportedOperation)

        /// The code's name, for example `duplicateRequest`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// A one-line, secret-free explanation for people.
    public let message: String
    /// The error that caused this one, when there is one.
    public let underlying: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - message: A one-line explanation; must not contain secrets.
    ///   - underlying: The cause, if any.
    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }

    /// Two errors are equal when their codes are equal.
    public static func == (lhs: CourierError, rhs: CourierError) -> Bool { lhs.code == rhs.code }
}
