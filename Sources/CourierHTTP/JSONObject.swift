import Courier
import Foundation

/// A JSON object that writes its fields in the order they were set, straight to text.
///
/// The gateway's documents are small and their shapes fixed, so writing them directly costs a fraction of
/// building a dictionary for `JSONSerialization` (whose sorted keys compare strings by locale on Linux).
struct JSONObject: Sendable {
    private var fields: [(key: String, json: String)] = []

    init() {}

    /// Sets `key` to a JSON text that is already valid (a payload that parsed as JSON), replacing any earlier
    /// value.
    mutating func set(_ key: String, json: String) {
        if let index = fields.firstIndex(where: { $0.key == key }) {
            fields[index].json = json
        } else {
            fields.append((key, json))
        }
    }

    mutating func set(_ key: String, _ value: String) { set(key, json: JSONString.quoted(value)) }
    mutating func set(_ key: String, _ value: Int) { set(key, json: String(value)) }
    mutating func set(_ key: String, _ value: UInt64) { set(key, json: String(value)) }
    mutating func set(_ key: String, _ value: Double) {
        set(
            key,
            json: value.isFinite
                ? (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)") : "null")
    }
    mutating func set(_ key: String, _ value: JSONObject) { set(key, json: value.text) }
    mutating func set(_ key: String, _ values: [JSONObject]) {
        set(key, json: "[" + values.map(\.text).joined(separator: ",") + "]")
    }

    /// Whether no field is set.
    var isEmpty: Bool { fields.isEmpty }

    /// The object as JSON text.
    var text: String {
        "{" + fields.map { JSONString.quoted($0.key) + ":" + $0.json }.joined(separator: ",") + "}"
    }

    /// The object as UTF-8 bytes.
    var data: Data { Data(text.utf8) }
}
