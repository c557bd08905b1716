import Courier

/// One rule of the contract, runnable against any harness.
///
/// Cases are values: pass them to a parameterized `@Test` (`@Test(arguments: Conformance.cases(for: h))`) and call
/// ``run(_:)``, or call ``run(_:)`` from XCTest. A failing case throws ``ConformanceFailure`` naming the rule.
public struct ConformanceCase: Sendable, CustomStringConvertible {
    /// What a case needs beyond the mandatory contract.
    public struct Requirement: Sendable, Hashable {
        /// Capabilities the harness must declare.
        public var capabilities: QueueCapabilities = []
        /// Hooks the harness must provide.
        public var hooks: ConformanceHooks = []
    }

    /// The case id from `docs/conformance.md`, such as `F2`.
    public let id: String
    /// The case's name, such as `subscribeBeforeResponse`.
    public let name: String
    /// What the case needs to run.
    public let requirement: Requirement
    let body: @Sendable (ConformanceContext) async throws -> Void

    init(
        _ id: String, _ name: String, needs capabilities: QueueCapabilities = [], hooks: ConformanceHooks = [],
        body: @escaping @Sendable (ConformanceContext) async throws -> Void
    ) {
        self.id = id
        self.name = name
        self.requirement = Requirement(capabilities: capabilities, hooks: hooks)
        self.body = body
    }

    /// `F2 subscribeBeforeResponse`.
    public var description: String { "\(id) \(name)" }

    /// Runs the case against `harness` with a kit-owned deadline, then shuts down every backend it opened.
    /// - Throws: ``ConformanceFailure`` naming the broken rule, or the error the adapter threw unexpectedly.
    public func run(_ harness: any ConformanceHarness) async throws {
        let context = ConformanceContext(harness: harness, caseName: name)
        let timing = context.timing
        let deadline = max(timing.scaled(timing.lease * 20), timing.scaled(.seconds(10)))
        let failure: ConformanceFailure?
        switch await Deadline.race(deadline, { try await body(context) }) {
        case .finished(.success):
            failure = nil
        case .finished(.failure(let caught as ConformanceFailure)):
            failure = ConformanceFailure(rule: "\(description) [\(caught.rule)]", caught.message)
        case .finished(.failure(let error)):
            failure = ConformanceFailure(rule: description, "unexpected error: \(error)")
        case .expired:
            let waiting = context.callsInFlight
            failure = ConformanceFailure(
                rule: description,
                "the case did not finish within its deadline of \(deadline)"
                    + (waiting.isEmpty ? "" : "; these calls never returned: " + waiting.joined(separator: ", ")))
        }
        let stuck = await context.shutdownAll()
        if let failure { throw failure }
        if !stuck.isEmpty {
            throw ConformanceFailure(rule: "\(description) [rule 8 shutdown]", stuck.joined(separator: "; "))
        }
    }
}
