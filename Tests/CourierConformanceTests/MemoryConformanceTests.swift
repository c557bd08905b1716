import Courier
import CourierConformance
import Testing

/// Certifies the memory adapter exactly as docs/writing-an-adapter.md tells a third party to.
struct MemoryHarness: ConformanceHarness {
    var declaredCapabilities: QueueCapabilities { [.fifo, .pushWakeups, .eventStreams, .requestListing] }
    /// Leases, TTLs and bounds generous enough for a loaded 2-core machine running the whole suite at once.
    var timing: ConformanceTiming {
        .init(lease: .seconds(4), responseTTL: .seconds(4), wakeBound: .milliseconds(100), scale: 10)
    }
    var availableHooks: ConformanceHooks { [.resourceProbe] }

    func makeBackend(configuration: QueueConfiguration) async throws -> any QueueBackend {
        try MemoryQueueBackend(configuration: configuration)
    }

    func openResources(of backend: any QueueBackend) async throws -> Int {
        let diagnostics = (backend as! MemoryQueueBackend).diagnostics()
        return diagnostics.waiters + diagnostics.idleConsumers
    }
}

@Suite("Memory adapter conformance")
struct MemoryConformanceTests {
    @Test(arguments: Conformance.cases(for: MemoryHarness()))
    func conformance(_ testCase: ConformanceCase) async throws {
        try await testCase.run(MemoryHarness())
    }

    @Test func capabilities() async throws {
        let report = try await Conformance.checkCapabilities(MemoryHarness())
        #expect(report.contains("H3"), "durable cases should be reported as not run: \(report)")
    }

    @Test func kitHasEnoughCases() {
        #expect(Conformance.allCases.count >= 40)
        #expect(Set(Conformance.allCases.map(\.id)).count == Conformance.allCases.count, "case ids repeat")
    }
}
