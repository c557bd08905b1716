import Courier
import Foundation
import Hummingbird

/// `GET /v1/tasks` (the recent tasks, newest first) and `GET /v1/queue` (the queue's counts), for dashboards.
/// Both need an adapter with ``QueueCapabilities/requestListing``; on others they answer 501.
extension CourierGateway {
    /// The most tasks `GET /v1/tasks` lists when the client gives no `limit`.
    static let defaultListingLimit = 50

    func listTasks(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let filter = try Self.filter(parameters.get("status"))
        var limit = Self.defaultListingLimit
        if let text = parameters.get("limit") {
            guard let value = Int(text), (1...RequestSummary.listingLimit).contains(value) else {
                throw GatewayError(
                    .badRequest, code: "bad_request",
                    "?limit= must be a whole number from 1 to \(RequestSummary.listingLimit), not '\(text.prefix(32))'")
            }
            limit = value
        }
        let summaries = try await backend.recentRequests(limit: limit, matching: filter)
        var object = JSONObject()
        object.set("tasks", summaries.map { TaskDocument.object($0.correlationID, report: $0.report) })
        return TaskDocument.response(object)
    }

    func queueCounts() async throws -> Response {
        let counts = try await backend.requestCounts()
        var finished = JSONObject()
        for (status, count) in counts.finished.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            finished.set(TaskDocument.statusName(status), count)
        }
        var object = JSONObject()
        object.set("queue", backend.configuration.queueName)
        object.set("pending", counts.pending)
        object.set("running", counts.running)
        object.set("finished", finished)
        return TaskDocument.response(object)
    }

    /// `?status=`: a task status name, `finished` for any final one, or nothing for every task.
    static func filter(_ name: String?) throws -> RequestStateFilter {
        switch name {
        case nil: return .any
        case "pending": return .pending
        case "running": return .running
        case "finished": return .finished(nil)
        case "completed": return .finished(.completed)
        case "failed": return .finished(.failed)
        case "timeout": return .finished(.timedOut)
        case "cancelled": return .finished(.cancelled)
        case "dead_lettered": return .finished(.deadLettered)
        case let other?:
            throw GatewayError(
                .badRequest, code: "bad_request",
                "?status= must be pending, running, finished, completed, failed, timeout, cancelled or dead_lettered, "
                    + "not '\(other.prefix(32))'")
        }
    }
}
