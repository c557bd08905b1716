import Courier
import Foundation
import Hummingbird

/// The JSON a client sees of one task: `task_id`, `status`, `attempt`, `progress`, the four times, `result` and
/// `error` once finished, and `links` to the task's other routes.
enum TaskDocument {
    /// `pending`, `running`, `completed`, `failed`, `timeout`, `cancelled` or `dead_lettered` (`unknown` for an
    /// id the store does not know).
    static func statusName(_ state: RequestState) -> String {
        switch state {
        case .unknown: "unknown"
        case .pending: "pending"
        case .running: "running"
        case .finished(let status): statusName(status)
        }
    }

    static func statusName(_ status: ResponseStatus) -> String {
        switch status {
        case .timedOut: "timeout"
        case .deadLettered: "dead_lettered"
        default: status.rawValue
        }
    }

    /// The task as a JSON object. `response` is the final response, when the caller has it at hand.
    static func object(
        _ id: CorrelationID, report: RequestStatusReport, response: QueueResponse? = nil
    ) -> [String: Any] {
        var object: [String: Any] = ["task_id": id.rawValue, "status": statusName(report.state), "links": links(id)]
        if let response { object["status"] = statusName(response.status) }
        if let attempt = report.attempt { object["attempt"] = attempt }
        if let progress = report.progress { object["progress"] = Self.progress(progress) }
        for (name, date) in [
            ("submitted_at", report.submittedAt), ("started_at", report.startedAt),
            ("updated_at", report.updatedAt), ("finished_at", report.finishedAt ?? response?.finishedAt),
        ] {
            if let date { object[name] = timestamp(date) }
        }
        if let response {
            if response.status == .completed {
                switch result(response.payload) {
                case .json(let value): object["result"] = value
                case .base64(let text): object["result_base64"] = text
                }
            }
            if let error = response.error { object["error"] = error }
        }
        return object
    }

    /// `{"fraction", "message", "counter"}`, each only when reported.
    static func progress(_ progress: RequestProgress) -> [String: Any] {
        var fields: [String: Any] = [:]
        if let fraction = progress.fraction { fields["fraction"] = fraction }
        if let message = progress.message { fields["message"] = message }
        if let counter = progress.counter { fields["counter"] = counter }
        return fields
    }

    static func links(_ id: CorrelationID) -> [String: String] {
        let base = "/v1/tasks/" + (id.rawValue.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? "")
        return [
            "status": base + "/status", "wait": base + "/wait", "events": base + "/events", "cancel": base + "/cancel",
        ]
    }

    enum Result {
        case json(Any)
        case base64(String)
    }

    /// A payload as the client reads it: JSON as JSON, other UTF-8 text as a string, other bytes as base64.
    static func result(_ payload: Data) -> Result {
        if let value = try? JSONSerialization.jsonObject(with: payload, options: [.fragmentsAllowed]) {
            return .json(value)
        }
        if let text = String(data: payload, encoding: .utf8) { return .json(text) }
        return .base64(payload.base64EncodedString())
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// A JSON answer with `status`.
    static func response(_ object: [String: Any], status: HTTPResponse.Status = .ok) throws -> Response {
        let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
