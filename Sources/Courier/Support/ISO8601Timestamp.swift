import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Times as clients read them: ISO 8601 in UTC with milliseconds, `2026-11-28T13:20:01.123Z`.
///
/// Written from the calendar fields directly, about fifty times cheaper than `Date.ISO8601FormatStyle` (a gateway
/// writes four per answer). A time is first rounded to 10 microseconds, then cut to the millisecond, so a time
/// stored in milliseconds (as the Redis adapters keep them) reads back as exactly those milliseconds until the
/// year 3000 (a `Date` holds them with a few microseconds of error), where the format style can show one less.
package enum ISO8601Timestamp {
    /// `date` as `yyyy-MM-ddTHH:mm:ss.SSSZ`; years outside 1970-9999 through Foundation's format style.
    package static func string(_ date: Date) -> String {
        let hundredths = (date.timeIntervalSince1970 * 100_000).rounded()  // of a millisecond
        guard hundredths >= 0, hundredths < 25_340_230_080_000_000 else {
            return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        }
        let milliseconds = Int(hundredths) / 100
        var seconds = time_t(milliseconds / 1000)
        var fields = tm()
        gmtime_r(&seconds, &fields)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(fields.tm_year) + 1900, 4)
        out.append(UInt8(ascii: "-"))
        digits(Int(fields.tm_mon) + 1, 2)
        out.append(UInt8(ascii: "-"))
        digits(Int(fields.tm_mday), 2)
        out.append(UInt8(ascii: "T"))
        digits(Int(fields.tm_hour), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(fields.tm_min), 2)
        out.append(UInt8(ascii: ":"))
        digits(Int(fields.tm_sec), 2)
        out.append(UInt8(ascii: "."))
        digits(milliseconds % 1000, 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }
}
