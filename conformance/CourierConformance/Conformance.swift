import Courier
import Foundation

/// The entry points of the conformance kit.
///
/// ```swift
/// @Test(arguments: Conformance.cases(for: MyHarness()))
/// func conformance(_ testCase: ConformanceCase) async throws { try await testCase.run(MyHarness()) }
///
/// @Test func capabilities() async throws { try await Conformance.checkCapabilities(MyHarness()) }
/// ```
public enum Conformance {
    /// Every case of the kit, in id order.
    public static let allCases: [ConformanceCase] =
        roundTripCases + submitCases + deliveryCases + leaseCases + responseCases + subscribeCases + statusCases
        + lifecycleCases + concurrencyCases + finalStateCases + capabilityCases + exactnessCases + timingCases
        + resourceCases + eventCases + statusReportCases + listingCases

    /// The cases `harness` qualifies for: those whose capabilities it declares and whose hooks it provides.
    ///
    /// The `COURIER_CONFORMANCE_ONLY` environment variable (case ids separated by commas, such as `A1,F2`)
    /// narrows the list while an adapter is being debugged.
    public static func cases(for harness: any ConformanceHarness) -> [ConformanceCase] {
        let only = ProcessInfo.processInfo.environment["COURIER_CONFORMANCE_ONLY"].map {
            Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return allCases.filter { isEnabled($0, for: harness) && (only?.contains($0.id) ?? true) }
    }

    /// The cases `harness` does not qualify for, each with what it lacks.
    public static func skippedCases(for harness: any ConformanceHarness) -> [(ConformanceCase, String)] {
        allCases.compactMap { testCase in
            isEnabled(testCase, for: harness) ? nil : (testCase, missing(testCase.requirement, for: harness))
        }
    }

    /// Checks that a fresh backend reports exactly the capabilities the harness declares (both ways), and
    /// returns a one-line report of the cases that were gated off.
    /// - Throws: ``ConformanceFailure`` when declared and reported capabilities differ.
    @discardableResult
    public static func checkCapabilities(_ harness: any ConformanceHarness) async throws -> String {
        let context = ConformanceContext(harness: harness, caseName: "capabilities")
        let backend = try await context.backend()
        let reported = backend.capabilities
        _ = await context.shutdownAll()
        if reported != harness.declaredCapabilities {
            throw ConformanceFailure(
                rule: "capabilities",
                "the harness declares \(harness.declaredCapabilities) but the backend reports \(reported)")
        }
        // A declared capability must be proved by at least one case that runs.
        let unproved = [
            (QueueCapabilities.fifo, "fifo"), (.durable, "durable"), (.shared, "shared"), (.pushWakeups, "pushWakeups"),
        ]
        .filter { capability, _ in
            harness.declaredCapabilities.contains(capability)
                && !allCases.contains {
                    $0.requirement.capabilities.contains(capability) && isEnabled($0, for: harness)
                }
        }
        if !unproved.isEmpty {
            let names = unproved.map(\.1).joined(separator: ", ")
            throw ConformanceFailure(
                rule: "capabilities",
                "not certified: \(names) declared, but no case that proves it can run "
                    + "(durable needs the reopen hook); provide the hook or stop declaring it")
        }
        let skipped = skippedCases(for: harness).map { "\($0.0) (needs \($0.1))" }
        return skipped.isEmpty ? "all \(allCases.count) cases apply" : "not run: " + skipped.joined(separator: ", ")
    }

    /// Runs every applicable case `copies` times concurrently (unique queues), as a stress test; the
    /// `COURIER_CONFORMANCE_STRESS` environment variable sets `copies` when given.
    /// - Throws: The first ``ConformanceFailure`` found.
    public static func stress(_ harness: any ConformanceHarness, copies: Int = 4) async throws {
        let count = ProcessInfo.processInfo.environment["COURIER_CONFORMANCE_STRESS"].flatMap(Int.init) ?? copies
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                for testCase in cases(for: harness) { group.addTask { try await testCase.run(harness) } }
            }
            try await group.waitForAll()
        }
    }

    private static func isEnabled(_ testCase: ConformanceCase, for harness: any ConformanceHarness) -> Bool {
        harness.declaredCapabilities.isSuperset(of: testCase.requirement.capabilities)
            && harness.availableHooks.isSuperset(of: testCase.requirement.hooks)
    }

    private static func missing(
        _ requirement: ConformanceCase.Requirement, for harness: any ConformanceHarness
    )
        -> String
    {
        var needs: [String] = []
        let capabilities = requirement.capabilities.subtracting(harness.declaredCapabilities)
        if !capabilities.isEmpty { needs.append("capabilities \(capabilities)") }
        let hooks = requirement.hooks.subtracting(harness.availableHooks)
        if hooks.contains(.reopen) { needs.append("the reopen hook") }
        if hooks.contains(.restartServer) { needs.append("the restartServer hook") }
        if hooks.contains(.resourceProbe) { needs.append("the resource probe") }
        return needs.joined(separator: " and ")
    }
}
