import ArgumentParser
import Courier
import CourierRuntime
import Foundation
import Logging

/// `courier worker [--handler echo|exec] [-- CMD ARGS…]`: answer requests until SIGTERM or SIGINT.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Answer requests from the configured queue until SIGTERM or SIGINT.",
        discussion: """
            --handler echo answers each request with its own payload. --handler exec runs CMD ARGS once per \
            request (a name on PATH, or a relative or absolute path) with the payload on standard input; its \
            standard output is the response payload and a non-zero exit fails the attempt (it is retried, then \
            answered as failed). A command that cannot be found is reported at start. When a handler is stopped \
            (timeout, cancellation, shutdown) or the worker dies, the command and everything it started get \
            SIGTERM, then SIGKILL 3 s later. With --stream, each piece of the command's standard output is also \
            sent as a chunk as soon as it is written, and each line it writes to file descriptor 3 \
            (COURIER_PROGRESS_FD) becomes progress: one JSON object per line, {"fraction": 0.4, "message": \
            "validating", "counter": 2}, every field optional; other lines are logged and skipped. A worker whose \
            queue is unreachable at start waits and retries. \
            \(environmentNote)
            """
    )

    enum HandlerKind: String, ExpressibleByArgument, CaseIterable {
        case echo, exec, bench
    }

    @Option(
        help: "What answers each request: echo, exec, or bench (echo that streams what 'courier bench --chunks' asks).")
    var handler: HandlerKind = .echo

    @Option(help: "Seconds in-flight requests may finish after a shutdown signal (0…86,400).")
    var gracePeriod: Double = 30

    @Option(
        help: """
            Seconds one handler call may run before it is stopped and the attempt fails (0…604,800, 0 = no \
            limit; default COURIER_HANDLER_TIMEOUT_SECONDS, or 600).
            """)
    var handlerTimeout: Double?

    @Flag(help: "With --handler exec: stream the command's output as chunks and its fd 3 lines as progress.")
    var stream = false

    @OptionGroup var metrics: MetricsOptions

    @Argument(parsing: .postTerminator, help: "The command run per request by --handler exec.")
    var command: [String] = []

    func validate() throws {
        if handler == .exec && command.isEmpty {
            throw ValidationError(
                "--handler exec needs a command after '--', e.g. courier worker --handler exec -- cat")
        }
        if handler != .exec && !command.isEmpty {
            throw ValidationError("a command after '--' needs --handler exec")
        }
        if handler != .exec && stream {
            throw ValidationError("--stream needs --handler exec (the bench handler always streams)")
        }
    }

    func run() async throws {
        let environment = QueueEnvironment()
        try BackendFactory.requireShared(environment, for: "worker")
        let queue = try environment.queueConfiguration()
        let logger = Logger(label: "courier.worker")  // at LOG_LEVEL: the command bootstrapped logging with it
        let work: Worker.StreamingHandler
        switch handler {
        case .echo: work = { request, _ in request.payload }
        case .bench: work = StreamingBench.handle
        case .exec:
            let exec = ExecHandler(command: command, outputLimit: queue.maxPayloadBytes)
            try exec.checkCommand()
            let streamOutput = stream
            work = { request, events in
                try await exec.handle(request, events: streamOutput ? events : nil, logger: logger)
            }
        }
        var application = try WorkerApplication(environment: environment, streamingHandler: work)
        if let handlerTimeout {
            let value = try SettingValue.seconds(handlerTimeout, name: "--handler-timeout", in: 0...604_800)
            application.configuration.handlerTimeout = value == .zero ? nil : value
        }
        application.configuration.gracePeriod = try SettingValue.seconds(
            gracePeriod, name: "--grace-period", in: 0...86_400)
        if let settings = metrics.settings { application.metrics = settings }
        application.handlerName = handler.rawValue
        try await application.run()
    }
}
