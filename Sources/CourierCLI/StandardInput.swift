import Foundation

/// Reads standard input without blocking a thread of Swift's cooperative pool.
enum StandardInput {
    /// Reads standard input to its end on a thread of its own.
    static func readAll() async -> Data {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: FileHandle.standardInput.readDataToEndOfFile())
            }
            thread.name = "courier.stdin"
            thread.start()
        }
    }
}
