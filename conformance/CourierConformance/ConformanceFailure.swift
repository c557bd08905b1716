/// A broken rule of the `QueueBackend` contract, found by a conformance case.
public struct ConformanceFailure: Error, Sendable, CustomStringConvertible {
    /// The rule that was broken, such as `rule 3 lease` or `F2 subscribeBeforeResponse`.
    public let rule: String
    /// What happened, naming the request involved.
    public let message: String

    /// Creates a failure.
    public init(rule: String, _ message: String) {
        self.rule = rule
        self.message = message
    }

    /// `rule: message`.
    public var description: String { "\(rule): \(message)" }
}
