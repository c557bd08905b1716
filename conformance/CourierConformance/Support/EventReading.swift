import Courier
import Foundation

extension ConformanceContext {
    /// Reads a request's events (after `sequence`) through to the final response, within `limit`.
    func readAll(
        _ backend: any QueueBackend, _ id: CorrelationID, after sequence: UInt64 = 0, within limit: Duration? = nil,
        rule: String
    ) async throws -> [RequestEventElement] {
        let bound = limit ?? timing.scaled(timing.wakeBound * 4 + .seconds(5))
        return try await within(bound, rule: rule, "every event of \(id) and its final response") {
            var elements: [RequestEventElement] = []
            for try await element in backend.events(for: id, after: sequence) { elements.append(element) }
            return elements
        }
    }

    /// Checks a reader's elements: strictly consecutive sequence numbers (gaps only where marked), the events
    /// given, then exactly one final response with `status`, last.
    func expectLedger(
        _ elements: [RequestEventElement], events expected: [RequestEvent], status: ResponseStatus,
        after start: UInt64 = 0, rule: String
    ) throws {
        var position = start
        var events: [RequestEvent] = []
        for (index, element) in elements.enumerated() {
            switch element {
            case .event(let record):
                try expect(
                    record.sequence == position + 1, rule,
                    "event \(index) has sequence \(record.sequence) after \(position): sequence numbers must be "
                        + "consecutive unless a gap is marked")
                position = record.sequence
                events.append(record.event)
            case .gap(let after, let through):
                throw ConformanceFailure(rule: rule, "a gap after \(after) through \(through) where none was expected")
            case .final(let response):
                try expect(index == elements.count - 1, rule, "the final response was not the last element")
                try expect(
                    response.status == status, rule, "the final response is \(response.status), expected \(status)")
            }
        }
        guard case .final? = elements.last else {
            throw ConformanceFailure(rule: rule, "the reader ended without the final response")
        }
        if events != expected {
            let firstDifference =
                zip(events, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(events.count, expected.count)
            throw ConformanceFailure(
                rule: rule,
                "the reader got \(events.count) events, expected \(expected.count); first difference at index "
                    + "\(firstDifference): got \(events.dropFirst(firstDifference).first.map { "\($0)".prefix(80) } ?? "nothing"), "
                    + "expected \(expected.dropFirst(firstDifference).first.map { "\($0)".prefix(80) } ?? "nothing")")
        }
    }
}

extension RequestEvent {
    /// A chunk holding the text `text`.
    static func text(_ text: String) -> RequestEvent { .chunk(Data(text.utf8)) }
}

extension Sequence where Element: Sendable {
    /// The results of `transform` on each element, in order, one at a time.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
