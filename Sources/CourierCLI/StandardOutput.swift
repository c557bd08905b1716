import Foundation

/// Writes to standard output and reports a failed write, instead of losing output silently (a full disk, a
/// closed pipe: `SIGPIPE` is ignored, so the write fails with `EPIPE` and the command exits non-zero).
enum StandardOutput {
    /// Writes `bytes` exactly as given.
    /// - Throws: ``CommandFailure`` (exit code 1) saying why the write failed, prefixed by `context` when given.
    static func write(_ bytes: Data, context: String? = nil) throws {
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure != 0 {
            let reason = "cannot write to standard output: \(String(cString: strerror(failure)))"
            throw CommandFailure.requestFailed(context.map { "\($0); \(reason)" } ?? reason)
        }
    }

    /// Writes `text` and a newline.
    /// - Throws: As ``write(_:context:)``.
    static func line(_ text: String, context: String? = nil) throws {
        try write(Data((text + "\n").utf8), context: context)
    }
}

/// Writes one line to standard error (for notices that must not mix with standard output's payload).
func writeToStandardError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
