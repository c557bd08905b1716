import ArgumentParser
import Courier
import Foundation

/// `courier status ID [--json]`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a request's state: unknown, pending, running (attempt N), or how it finished.",
        discussion: """
            With --json, prints one JSON object with the state, the latest delivery's attempt and progress, and \
            when the request was submitted, started, last updated and finished (ISO 8601; absent when not known). \
            Opens the queue read-only: nothing is created or changed. \(environmentNote)
            """)

    @Argument(help: "The correlation id.")
    var id: String

    @Flag(help: "Print the whole status report as JSON.")
    var json = false

    func run() async throws {
        let correlationID = try CorrelationID(id)
        let report = try await BackendFactory.withSharedBackend(for: "status", readOnly: true) {
            try await $0.statusReport(of: correlationID)
        }
        guard json else { return try StandardOutput.line(report.state.description) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISO8601Timestamp.string(date))
        }
        let text = String(decoding: try encoder.encode(StatusReportJSON(id: correlationID, report)), as: UTF8.self)
        try StandardOutput.line(text)
    }
}

/// The JSON form of a status report that `courier status --json` prints.
struct StatusReportJSON: Encodable {
    var id: String
    /// `unknown`, `pending`, `running`, or the final response's status.
    var state: String
    var attempt: Int?
    var progress: RequestProgress?
    var submittedAt: Date?
    var startedAt: Date?
    var updatedAt: Date?
    var finishedAt: Date?

    init(id: CorrelationID, _ report: RequestStatusReport) {
        self.id = id.rawValue
        switch report.state {
        case .unknown: state = "unknown"
        case .pending: state = "pending"
        case .running: state = "running"
        case .finished(let status): state = status.rawValue
        }
        attempt = report.attempt
        progress = report.progress
        submittedAt = report.submittedAt
        startedAt = report.startedAt
        updatedAt = report.updatedAt
        finishedAt = report.finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, state, attempt, progress
        case submittedAt = "submitted_at"
        case startedAt = "started_at"
        case updatedAt = "updated_at"
        case finishedAt = "finished_at"
    }
}
