import Courier
import Foundation
import Testing

@testable import CourierHTTP

/// The gateway's JSON writer: every string survives a standard parser exactly, and a multi-line result becomes
/// several SSE `data:` lines that join back into the same JSON.
@Suite("Gateway JSON writing")
struct JSONObjectTests {
    @Test func stringsOfEveryKindRoundTripThroughAStandardParser() throws {
        let texts = [
            "plain", "quote \" backslash \\ slash /", "controls \u{0}\u{1}\u{1F}\t\r\n", "line \u{2028} para \u{2029}",
            "emoji 🚀 and é", "",
        ]
        for text in texts {
            var object = JSONObject()
            object.set("text", text)
            object.set("number", 0.25)
            object.set("whole", 3.0)
            let parsed = try #require(try JSONSerialization.jsonObject(with: object.data) as? [String: Any])
            #expect(parsed["text"] as? String == text)
            #expect(parsed["number"] as? Double == 0.25)
            #expect(parsed["whole"] as? Int == 3)
        }
    }

    @Test func aTasksLinksAreJSONWhoseRoutesNameItsIdWhateverItHolds() throws {
        for raw in ["01HZX-abc_1.2", #"quote"and\backslash"#, "slash/percent%20colon:", "~!$&'()*+,;=@"] {
            let id = try CorrelationID(raw)
            let links = try #require(
                try JSONSerialization.jsonObject(with: Data(TaskDocument.links(id).utf8)) as? [String: String])
            #expect(links.keys.sorted() == ["cancel", "events", "status", "wait"])
            for (name, path) in links {
                #expect(path.hasPrefix("/v1/tasks/") && path.hasSuffix("/" + name))
                let encoded = path.dropFirst("/v1/tasks/".count).dropLast(name.count + 1)
                #expect(encoded.removingPercentEncoding == raw, "\(path)")
            }
        }
    }

    @Test func aMultiLineResultBecomesDataLinesThatJoinBack() throws {
        var object = JSONObject()
        object.set("result", json: "{\n  \"a\": [1,\r\n 2]\n}")
        let lines = ServerSentEvents.dataLines(object)
        #expect(lines.split(separator: "\n").allSatisfy { $0.hasPrefix("data: ") })
        let joined = lines.split(separator: "\n").map { $0.dropFirst(6) }.joined(separator: "\n")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(joined.utf8)) as? [String: Any])
        #expect((parsed["result"] as? [String: Any])?["a"] as? [Int] == [1, 2])
    }
}
