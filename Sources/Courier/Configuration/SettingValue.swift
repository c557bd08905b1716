import Foundation

/// Reads the numbers a user gives Courier (environment variables, command-line flags, URL options), each
/// against an explicit accepted range that its error names.
///
/// Every value outside the range (including NaN, infinities and numbers too large for the type) is refused
/// with ``CourierError/Code/invalidConfiguration``; nothing is clamped or replaced silently.
public enum SettingValue {
    /// Parses `text` as a number of seconds within `range`.
    /// - Parameter name: How the user gave it (`COURIER_LEASE_SECONDS`, `--timeout`), for the message.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` naming `name` and `range`.
    public static func seconds(
        _ text: String, name: String, in range: ClosedRange<Double>
    ) throws(CourierError)
        -> Duration
    {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else {
            throw outOfRange(text, name: name, range: describe(range, unit: "seconds"))
        }
        return try seconds(value, name: name, in: range, given: text)
    }

    /// Checks that `value` seconds is within `range` and converts it.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` naming `name` and `range`.
    public static func seconds(
        _ value: Double, name: String, in range: ClosedRange<Double>
    ) throws(CourierError)
        -> Duration
    {
        try seconds(value, name: name, in: range, given: format(value))
    }

    /// Parses `text` as a number (fractions allowed) within `range`.
    /// - Parameter unit: What the number counts, for the message ("requests per second").
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` naming `name` and `range`.
    public static func number(
        _ text: String, name: String, in range: ClosedRange<Double>, unit: String
    )
        throws(CourierError) -> Double
    {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value)
        else { throw outOfRange(text, name: name, range: describe(range, unit: unit)) }
        return value
    }

    /// Parses `text` as a whole number within `range`.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` naming `name` and `range`.
    public static func integer(_ text: String, name: String, in range: ClosedRange<Int>) throws(CourierError) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw outOfRange(
                text, name: name,
                range: "a whole number from \(format(range.lowerBound)) to \(format(range.upperBound))")
        }
        return value
    }

    private static func seconds(
        _ value: Double, name: String, in range: ClosedRange<Double>, given: String
    )
        throws(CourierError) -> Duration
    {
        guard value.isFinite, range.contains(value) else {
            throw outOfRange(given, name: name, range: describe(range, unit: "seconds"))
        }
        return .nanoseconds(Int64((value * 1e9).rounded()))
    }

    private static func outOfRange(_ text: String, name: String, range: String) -> CourierError {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return CourierError(.invalidConfiguration, "\(name)='\(shown)' is not valid: it must be \(range)")
    }

    private static func describe(_ range: ClosedRange<Double>, unit: String) -> String {
        "a number of \(unit) from \(format(range.lowerBound)) to \(format(range.upperBound))"
    }

    static func format(_ value: Double) -> String {
        if value.isFinite && value == value.rounded() && abs(value) < 1e15 { return format(Int(value)) }
        return "\(value)"
    }

    static func format(_ value: Int) -> String {
        let digits = String(value.magnitude)
        guard digits.count > 4 else { return String(value) }
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }
}
