import CourierTestSupport
import Foundation
import Testing

@testable import CourierHTTP

/// The gateway's JSON check answers exactly as `JSONSerialization` does; its fast path only ever says "valid" for
/// bytes Foundation accepts.
@Suite struct JSONSyntaxTests {
    static let corpus: [String] = [
        "{}", "[]", "0", "-0", "1.5", "-12.250", "123456789012345", "1234567890123456", "1e5", "1E-2", "0.1e+2",
        "true", "false", "null", "\"\"", "\"a\"", " \t\r\n{ \"a\" : [ 1 , 2 , { } ] } \n",
        #"{"message": "hello", "session_id": "bench"}"#, #"{"a":{"b":{"c":[null,true,false,"x\"y\\z\/\b\f\n\r\t"]}}}"#,
        #""\u0041\u00e9\u20AC""#, #""\uD83D\uDE00""#, #""\uD800""#, #""\uDC00x""#, "\"é😀\"", "\"\u{7F}\"",
        "01", "-", "1.", ".5", "+1", "1.e5", "--1", "0x10", "NaN", "Infinity", "tru", "nul", "True", "[1,]", "{,}",
        "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a:1}", "{'a':1}", "'a'", "\"a", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
        "\"\t\"", "\"\n\"", "\"\u{0}\"", "[", "]", "{", "}", "", " ", "[]]", "{}{}", "1 2", "// x\n1", "/* */1",
        "[1,[2,[3]]]", #"{"a":1,"a":2}"#, "\u{FEFF}{}", "\"\\/\"", "-0.0", "0.0000000000001", "[-]", "[\"\\\"]",
        String(repeating: "[", count: 63) + String(repeating: "]", count: 63),
        String(repeating: "[", count: 64) + String(repeating: "]", count: 64),
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 70),
    ]

    private func foundationAccepts(_ data: Data) -> Bool {
        (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
    }

    private func check(_ data: Data, _ label: @autoclosure () -> String) {
        let foundation = foundationAccepts(data)
        #expect(JSONSyntax.isValid(data) == foundation, "\(label())")
        if JSONSyntax.isShownValidByScanning(data) { #expect(foundation, "fast path accepted \(label())") }
    }

    @Test func everyCorpusEntryIsJudgedAsFoundationJudgesIt() {
        for text in Self.corpus { check(Data(text.utf8), text) }
        #expect(
            JSONSyntax.isShownValidByScanning(
                Data(#"{"message": "hello", "session_id": "bench", "n": [1, -2.5]}"#.utf8)))
        for bytes: [UInt8] in [
            [0xFF], [0x22, 0xC3, 0x28, 0x22], [0x00, 0x7B, 0x00, 0x7D], [0x22, 0xED, 0xA0, 0x80, 0x22],
        ] {
            check(Data(bytes), "\(bytes)")
        }
    }

    @Test func mutatedDocumentsAreJudgedAsFoundationJudgesThem() {
        var generator = SeededGenerator(seed: 2026)
        let alphabet = Array(" \t\n{}[]:,\"\\/-+.0123456789eEtrufalsn\u{7F}xu".utf8) + [0x00, 0x1F, 0xC3, 0xA9, 0xFF]
        let seeds = Self.corpus.filter { foundationAccepts(Data($0.utf8)) && $0.utf8.count < 200 }
        for _ in 0..<20_000 {
            var bytes = Array(seeds[Int(generator.next() % UInt64(seeds.count))].utf8)
            for _ in 0...(generator.next() % 3) {
                let position = bytes.isEmpty ? 0 : Int(generator.next() % UInt64(bytes.count + 1))
                let byte = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                switch generator.next() % 3 {
                case 0: bytes.insert(byte, at: position)
                case 1 where position < bytes.count: bytes[position] = byte
                default: if position < bytes.count { bytes.remove(at: position) }
                }
            }
            check(Data(bytes), String(decoding: bytes, as: UTF8.self).debugDescription)
        }
    }
}
