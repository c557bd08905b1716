import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Random bits for generated ids, drawn from the system's secure generator 4 KiB at a time.
///
/// `SystemRandomNumberGenerator` makes a system call per value; ids are generated once per request, so the
/// pool fills 4 KiB with one call and serves 256 ids from it, keeping them unpredictable.
final class RandomPool: Sendable {
    static let shared = RandomPool()

    private static let words = 512
    private let state = Mutex<(buffer: [UInt64], next: Int)>(([], words))

    /// 128 fresh random bits.
    func next128() -> (UInt64, UInt64) {
        state.withLock { state in
            if state.next + 2 > Self.words {
                state.buffer = Self.fresh()
                state.next = 0
            }
            defer { state.next += 2 }
            return (state.buffer[state.next], state.buffer[state.next + 1])
        }
    }

    /// 4 KiB from the C library's secure generator (`arc4random_buf`, seeded by the kernel) in one call.
    private static func fresh() -> [UInt64] {
        var words = [UInt64](repeating: 0, count: Self.words)
        words.withUnsafeMutableBytes { bytes in arc4random_buf(bytes.baseAddress!, bytes.count) }
        return words
    }
}
