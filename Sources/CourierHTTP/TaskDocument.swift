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
    ) -> JSONObject {
        var object = JSONObject()
        object.set("task_id", id.rawValue)
        object.set("status", response.map { statusName($0.status) } ?? statusName(report.state))
        if let attempt = report.attempt { object.set("attempt", attempt) }
        if let progress = report.progress { object.set("progress", Self.progress(progress)) }
        for (name, date) in [
            ("submitted_at", report.submittedAt), ("started_at", report.startedAt),
            ("updated_at", report.updatedAt), ("finished_at", report.finishedAt ?? response?.finishedAt),
        ] {
            if let date { object.set(name, timestamp(date)) }
        }
        if let response {
            if response.status == .completed {
                switch result(response.payload) {
                case .json(let text): object.set("result", json: text)
                case .base64(let text): object.set("result_base64", text)
                }
            }
            if let error = response.error { object.set("error", error) }
        }
        object.set("links", json: links(id))
        return object
    }

    /// `{"fraction", "message", "counter"}`, each only when reported.
    static func progress(_ progress: RequestProgress) -> JSONObject {
        var fields = JSONObject()
        if let fraction = progress.fraction { fields.set("fraction", fraction) }
        if let message = progress.message { fields.set("message", message) }
        if let counter = progress.counter { fields.set("counter", counter) }
        return fields
    }

    /// `{"status", "wait", "events", "cancel"}`: the task's routes, as JSON text.
    static func links(_ id: CorrelationID) -> String {
        let raw = id.rawValue
        // Ids of letters, digits, '-', '_' and '.' (all generated ones) need no encoding.
        let unreserved = raw.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D
                || $0 == 0x5F || $0 == 0x2E
        }
        let path = unreserved ? raw : raw.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? ""
        // A percent-encoded path has no character JSON must escape.
        let base = "/v1/tasks/" + path + "/"
        return #"{"status":""# + base + #"status","wait":""# + base + #"wait","events":""# + base
            + #"events","cancel":""# + base + #"cancel"}"#
    }

    enum Result {
        /// Valid JSON text.
        case json(String)
        case base64(String)
    }

    /// A payload as the client reads it: UTF-8 JSON as that JSON, byte for byte; other UTF-8 text as a string;
    /// other bytes as base64.
    static func result(_ payload: Data) -> Result {
        guard let text = String(validating: payload, as: UTF8.self) else {
            return .base64(payload.base64EncodedString())
        }
        if !text.hasPrefix("\u{FEFF}"), JSONSyntax.isValid(payload) {
            return .json(text)
        }
        return .json(JSONString.quoted(text))
    }

    static func timestamp(_ date: Date) -> String { ISO8601Timestamp.string(date) }

    /// A JSON answer with `status`.
    static func response(_ object: JSONObject, status: HTTPResponse.Status = .ok) -> Response {
        let body = object.data
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
