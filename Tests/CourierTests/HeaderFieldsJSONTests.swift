import Foundation
import Testing

@testable import Courier

@Suite struct HeaderFieldsJSONTests {
    @Test func everyHeaderComesBackExactlyThroughFoundationsDecoder() throws {
        var tricky = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        tricky += ["\"", "\\", "/", "\u{7F}", "é", "\u{2028}", "\u{2029}", "\u{FEFF}", "😀", "a\"b\\c\nd", "", " "]
        var headers: [String: String] = [:]
        for (index, text) in tricky.enumerated() {
            headers["key \(index) \(text)"] = "value \(text) \(index)"
        }
        let encoded = HeaderFieldsJSON.encode(headers)
        #expect(try JSONDecoder().decode([String: String].self, from: encoded) == headers)
        #expect(try HeaderFieldsJSON.decode(encoded) == headers)
        #expect(try JSONSerialization.jsonObject(with: encoded) is [String: String])
    }

    @Test func equalHeadersAreEqualBytesAndNoHeadersAreAnEmptyObject() throws {
        let headers = ["b": "2", "a": "1", "content-type": "application/json"]
        #expect(
            String(decoding: HeaderFieldsJSON.encode(headers), as: UTF8.self)
                == #"{"a":"1","b":"2","content-type":"application/json"}"#)
        #expect(HeaderFieldsJSON.encode([:]) == Data("{}".utf8))
        #expect(try HeaderFieldsJSON.decode(Data()) == [:])
        #expect(try HeaderFieldsJSON.decode(Data("{}".utf8)) == [:])
    }

    @Test func bytesThatAreNotAnObjectOfStringsAreADecodingError() {
        for text in ["[]", "{\"a\":1}", "{", "null", "{\"a\":\"b\"", "\u{FF}"] {
            #expect(throws: CourierError.self) { try HeaderFieldsJSON.decode(Data(text.utf8)) }
            do {
                _ = try HeaderFieldsJSON.decode(Data(text.utf8))
            } catch {
                #expect(error.code == .decodingFailed)
            }
        }
    }
}
