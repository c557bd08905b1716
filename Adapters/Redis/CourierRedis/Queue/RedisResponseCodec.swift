import Courier
import Foundation

/// The stored and published form of a response: a sequence of netstrings (`<length>:<bytes>,`), binary-safe
/// and simple enough that the Lua scripts build failure responses (dead letters, timeouts, cancellations)
/// themselves. Fields in order: format version `1`, status, correlation id, has-error flag, error, headers as
/// JSON, finish time (seconds since 1970), payload. A stored response may carry more fields after these (the
/// request's timeline, see ``decodeWithTimeline(_:)``); ``decode(_:)`` ignores them.
enum RedisResponseCodec {
    static func encode(_ response: QueueResponse) -> Data {
        var out = Data()
        out.reserveCapacity(response.payload.count + 128)
        func field(_ bytes: some Collection<UInt8>) {
            out.append(contentsOf: String(bytes.count).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: ","))
        }
        field("1".utf8)
        field(response.status.rawValue.utf8)
        field(response.correlationID.rawValue.utf8)
        field((response.error == nil ? "0" : "1").utf8)
        field((response.error ?? "").utf8)
        field(HeaderFieldsJSON.encode(response.headers))
        field(String(format: "%.6f", response.finishedAt.timeIntervalSince1970).utf8)
        field(response.payload)
        return out
    }

    /// - Throws: ``CourierError`` with code ``CourierError/Code/decodingFailed`` for bytes this codec did not make.
    static func decode(_ data: Data) throws(CourierError) -> QueueResponse {
        try decodeWithTimeline(data).response
    }

    /// A stored response and the fields the store wrote after it: the request's submission, latest start (server
    /// ms), that start's attempt and its fingerprint, then its event log's last update and progress (attempt,
    /// fraction, `=message`, counter), each empty when unknown; responses stored before the last five were
    /// written have only the first four.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/decodingFailed`` for bytes this codec did not make.
    static func decodeWithTimeline(_ data: Data) throws(CourierError) -> (response: QueueResponse, timeline: [String]) {
        let fields = netstrings(in: data, upTo: 17)
        guard fields.count >= 8, fields[0] == Data("1".utf8) else {
            throw CourierError(.decodingFailed, "a stored response is not in Courier's format")
        }
        func text(_ field: Data) -> String { String(decoding: field, as: UTF8.self) }
        let headers: [String: String]
        do {
            headers = try HeaderFieldsJSON.decode(fields[5])
        } catch {
            throw CourierError(.decodingFailed, "a stored response has malformed headers")
        }
        guard let id = try? CorrelationID(text(fields[2])) else {
            throw CourierError(.decodingFailed, "a stored response has an invalid correlation id")
        }
        let response = QueueResponse(
            correlationID: id, status: ResponseStatus(rawValue: text(fields[1])), payload: Data(fields[7]),
            error: fields[3] == Data("1".utf8) ? text(fields[4]) : nil, headers: headers,
            finishedAt: Date(timeIntervalSince1970: Double(text(fields[6])) ?? 0))
        return (response, fields.dropFirst(8).map(text))
    }

    /// The leading netstrings of `data`, at most `limit`; stops at the first bytes that are not one (a length
    /// that is not 1 to 18 decimal digits, or a field not followed by `,`).
    static func netstrings(in data: Data, upTo limit: Int = .max) -> [Data] {
        // Offsets found over the raw bytes: slicing `Data` byte by byte to find them cost a gateway 3 % of its CPU.
        var ranges: [Range<Int>] = []
        data.withUnsafeBytes { bytes in
            var index = 0
            while index < bytes.count, ranges.count < limit {
                var length = 0
                var digits = 0
                while index + digits < bytes.count, digits <= 18, (0x30...0x39).contains(bytes[index + digits]) {
                    length = length &* 10 &+ Int(bytes[index + digits] - 0x30)  // 19 digits wrap, then are refused
                    digits += 1
                }
                let start = index + digits + 1
                guard (1...18).contains(digits), start - 1 < bytes.count, bytes[start - 1] == UInt8(ascii: ":"),
                    length < bytes.count - start, bytes[start + length] == UInt8(ascii: ",")
                else { break }
                ranges.append(start..<(start + length))
                index = start + length + 1
            }
        }
        let base = data.startIndex
        return ranges.map { data[(base + $0.lowerBound)..<(base + $0.upperBound)] }
    }
}
