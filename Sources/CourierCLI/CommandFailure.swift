import Courier

/// A failure the CLI reports as one line on standard error with a specific exit code.
struct CommandFailure: Error {
    /// The documented exit code for a failed or timed-out request.
    static let requestFailed: Int32 = 1
    /// The documented exit code for bad usage or configuration.
    static let usage: Int32 = 2

    let message: String
    let exitCode: Int32

    static func usage(_ message: String) -> CommandFailure { CommandFailure(message: message, exitCode: usage) }
    static func requestFailed(_ message: String) -> CommandFailure {
        CommandFailure(message: message, exitCode: requestFailed)
    }

    /// Configuration and input problems are usage errors (2); everything else failed the request (1).
    static func exitCode(for error: CourierError) -> Int32 {
        let usageCodes: [CourierError.Code] = [
            .unknownQueueType, .unsupportedQueueType, .invalidConfiguration, .invalidQueueName,
            .invalidCorrelationID, .payloadTooLarge, .unsupportedOperation,
        ]
        return usageCodes.contains(error.code) ? usage : requestFailed
    }
}
