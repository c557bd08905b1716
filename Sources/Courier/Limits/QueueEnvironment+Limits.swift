import Foundation

extension QueueEnvironment {
    /// `COURIER_MAX_INFLIGHT`: the most requests the whole process works on at once, or `nil` when unset.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` unless it is 1…100,000.
    public func maxInFlight() throws(CourierError) -> Int? {
        try inFlightLimit("COURIER_MAX_INFLIGHT")
    }

    /// `COURIER_GLOBAL_INFLIGHT`: the most requests every process sharing the Redis server works on at once, or
    /// `nil` when unset. Only Redis queue types can honour it.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` unless it is 1…100,000.
    public func globalInFlight() throws(CourierError) -> Int? {
        try inFlightLimit("COURIER_GLOBAL_INFLIGHT")
    }

    private func inFlightLimit(_ name: String) throws(CourierError) -> Int? {
        guard let text = trimmed(name) else { return nil }
        return try SettingValue.integer(text, name: name, in: 1...100_000)
    }

    /// `COURIER_RATE_LIMIT` (requests per second, may be fractional, 0.001…1,000,000) and `COURIER_RATE_BURST`
    /// (1…1,000,000; default: one second's worth, at least 1), or `nil` when `COURIER_RATE_LIMIT` is unset.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` for a value outside its
    ///   range, naming the variable and the range.
    public func rateLimit() throws(CourierError) -> (rate: Double, burst: Double)? {
        guard let text = trimmed("COURIER_RATE_LIMIT") else { return nil }
        let rate = try SettingValue.number(
            text, name: "COURIER_RATE_LIMIT", in: 0.001...1_000_000, unit: "requests per second")
        guard let burstText = trimmed("COURIER_RATE_BURST") else { return (rate, max(1, rate)) }
        let burst = try SettingValue.number(burstText, name: "COURIER_RATE_BURST", in: 1...1_000_000, unit: "requests")
        return (rate, burst)
    }

    /// Builds the process's limits from `COURIER_MAX_INFLIGHT`, `COURIER_RATE_LIMIT` and `COURIER_RATE_BURST`.
    ///
    /// Call it once per process and pass the result to every ``Worker`` so they share one gate and one bucket.
    /// - Throws: As ``maxInFlight()`` and ``rateLimit()``.
    public func workerLimits() throws(CourierError) -> WorkerLimits {
        let gate = try maxInFlight().map { InFlightGate(limit: $0) }
        let bucket = try rateLimit().map { TokenBucket(rate: $0.rate, burst: $0.burst) }
        return WorkerLimits(gate: gate, rateLimit: bucket)
    }

    private func trimmed(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }
}
