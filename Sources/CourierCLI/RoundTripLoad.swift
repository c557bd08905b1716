import Courier
import Foundation
import Synchronization

/// The workload `courier demo` and `courier bench` run: a fixed number of round trips (publish, then wait for
/// the response) with a fixed number in flight, each timed from publish to response.
struct RoundTripLoad: Sendable {
    let backend: any QueueBackend
    let requests: Int
    let inflight: Int
    let payload: Data
    let timeout: Duration

    /// What a run measured.
    struct Result: Sendable {
        var requests: Int
        var failures: Int
        var seconds: Double
        var latencies: [Double]

        var roundTripsPerSecond: Double { seconds > 0 ? Double(requests - failures) / seconds : 0 }

        /// The latency (in milliseconds) below which `fraction` of round trips finished.
        func percentile(_ fraction: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let index = min(latencies.count - 1, max(0, Int((Double(latencies.count) * fraction).rounded(.up)) - 1))
            return latencies[index] * 1000
        }
    }

    /// Runs the load; `progress` is called with the number of round trips done, at most every 2 % of the total.
    func run(progress: (@Sendable (Int) -> Void)? = nil) async -> Result {
        let next = SharedCounter()
        let done = SharedCounter()
        let step = max(1, requests / 50)
        let clock = ContinuousClock()
        let start = clock.now
        let perClient = await withTaskGroup(of: ([Double], Int).self) { group in
            for _ in 0..<min(inflight, requests) {
                group.addTask {
                    var latencies: [Double] = []
                    var failures = 0
                    while next.increment() - 1 < requests {
                        let began = clock.now
                        do {
                            let response = try await backend.send(QueueRequest(payload: payload), timeout: timeout)
                            if response.status == .completed {
                                latencies.append((clock.now - began).inSeconds)
                            } else {
                                failures += 1
                            }
                        } catch {
                            failures += 1
                        }
                        let finished = done.increment()
                        if finished % step == 0 { progress?(finished) }
                    }
                    return (latencies, failures)
                }
            }
            var all: [([Double], Int)] = []
            for await client in group { all.append(client) }
            return all
        }
        let seconds = (clock.now - start).inSeconds
        return Result(
            requests: requests, failures: perClient.reduce(0) { $0 + $1.1 }, seconds: seconds,
            latencies: perClient.flatMap(\.0).sorted())
    }
}

/// The process's peak resident set size in bytes (`VmHWM`), or 0 where the kernel does not say.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes * 1024
}

/// A counter shared by concurrent tasks.
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds one and returns the new value.
    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
}
