import Foundation

/// The stored form of a request's or response's headers: one JSON object of strings, as the adapters keep it.
///
/// Written directly (keys sorted, so equal headers are stored as equal bytes) rather than through `JSONEncoder`,
/// which cost a gateway about 3 % of its CPU for the one `content-type` header of each submit. Read with
/// `JSONDecoder`, except for the empty object that most requests carry.
package enum HeaderFieldsJSON {
    /// `headers` as a JSON object; `{}` when empty.
    package static func encode(_ headers: [String: String]) -> Data {
        if headers.isEmpty { return Data("{}".utf8) }
        var out = [UInt8]()
        out.reserveCapacity(headers.reduce(2) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 })
        out.append(UInt8(ascii: "{"))
        for (index, field) in headers.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: JSONString.quoted(field.key).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: JSONString.quoted(field.value).utf8)
        }
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }

    /// The headers in `data`; `[:]` for empty bytes or `{}`.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/decodingFailed`` when `data` is not a JSON object
    ///   of strings.
    package static func decode(_ data: Data) throws(CourierError) -> [String: String] {
        if data.isEmpty || data.elementsEqual("{}".utf8) { return [:] }
        do {
            return try JSONDecoder().decode([String: String].self, from: data)
        } catch {
            throw CourierError(.decodingFailed, "stored headers are not a JSON object of strings")
        }
    }
}
