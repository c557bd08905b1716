import CCourierConformanceSupport
import Foundation

/// What the whole process holds, counted without any help from the adapter: open file descriptors, threads and
/// bytes of heap in use. A count the platform cannot give is `nil` and is not checked.
struct ProcessResources: Sendable, CustomStringConvertible {
    var fileDescriptors: Int?
    var threads: Int?
    var heapBytes: Int?

    /// Reads the counts now.
    static func sample() -> ProcessResources {
        let heap = courier_heap_bytes_in_use()
        return ProcessResources(
            fileDescriptors: openFileDescriptors(), threads: threadCount(), heapBytes: heap < 0 ? nil : Int(heap))
    }

    var description: String {
        func text(_ value: Int?) -> String { value.map(String.init) ?? "not measured" }
        return "\(text(fileDescriptors)) file descriptors, \(text(threads)) threads, \(text(heapBytes)) heap bytes"
    }

    /// How much each count may grow over one round of work without counting as a leak.
    struct Allowance: Sendable {
        var fileDescriptors: Int
        var threads: Int
        var heapBytes: Int
    }

    /// The counts that grew by more than `allowance` since `earlier`, each described; empty when none did.
    func growth(since earlier: ProcessResources, allowance: Allowance) -> [String: Int] {
        var grown: [String: Int] = [:]
        func check(_ name: String, _ now: Int?, _ before: Int?, _ allowed: Int) {
            if let now, let before, now - before > allowed { grown[name] = now - before }
        }
        check("file descriptors", fileDescriptors, earlier.fileDescriptors, allowance.fileDescriptors)
        check("threads", threads, earlier.threads, allowance.threads)
        check("heap bytes", heapBytes, earlier.heapBytes, allowance.heapBytes)
        return grown
    }

    /// The smaller of each count.
    func lowest(_ other: ProcessResources) -> ProcessResources {
        func low(_ first: Int?, _ second: Int?) -> Int? {
            guard let first, let second else { return first ?? second }
            return min(first, second)
        }
        return ProcessResources(
            fileDescriptors: low(fileDescriptors, other.fileDescriptors), threads: low(threads, other.threads),
            heapBytes: low(heapBytes, other.heapBytes))
    }

    private static func openFileDescriptors() -> Int? {
        #if os(Linux)
            let directory = "/proc/self/fd"
        #else
            let directory = "/dev/fd"
        #endif
        return (try? FileManager.default.contentsOfDirectory(atPath: directory)).map(\.count)
    }

    private static func threadCount() -> Int? {
        #if os(Linux)
            guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
            for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
                return Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces))
            }
            return nil
        #else
            return nil
        #endif
    }
}

extension ConformanceContext {
    /// Fails when the process keeps more of some resource after every one of `rounds` rounds of `work`.
    ///
    /// Other work in the same process (parallel tests) moves the counts too, but it rarely grows them in every
    /// round, while a leak does. After each round the counts get `settle` to come back; the lowest reading in
    /// that time is compared with the one after the round before. A warm-up round runs first and is not counted.
    func expectNoGrowth(
        rule: String, _ what: String, rounds: Int = 5, allowance: ProcessResources.Allowance,
        settle: Duration, work: () async throws -> Void
    ) async throws {
        try await work()
        var previous = try await settled(after: nil, allowance: allowance, within: settle)
        // The counts that grew in every round so far, with their growth in each.
        var persistent: [String: [Int]] = [:]
        for round in 0..<rounds {
            try await work()
            let now = try await settled(after: previous, allowance: allowance, within: settle)
            let grown = now.growth(since: previous, allowance: allowance)
            if round == 0 {
                persistent = grown.mapValues { [$0] }
            } else {
                for (name, amounts) in persistent {
                    persistent[name] = grown[name].map { amounts + [$0] }
                }
            }
            if persistent.isEmpty { return }
            previous = now
        }
        let report = persistent.sorted { $0.key < $1.key }.map { name, amounts in
            "\(name) grew by \(amounts.map(String.init).joined(separator: ", "))"
        }
        throw ConformanceFailure(
            rule: rule,
            "\(what) kept resources: after each of \(rounds) rounds, " + report.joined(separator: "; ")
                + " (allowed per round: \(allowance.fileDescriptors) file descriptors, \(allowance.threads) threads, "
                + "\(allowance.heapBytes) heap bytes)")
    }

    /// The lowest counts seen within `limit`, returning early once they are within `allowance` of `earlier`.
    private func settled(
        after earlier: ProcessResources?, allowance: ProcessResources.Allowance, within limit: Duration
    ) async throws -> ProcessResources {
        let deadline = ContinuousClock.now + limit
        var lowest = ProcessResources.sample()
        var samples = 1
        while ContinuousClock.now < deadline {
            // The baseline is the lowest of a few readings; later readings stop once back within the allowance.
            if let earlier, lowest.growth(since: earlier, allowance: allowance).isEmpty { break }
            if earlier == nil && samples >= 4 { break }
            try await Task.sleep(for: .milliseconds(50))
            lowest = lowest.lowest(.sample())
            samples += 1
        }
        return lowest
    }
}
