import Courier
import Foundation

/// Streamed events as script calls, shared by both wake modes.
extension RedisQueueStore {
    /// Appends for the holder of `lease` in one script: refused after a final response or for a stale lease.
    func appendEvents(
        _ events: [RequestEvent], holding lease: Lease, on connection: RedisConnection
    ) async throws
        -> UInt64
    {
        var arguments: [RedisArgument] = [
            .string(lease.correlationID.rawValue), .string(lease.token), .integer(configuration.maxEventsPerRequest),
            .integer(max(1, Int(configuration.responseTTL.inSeconds * 1000))), .integer(lease.attempt),
            .integer(events.count),
        ]
        for event in events { arguments += Self.fields(of: event) }
        let reply = try await scripts.appendEvents.run(on: connection, prefix: keys.prefix, arguments)
        let parts = reply.array ?? []
        switch parts.first?.string {
        case "ok":
            return UInt64(parts.count > 1 ? parts[1].string ?? "0" : "0") ?? 0
        case "finished":
            throw CourierError.requestFinished(
                lease.correlationID, ResponseStatus(rawValue: parts.count > 1 ? parts[1].string ?? "" : ""))
        case "lost":
            throw CourierError(
                .leaseLost, "the lease on \(lease.correlationID) (attempt \(lease.attempt)) was lost")
        default:
            throw CourierError(.storageFailure, "unexpected reply to an event append: \(reply)")
        }
    }

    /// Up to `limit` events after `sequence`, the log's bounds and the final response, in one script.
    func eventPage(
        _ id: CorrelationID, after sequence: UInt64, limit: Int, on connection: RedisConnection
    )
        async throws -> RequestEventPage?
    {
        let reply = try await scripts.events.run(
            on: connection, prefix: keys.prefix, [.string(id.rawValue), .string(String(sequence)), .integer(limit)])
        let parts = reply.array ?? []
        guard parts.first?.integer == 1 else {
            if parts.first?.integer == 0 { return nil }
            throw CourierError(.storageFailure, "unexpected reply to an events read: \(reply)")
        }
        guard parts.count == 5 else { throw CourierError(.storageFailure, "unexpected events reply: \(reply)") }
        var events: [RequestEventRecord] = []
        for entry in parts[3].array ?? [] {
            guard let pair = entry.array, pair.count == 2, let entryID = pair[0].string,
                let sequence = UInt64(entryID.prefix { $0 != "-" }), let values = pair[1].array
            else { throw CourierError(.storageFailure, "unexpected stream entry: \(entry)") }
            var fields: [String: Data] = [:]
            for index in stride(from: 0, to: values.count - 1, by: 2) {
                if let name = values[index].string { fields[name] = values[index + 1].data ?? Data() }
            }
            let time = Double(String(decoding: fields["t"] ?? Data(), as: UTF8.self)) ?? 0
            events.append(
                RequestEventRecord(
                    sequence: sequence, event: try Self.event(from: fields),
                    time: Date(timeIntervalSince1970: time / 1000)))
        }
        return RequestEventPage(
            events: events, trimmedThrough: UInt64(parts[2].string ?? "0") ?? 0,
            lastSequence: UInt64(parts[1].string ?? "0") ?? 0,
            finalResponse: try parts[4].data.map { try RedisResponseCodec.decode($0) })
    }

    // MARK: Encoding

    /// `kind, name, data, fraction, counter`: an absent name is empty, a present one starts with `=`.
    private static func fields(of event: RequestEvent) -> [RedisArgument] {
        switch event {
        case .chunk(let data): [.string("chunk"), .string(""), .bytes(data), .string(""), .string("")]
        case .custom(let name, let data):
            [.string("custom"), .string("=" + name), .bytes(data), .string(""), .string("")]
        case .attemptStarted(let attempt):
            [.string("attempt"), .string(""), .string(""), .string(""), .integer(attempt)]
        case .progress(let progress):
            [
                .string("progress"), .string(progress.message.map { "=" + $0 } ?? ""), .string(""),
                .string(progress.fraction.map { "\($0)" } ?? ""), .string(progress.counter.map(String.init) ?? ""),
            ]
        }
    }

    /// The event a stored entry's fields (`k`, `n`, `d`, `f`, `c`) describe.
    static func event(from fields: [String: Data]) throws -> RequestEvent {
        try event(
            kind: fields["k"] ?? Data(), name: fields["n"] ?? Data(), data: fields["d"] ?? Data(),
            fraction: fields["f"] ?? Data(), counter: fields["c"] ?? Data())
    }

    /// The event of a kind, name, data, fraction and counter as the append script stores them.
    static func event(kind: Data, name: Data, data: Data, fraction: Data, counter: Data) throws -> RequestEvent {
        func text(_ field: Data) -> String { String(decoding: field, as: UTF8.self) }
        if kind.elementsEqual("chunk".utf8) { return .chunk(Data(data)) }
        let label = name.isEmpty ? nil : String(text(name).dropFirst())
        switch text(kind) {
        case "custom": return .custom(name: label ?? "", data: Data(data))
        case "attempt": return .attemptStarted(attempt: Int(text(counter)) ?? 0)
        case "progress":
            return .progress(
                RequestProgress(fraction: Double(text(fraction)), message: label, counter: Int(text(counter))))
        default: throw CourierError(.decodingFailed, "a stored event has the unknown kind '\(text(kind))'")
        }
    }
}
