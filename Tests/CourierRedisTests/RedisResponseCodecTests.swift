import Courier
import Foundation
import Testing

@testable import CourierRedis

/// The stored form of a response: what goes in comes back, and bytes the codec did not make are refused.
@Suite("Redis response codec")
struct RedisResponseCodecTests {
    @Test func aResponseWithEveryByteValueAndHeadersComesBackExactly() throws {
        let response = QueueResponse(
            correlationID: .generate(), status: .completed,
            payload: Data((0...255).map { UInt8($0) } + Array("1:,".utf8)),
            error: "it went \"wrong\"\n", headers: ["content-type": "application/octet-stream", "x": "1:2,"],
            finishedAt: Date(timeIntervalSince1970: 1_700_000_000.25))
        var stored = RedisResponseCodec.encode(response)
        stored.append(contentsOf: Array("3:abc,0:,".utf8))
        // From a slice that does not start at index 0, as a reply's bytes may be.
        let sliced = (Data("xx".utf8) + stored).dropFirst(2)
        let (decoded, timeline) = try RedisResponseCodec.decodeWithTimeline(sliced)
        #expect(decoded.correlationID == response.correlationID && decoded.status == response.status)
        #expect(decoded.payload == response.payload && decoded.error == response.error)
        #expect(decoded.headers == response.headers && decoded.finishedAt == response.finishedAt)
        #expect(timeline == ["abc", ""])
    }

    @Test func netstringsStopAtTheFirstBytesThatAreNotOne() {
        func fields(_ text: String) -> [String] {
            RedisResponseCodec.netstrings(in: Data(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(fields("1:a,2:bc,0:,") == ["a", "bc", ""])
        #expect(fields("1:a,2:bc") == ["a"], "a field without its comma")
        #expect(fields("1:a,5:bc,") == ["a"], "a length past the end")
        #expect(fields("1:a,x:b,") == ["a"], "a length that is not a number")
        #expect(fields("1:a,:b,") == ["a"], "no length")
        #expect(fields("1:a,+1:b,") == ["a"], "a sign")
        #expect(fields("1:a,1;b,") == ["a"], "no colon")
        #expect(fields("1:a,2:b,,") == ["a", "b,"])
        #expect(fields("1:a,9999999999999999999:b,") == ["a"], "a length of more than 18 digits")
        #expect(fields("") == [] && fields("1") == [] && fields("1:") == [] && fields("1:a") == [])
        #expect(RedisResponseCodec.netstrings(in: Data("1:a,1:b,1:c,".utf8), upTo: 2).count == 2)
    }

    @Test func bytesTheCodecDidNotMakeAreADecodingError() {
        for text in ["", "hello", "1:2,", "1:1,1:x,", String(repeating: "1:1,", count: 8)] {
            #expect(throws: CourierError.self) { try RedisResponseCodec.decodeWithTimeline(Data(text.utf8)) }
        }
    }
}
