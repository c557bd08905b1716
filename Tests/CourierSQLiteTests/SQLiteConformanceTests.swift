import Courier
import CourierConformance
import CourierSQLite
import Foundation
import Testing

/// Certifies the SQLite adapter with the conformance kit, each queue in its own file in a temporary directory.
struct SQLiteHarness: ConformanceHarness {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("courier-sqlite-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    var declaredCapabilities: QueueCapabilities { [.fifo, .durable, .shared, .eventStreams, .requestListing] }
    /// Leases, TTLs and bounds generous enough for a loaded 2-core machine running the whole suite at once.
    var timing: ConformanceTiming {
        .init(lease: .seconds(4), responseTTL: .seconds(4), wakeBound: .milliseconds(100), scale: 10)
    }
    var availableHooks: ConformanceHooks { [.reopen, .resourceProbe] }

    func makeBackend(configuration: QueueConfiguration) async throws -> any QueueBackend {
        let path = Self.directory.appendingPathComponent("\(configuration.queueName).sqlite3").path
        return try await SQLiteQueueBackend(path: path, configuration: configuration)
    }

    func openResources(of backend: any QueueBackend) async throws -> Int {
        (backend as! SQLiteQueueBackend).waitingTasks
    }
}

@Suite("SQLite adapter conformance")
struct SQLiteConformanceTests {
    @Test(arguments: Conformance.cases(for: SQLiteHarness()))
    func conformance(_ testCase: ConformanceCase) async throws {
        try await testCase.run(SQLiteHarness())
    }

    @Test func capabilities() async throws {
        try await Conformance.checkCapabilities(SQLiteHarness())
    }
}
