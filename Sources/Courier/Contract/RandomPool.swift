import Synchronization

/// Random bits for generated ids, drawn from the system's secure generator 4 KiB at a time.
///
/// `SystemRandomNumberGenerator` makes a system call per value; ids are generated once per request, so the
/// pool amortises that call over 256 ids while keeping them unpredictable.
final class RandomPool: Sendable {
    static let shared = RandomPool()

    private static let words = 512
    private let state = Mutex<(buffer: [UInt64], next: Int)>(([], words))

    /// 128 fresh random bits.
    func next128() -> (UInt64, UInt64) {
        state.withLock { state in
            if state.next + 2 > Self.words {
                var generator = SystemRandomNumberGenerator()
                state.buffer = (0..<Self.words).map { _ in generator.next() }
                state.next = 0
            }
            defer { state.next += 2 }
            return (state.buffer[state.next], state.buffer[state.next + 1])
        }
    }
}
