import Foundation

/// Whether bytes are one JSON value, as `JSONSerialization` (fragments allowed) decides, at a fraction of its cost.
///
/// A gateway checks every JSON body it is sent and every result it answers with. Plain ASCII JSON of moderate depth
/// is checked here; anything else (other bytes, `\u` escapes of surrogates, exponents, long numbers, deep nesting,
/// or a syntax error) is left to `JSONSerialization`, so the answer is always Foundation's.
enum JSONSyntax {
    static func isValid(_ data: Data) -> Bool {
        isShownValidByScanning(data)
            || (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
    }

    /// Whether the fast check alone shows `data` valid.
    static func isShownValidByScanning(_ data: Data) -> Bool {
        data.withUnsafeBytes { bytes in
            var scanner = Scanner(bytes: bytes)
            return scanner.isPlainValidJSON()
        }
    }

    /// A recursive-descent check of the JSON grammar (RFC 8259) over ASCII bytes. `false` means "not shown valid
    /// here", never "invalid".
    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func isPlainValidJSON() -> Bool {
            skipWhitespace()
            guard value(depth: 0) else { return false }
            skipWhitespace()
            return index == bytes.count
        }

        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        private mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        private mutating func value(depth: Int) -> Bool {
            guard let byte = current, depth < 64 else { return false }
            switch byte {
            case UInt8(ascii: "{"): return object(depth: depth + 1)
            case UInt8(ascii: "["): return array(depth: depth + 1)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        private mutating func object(depth: Int) -> Bool {
            elements(closedBy: UInt8(ascii: "}")) { scanner in
                guard scanner.current == UInt8(ascii: "\""), scanner.string() else { return false }
                scanner.skipWhitespace()
                guard scanner.current == UInt8(ascii: ":") else { return false }
                scanner.index += 1
                scanner.skipWhitespace()
                return scanner.value(depth: depth)
            }
        }

        private mutating func array(depth: Int) -> Bool {
            elements(closedBy: UInt8(ascii: "]")) { $0.value(depth: depth) }
        }

        /// From an opening bracket to its `closing` one: elements, each read by `element`, separated by commas.
        private mutating func elements(closedBy closing: UInt8, _ element: (inout Scanner) -> Bool) -> Bool {
            index += 1
            skipWhitespace()
            if current == closing {
                index += 1
                return true
            }
            while true {
                guard element(&self) else { return false }
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","):
                    index += 1
                    skipWhitespace()
                case closing:
                    index += 1
                    return true
                default: return false
                }
            }
        }

        private mutating func string() -> Bool {
            index += 1
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return true
                case UInt8(ascii: "\\"):
                    guard let escaped = current else { return false }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        continue
                    case UInt8(ascii: "u"):
                        guard bytes.count - index >= 4 else { return false }
                        var scalar: UInt32 = 0
                        for _ in 0..<4 {
                            guard let digit = hexValue(bytes[index]) else { return false }
                            scalar = scalar << 4 | digit
                            index += 1
                        }
                        if (0xD800...0xDFFF).contains(scalar) { return false }  // pairs: Foundation decides
                    default: return false
                    }
                case 0x20...0x7F: continue
                default: return false  // control characters, and bytes beyond ASCII: Foundation decides
                }
            }
            return false
        }

        private func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?` of at most 15 digits; exponents and longer numbers go to Foundation.
        private mutating func number() -> Bool {
            if current == UInt8(ascii: "-") { index += 1 }
            var digits = 0
            guard let first = current, (0x30...0x39).contains(first) else { return false }
            index += 1
            digits += 1
            if first != UInt8(ascii: "0") {
                while let byte = current, (0x30...0x39).contains(byte) {
                    index += 1
                    digits += 1
                }
            }
            if current == UInt8(ascii: ".") {
                index += 1
                guard let byte = current, (0x30...0x39).contains(byte) else { return false }
                while let byte = current, (0x30...0x39).contains(byte) {
                    index += 1
                    digits += 1
                }
            }
            if let byte = current, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return false }
            return digits <= 15
        }
    }
}
