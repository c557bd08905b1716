import Courier
import Testing

@Suite("Correlation ids")
struct CorrelationIDTests {
    /// The byte-level check refuses exactly the scalars whose Unicode category is "control" (Cc), wherever they
    /// stand in the id, and nothing else.
    @Test func exactlyTheControlCharactersAreRefused() {
        let scalars =
            (0...0x3000).compactMap(Unicode.Scalar.init) + [
                "\u{FEFF}", "\u{FFFD}", "\u{1F600}", "\u{E0001}", "\u{10FFFF}",
            ]
        var disagreements: [String] = []
        for scalar in scalars {
            let isControl = scalar.properties.generalCategory == .control
            for text in ["\(scalar)", "a\(scalar)", "\(scalar)z", "é\(scalar)ü"] {
                let refused = (try? CorrelationID(text)) == nil
                if refused != isControl {
                    disagreements.append("U+\(String(scalar.value, radix: 16)) in \(text.debugDescription)")
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
        #expect((try? CorrelationID("")) == nil)
        #expect((try? CorrelationID(String(repeating: "x", count: CorrelationID.maximumLength))) != nil)
        #expect((try? CorrelationID(String(repeating: "x", count: CorrelationID.maximumLength + 1))) == nil)
    }
}
