import Courier
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The channel on which a streaming `exec` handler's command reports progress: a FIFO that the command sees as
/// file descriptor 3 (``ExecSupervisor`` opens it there), one JSON object per line:
///
///     {"fraction": 0.4, "message": "validating", "counter": 2}
///
/// Every field is optional (`fraction` from 0 to 1, `message` at most 1,024 bytes, `counter` an integer);
/// other fields are ignored. A line that is not such an object is reported by ``lines`` as invalid and changes
/// nothing else.
///
/// The worker holds the FIFO open for reading and writing, so opening it for writing never blocks and reading
/// never sees end-of-file before the channel is closed; reads run on a dispatch source, never on the
/// concurrency pool.
final class ExecProgressChannel: @unchecked Sendable {  // `partial` and `source` are used only on `queue`.
    /// A line the command wrote, as progress or as the reason it is not progress.
    enum Line: Sendable {
        case progress(RequestProgress)
        case invalid(String)
    }

    /// The FIFO's path, given to the supervisor (and unlinked by ``close()``).
    let path: String
    private let descriptor: Int32
    private let queue = DispatchQueue(label: "courier.exec.progress")
    private let source: any DispatchSourceRead
    private let stream: AsyncStream<Line>
    private let continuation: AsyncStream<Line>.Continuation
    /// Bytes after the last newline; touched only on ``queue``.
    private var partial = Data()

    /// The longest line kept; a longer one is reported as invalid.
    static let longestLine = 4096

    /// Creates the FIFO in the temporary directory and starts reading it.
    /// - Throws: ``ExecFailure`` when the FIFO cannot be made or opened.
    init() throws {
        let path = NSTemporaryDirectory() + "/courier-progress-\(UUID().uuidString)"
        guard mkfifo(path, 0o600) == 0 else {
            throw ExecFailure(description: "cannot create a progress FIFO: errno \(errno)")
        }
        let descriptor = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            unlink(path)
            throw ExecFailure(description: "cannot open the progress FIFO: errno \(code)")
        }
        self.path = path
        self.descriptor = descriptor
        (stream, continuation) = AsyncStream.makeStream(of: Line.self)
        source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        source.setEventHandler { [weak self] in self?.drain() }
        source.setCancelHandler {
            Glibc.close(descriptor)
            unlink(path)
        }
        source.activate()
    }

    /// The lines the command writes, until ``close()``.
    var lines: AsyncStream<Line> { stream }

    /// Reads what is left, ends ``lines`` (with a last line that had no newline) and removes the FIFO.
    func close() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                drain()
                if !partial.isEmpty { continuation.yield(Self.parse(partial)) }
                partial = Data()
                source.cancel()
                continuation.finish()
                done.resume()
            }
        }
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            partial.append(contentsOf: buffer[0..<count])
            while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
                let line = partial[partial.startIndex..<newline]
                partial = Data(partial[(newline + 1)...])
                if !line.isEmpty { continuation.yield(Self.parse(line)) }
            }
            if partial.count > Self.longestLine {
                continuation.yield(.invalid("a progress line longer than \(Self.longestLine) bytes"))
                partial = Data()
            }
        }
    }

    /// Parses one line of the documented format.
    static func parse(_ line: Data) -> Line {
        struct Fields: Decodable {
            var fraction: Double?
            var message: String?
            var counter: Int?
        }
        guard let fields = try? JSONDecoder().decode(Fields.self, from: line) else {
            let text = String(decoding: line.prefix(80), as: UTF8.self)
            return .invalid("'\(text)' is not a JSON object with fraction, message or counter")
        }
        let progress = RequestProgress(fraction: fields.fraction, message: fields.message, counter: fields.counter)
        do {
            try progress.validate()
        } catch {
            return .invalid(error.message)
        }
        return .progress(progress)
    }
}
