import Courier
import Foundation

/// ``QueueBackend/requestCounts()`` and ``QueueBackend/recentRequests(limit:matching:)``: the counts follow every
/// transition exactly, and listings are newest first, filtered and limited.
extension Conformance {
    static let listingCases: [ConformanceCase] = [
        ConformanceCase("L1", "countsFollowEveryTransition", needs: .requestListing) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            try await c.expectCounts(backend, RequestCounts(), "a new queue")
            for index in 0..<6 { try await c.publish(backend, "request \(index)") }
            try await c.expectCounts(backend, RequestCounts(pending: 6), "after six publishes")
            let first = try await c.claim(backend, rule: "L1")
            let second = try await c.claim(backend, rule: "L1")
            let third = try await c.claim(backend, rule: "L1")
            try await c.expectCounts(backend, RequestCounts(pending: 3, running: 3), "after three claims")
            try await c.answer(backend, first)
            try await backend.publishResponse(
                .failure(second.request.correlationID, status: .failed, error: "no"), settling: second.lease)
            try await backend.release(third.lease, retryAfter: .seconds(3_600), reason: "later")
            try await c.expectCounts(
                backend, RequestCounts(pending: 4, finished: [.completed: 1, .failed: 1]),
                "after an answer, a failure and a release with a retry delay")
            try await backend.cancel(third.request.correlationID)
            let fourth = try await c.claim(backend, rule: "L1")
            try await backend.cancel(fourth.request.correlationID)
            try await c.expectCounts(
                backend, RequestCounts(pending: 2, finished: [.completed: 1, .failed: 1, .cancelled: 2]),
                "after cancelling a request waiting for its retry and a running one")
        },
        ConformanceCase("L2", "recentRequestsNewestFirst", needs: .requestListing) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let ids = try await (0..<5).asyncMap { try await c.publish(backend, "request \($0)").correlationID }
            let delivery = try await c.claim(backend, rule: "L2")
            try await c.answer(backend, delivery)
            let listed = try await backend.recentRequests(limit: 10, matching: .any)
            try c.expect(
                listed.map(\.correlationID) == ids.reversed(), "L2 newest first",
                "published \(ids), listed \(listed.map(\.correlationID))")
            for summary in listed {
                let report = try await backend.statusReport(of: summary.correlationID)
                try c.expect(
                    summary.report.state == report.state && summary.report.submittedAt == report.submittedAt,
                    "L2 reports", "listed \(summary.report) but the status report says \(report)")
            }
            let newest = try await backend.recentRequests(limit: 2, matching: .any)
            try c.expect(
                newest.map(\.correlationID) == Array(ids.reversed().prefix(2)), "L2 limit",
                "a limit of 2 listed \(newest.map(\.correlationID)), not the newest two of \(ids)")
        },
        ConformanceCase("L3", "recentRequestsFiltered", needs: .requestListing) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let ids = try await (0..<5).asyncMap { try await c.publish(backend, "request \($0)").correlationID }
            let answered = try await c.claim(backend, rule: "L3")
            try await c.answer(backend, answered)
            let running = try await c.claim(backend, rule: "L3")
            try await backend.cancel(ids[4])
            let expected: [(RequestStateFilter, [CorrelationID])] = [
                (.pending, [ids[3], ids[2]]), (.running, [running.request.correlationID]),
                (.finished(nil), [ids[4], answered.request.correlationID]),
                (.finished(.completed), [answered.request.correlationID]), (.finished(.cancelled), [ids[4]]),
                (.finished(.deadLettered), []),
            ]
            for (filter, wanted) in expected {
                let listed = try await backend.recentRequests(limit: 10, matching: filter).map(\.correlationID)
                try c.expect(listed == wanted, "L3 filter", "\(filter) listed \(listed), expected \(wanted)")
            }
        },
        ConformanceCase("L4", "listingRejectsBadLimits", needs: .requestListing) { c in
            let backend = try await c.backend()
            for limit in [0, -1, RequestSummary.listingLimit + 1] {
                try await c.expectError(.invalidConfiguration, "L4", "a listing with limit \(limit)") {
                    _ = try await backend.recentRequests(limit: limit, matching: .any)
                }
            }
            let listed = try await backend.recentRequests(limit: RequestSummary.listingLimit, matching: .any)
            try c.expect(listed.isEmpty, "L4", "a new queue lists \(listed)")
        },
    ]
}

extension ConformanceContext {
    /// Fails with rule L1 unless the backend's counts are `expected`.
    func expectCounts(_ backend: any QueueBackend, _ expected: RequestCounts, _ when: String) async throws {
        let counts = try await backend.requestCounts()
        try expect(counts == expected, "L1 counts", "\(when): expected \(expected), counted \(counts)")
    }
}
