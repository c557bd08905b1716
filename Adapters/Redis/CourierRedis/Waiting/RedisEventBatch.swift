import Courier
import Foundation

/// The events one append added, as its announcement carries them: netstrings of the log's trimmed-through
/// sequence number and the append's server time (ms), then six per event: sequence number, kind, name, data,
/// fraction, counter (the stored entry's `k`, `n`, `d`, `f`, `c`; see RedisScripts+Events).
struct RedisEventBatch: Sendable {
    /// The highest sequence number trimmed from the log when the batch was appended (0 when none).
    var trimmedThrough: UInt64
    /// The batch's events, in sequence order.
    var records: [RequestEventRecord]

    /// - Throws: ``CourierError`` with code `decodingFailed` for bytes the append script did not make.
    init(_ data: Data) throws {
        let fields = RedisResponseCodec.netstrings(in: data)
        func text(_ field: Data) -> String { String(decoding: field, as: UTF8.self) }
        guard fields.count >= 2, (fields.count - 2) % 6 == 0, let trimmed = UInt64(text(fields[0])),
            let milliseconds = Double(text(fields[1]))
        else { throw CourierError(.decodingFailed, "an event announcement is not in Courier's format") }
        let time = Date(timeIntervalSince1970: milliseconds / 1000)
        var records: [RequestEventRecord] = []
        records.reserveCapacity((fields.count - 2) / 6)
        for start in stride(from: 2, to: fields.count, by: 6) {
            guard let sequence = UInt64(text(fields[start])) else {
                throw CourierError(.decodingFailed, "an event announcement has a malformed sequence number")
            }
            let event = try RedisQueueStore.event(
                kind: fields[start + 1], name: fields[start + 2], data: fields[start + 3],
                fraction: fields[start + 4], counter: fields[start + 5])
            records.append(RequestEventRecord(sequence: sequence, event: event, time: time))
        }
        trimmedThrough = trimmed
        self.records = records
    }
}
