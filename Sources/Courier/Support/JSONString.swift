/// JSON string literals, as every JSON text Courier writes by hand needs them.
package enum JSONString {
    /// `value` as a JSON string: quotes, backslashes, control characters and U+2028/U+2029 (which JavaScript
    /// reads as line ends) escaped, everything else as is.
    package static func quoted(_ value: String) -> String {
        // Most strings (ids, statuses, times) need no escaping: one pass over the bytes says so.
        let plain = value.utf8.allSatisfy {
            $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 != 0xE2
        }
        if plain { return "\"" + value + "\"" }
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}"..."\u{1F}", "\u{2028}", "\u{2029}":
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
