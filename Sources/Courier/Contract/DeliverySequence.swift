/// The stream of deliveries a consumer receives from ``QueueBackend/consumeRequests()``.
///
/// The sequence is pull-based: a request is claimed (and its lease started) only when the consumer asks for
/// the next element, so no delivery sits leased in a buffer. It ends (returns `nil`) when the backend shuts
/// down or the consuming task is cancelled; it throws when the store fails. Each iterator is one consumer.
public struct DeliverySequence: AsyncSequence, Sendable {
    /// The element: one leased request.
    public typealias Element = Delivery

    private let claimNext: @Sendable () async throws -> Delivery?

    /// Creates a sequence from an adapter's claim operation.
    /// - Parameter claimNext: Waits for and claims the next request; returns `nil` when the sequence is over.
    public init(claimNext: @escaping @Sendable () async throws -> Delivery?) {
        self.claimNext = claimNext
    }

    /// Makes a consumer.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(claimNext: claimNext) }

    /// One consumer of the sequence.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let claimNext: @Sendable () async throws -> Delivery?
        private var finished = false

        fileprivate init(claimNext: @escaping @Sendable () async throws -> Delivery?) {
            self.claimNext = claimNext
        }

        /// Waits for and claims the next request.
        /// - Returns: The delivery, or `nil` once the backend shut down or the task was cancelled.
        /// - Throws: ``CourierError`` when the store fails.
        public mutating func next() async throws -> Delivery? {
            if finished { return nil }
            guard let delivery = try await claimNext() else {
                finished = true
                return nil
            }
            return delivery
        }
    }
}
