import Foundation

/// The identifier that ties a request to its response.
///
/// A valid id is non-empty, at most ``maximumLength`` UTF-8 bytes, and holds no control characters
/// (no newlines, tabs, NUL or other C0/C1 controls). Any other Unicode text is allowed and round-trips
/// byte-exact through every adapter.
public struct CorrelationID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The longest id accepted, in UTF-8 bytes.
    public static let maximumLength = 256

    /// The id's text.
    public let rawValue: String

    /// Validates and wraps a caller-supplied id.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidCorrelationID`` when the id is empty,
    ///   longer than ``maximumLength`` bytes, or holds a control character.
    public init(_ rawValue: String) throws(CourierError) {
        if let problem = Self.problem(with: rawValue) {
            throw CourierError(.invalidCorrelationID, "invalid correlation id: \(problem)")
        }
        self.rawValue = rawValue
    }

    private init(unchecked rawValue: String) { self.rawValue = rawValue }

    /// Returns a new random id (a lowercase UUID), unique with overwhelming probability.
    public static func generate() -> CorrelationID {
        // A version-4 UUID from the system generator, formatted directly: Foundation's UUID() plus
        // `uuidString.lowercased()` cost two strings per id and showed in the round-trip profile.
        let (high, low) = RandomPool.shared.next128()
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(index)))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(index)))
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = Array("0123456789abcdef".utf8)
        let text = String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    buffer[position] = UInt8(ascii: "-")
                    position += 1
                }
                buffer[position] = hex[Int(byte >> 4)]
                buffer[position + 1] = hex[Int(byte & 0x0f)]
                position += 2
            }
            return position
        }
        return CorrelationID(unchecked: text)
    }

    /// Says what is wrong with `candidate`, or `nil` when it is a valid id.
    public static func problem(with candidate: String) -> String? {
        if candidate.isEmpty { return "it is empty" }
        if candidate.utf8.count > maximumLength { return "it is longer than \(maximumLength) bytes" }
        if containsControlCharacter(candidate) { return "it contains a control character" }
        return nil
    }

    /// Whether `text` holds a control character (Unicode category Cc: U+0000…U+001F and U+007F…U+009F), found in
    /// its UTF-8 bytes: every id read back from a store is checked, and asking each scalar for its Unicode
    /// category showed in the gateway's profile.
    private static func containsControlCharacter(_ text: String) -> Bool {
        var previous: UInt8 = 0
        for byte in text.utf8 {
            // U+0080…U+009F are 0xC2 0x80…0xC2 0x9F; 0xC2 is never a continuation byte.
            if byte < 0x20 || byte == 0x7F || (previous == 0xC2 && byte <= 0x9F && byte >= 0x80) { return true }
            previous = byte
        }
        return false
    }

    /// The id's text.
    public var description: String { rawValue }

    /// Orders ids by their text.
    public static func < (lhs: CorrelationID, rhs: CorrelationID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Decodes and validates an id stored as a string.
    /// - Throws: `DecodingError.dataCorrupted` when the stored string is not a valid id.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: error.message, underlyingError: error))
        }
    }

    /// Encodes the id as a plain string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
