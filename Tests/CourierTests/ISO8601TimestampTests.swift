import CourierTestSupport
import Foundation
import Testing

@testable import Courier

@Suite struct ISO8601TimestampTests {
    private let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    @Test func aTimeInMillisecondsReadsBackAsExactlyThoseMilliseconds() {
        var generator = SeededGenerator(seed: 12)
        let boundaries: [Int64] = [
            0, 999, 1000, 951_782_399_999, 951_782_400_000, 4_107_542_399_999, 32_503_679_999_999,
        ]
        // Until the year 3000.
        let randomTimes = (0..<20_000).map { _ in Int64.random(in: 0..<32_503_680_000_000, using: &generator) }
        for milliseconds in boundaries + randomTimes {
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = ISO8601Timestamp.string(date)
            // Whole seconds, which the format style writes exactly, then the milliseconds themselves.
            let second = Date(timeIntervalSince1970: Double(milliseconds / 1000))
            #expect(text.prefix(19) == second.formatted(style).prefix(19), "\(milliseconds) → \(text)")
            let fraction = String(String(milliseconds % 1000 + 1000).dropFirst())
            #expect(String(text.dropFirst(19)) == ".\(fraction)Z")
            #expect(text.utf8.count == 24 && text.hasSuffix("Z"))
        }
    }

    @Test func anyTimeIsWithinAMillisecondOfFoundationsFormat() throws {
        var generator = SeededGenerator(seed: 34)
        for _ in 0..<20_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: 0..<4_000_000_000, using: &generator))
            let ours = try style.parse(ISO8601Timestamp.string(date))
            let foundations = try style.parse(date.formatted(style))
            #expect(abs(ours.timeIntervalSince(foundations)) <= 0.0011, "\(date.timeIntervalSince1970)")
        }
    }

    @Test func yearsOutsideTheFastRangeUseFoundation() {
        for date in [
            Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: -86_400 * 365.25 * 100), Date.distantFuture,
        ] {
            #expect(ISO8601Timestamp.string(date) == date.formatted(style))
        }
    }
}
