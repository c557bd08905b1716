import Dispatch
import Foundation

// The entry point is synchronous on purpose: an exec handler's supervisor must block signals before the Swift
// concurrency runtime starts any thread, so it is chosen here, before the first task exists.
ExecSupervisor.runIfSelected(Array(CommandLine.arguments.dropFirst()))
// A closed pipe makes a write fail with EPIPE, reported as an error, instead of killing the process.
signal(SIGPIPE, SIG_IGN)
Task { await CourierCommand.runAndExit(Array(CommandLine.arguments.dropFirst())) }
dispatchMain()
