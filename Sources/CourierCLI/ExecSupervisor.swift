import CCourierProcess

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The small process that stands between a worker and an `exec` handler's command.
///
/// `courier` runs itself as `courier __exec-supervisor WORKER_PID [--progress FIFO] -- CMD ARGS…` for each
/// request. The supervisor starts the command in a process group of its own (with the FIFO of an
/// ``ExecProgressChannel`` as its file descriptor 3, when one is given) and then only waits for signals:
/// - the command exits → whatever it left running in its group is killed, and the supervisor exits the same way
///   the command did (same exit code, or the same signal), so the worker sees the command's own result;
/// - SIGTERM, SIGINT, SIGQUIT (the worker stopping the handler) → the whole group gets SIGTERM, then SIGKILL
///   after ``stopGrace`` if anything is still running;
/// - the worker dies, even by SIGKILL → the kernel sends the supervisor SIGHUP (a parent-death signal), which
///   it handles as a stop: a handler never outlives its worker.
///
/// It runs before the Swift concurrency runtime starts any thread, so blocking signals here blocks them for the
/// whole process, and it never returns.
enum ExecSupervisor {
    /// The hidden first argument that selects the supervisor.
    static let argument = "__exec-supervisor"

    /// How long the command's group has between SIGTERM and SIGKILL.
    static let stopGrace: Int = 3

    /// The file descriptor on which a streaming command reports progress.
    static let progressDescriptor: Int32 = 3

    /// The arguments that make `courier` supervise `command` for the worker with process id `worker`, giving it
    /// the FIFO at `progress` as file descriptor 3.
    static func arguments(worker: pid_t, progress: String? = nil, command: [String]) -> [String] {
        [argument, String(worker)] + (progress.map { ["--progress", $0] } ?? []) + ["--"] + command
    }

    /// Runs the supervisor when `arguments` (the process's, without the program name) select it; returns
    /// otherwise.
    static func runIfSelected(_ arguments: [String]) {
        guard arguments.first == argument else { return }
        var rest = arguments.dropFirst(2)
        var progress: String?
        if rest.first == "--progress", rest.count >= 2 {
            progress = rest.dropFirst().first
            rest = rest.dropFirst(2)
        }
        guard arguments.count >= 4, let worker = pid_t(arguments[1]), rest.first == "--", rest.count >= 2 else {
            fail("usage: courier \(argument) WORKER_PID [--progress FIFO] -- COMMAND [ARGUMENTS…]", code: 2)
        }
        supervise(worker: worker, progress: progress, command: Array(rest.dropFirst()))
    }

    private static let handled: [Int32] = [SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP]

    private static func supervise(worker: pid_t, progress: String?, command: [String]) -> Never {
        var waited = sigset_t()
        sigemptyset(&waited)
        for signal in handled { sigaddset(&waited, signal) }
        sigprocmask(SIG_BLOCK, &waited, nil)
        _ = courier_set_parent_death_signal(SIGHUP)
        // The worker may have died before the parent-death signal was armed.
        if getppid() != worker { fail("the worker that started this handler is gone", code: 1) }

        let child = spawn(command, progress: progress.map(openProgress))
        var killAt: timespec?
        while true {
            var timeout = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            let signal = killAt == nil ? sigtimedwait(&waited, nil, nil) : sigtimedwait(&waited, nil, &timeout)
            if signal == SIGCHLD || signal == -1 {
                var status: Int32 = 0
                if waitpid(child, &status, WNOHANG) == child {
                    kill(-child, SIGKILL)  // whatever the command left running in its group
                    mirror(status)
                }
            }
            if signal == SIGTERM || signal == SIGINT || signal == SIGQUIT || signal == SIGHUP, killAt == nil {
                kill(-child, SIGTERM)
                killAt = now()
                killAt!.tv_sec += stopGrace
            }
            if let deadline = killAt, isPast(deadline) { kill(-child, SIGKILL) }
        }
    }

    /// Opens the progress FIFO for writing (the worker holds it open for reading, so this does not block) on a
    /// descriptor other than 3, close-on-exec: only the copy `spawn` puts at 3 reaches the command.
    private static func openProgress(_ path: String) -> Int32 {
        let opened = open(path, O_WRONLY | O_CLOEXEC)
        if opened < 0 { fail("cannot open the progress FIFO '\(path)': \(String(cString: strerror(errno)))", code: 1) }
        let moved = fcntl(opened, F_DUPFD_CLOEXEC, 10)
        close(opened)
        if moved < 0 { fail("cannot move the progress FIFO: \(String(cString: strerror(errno)))", code: 1) }
        return moved
    }

    /// Starts `command` (searched on `PATH` unless it contains a slash) in a new process group, with the
    /// default signal mask and dispositions, and `progress` (if any) as its file descriptor 3.
    private static func spawn(_ command: [String], progress: Int32?) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in handled + [SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        if let progress { posix_spawn_file_actions_adddup2(&actions, progress, progressDescriptor) }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        var child: pid_t = 0
        let result = posix_spawnp(&child, command[0], &actions, &attributes, argv, environ)
        if let progress { close(progress) }
        if result != 0 {
            fail("cannot run '\(command[0])': \(String(cString: strerror(result)))", code: 127)
        }
        return child
    }

    /// Ends this process the way a child with wait status `status` ended.
    private static func mirror(_ status: Int32) -> Never {
        let number = status & 0x7f
        if number == 0 { exit((status >> 8) & 0xff) }
        signal(number, SIG_DFL)
        var only = sigset_t()
        sigemptyset(&only)
        sigaddset(&only, number)
        sigprocmask(SIG_UNBLOCK, &only, nil)
        kill(getpid(), number)
        exit(128 + number)
    }

    private static func now() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time
    }

    private static func isPast(_ deadline: timespec) -> Bool {
        let time = now()
        return time.tv_sec > deadline.tv_sec || (time.tv_sec == deadline.tv_sec && time.tv_nsec >= deadline.tv_nsec)
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        let line = "courier: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        exit(code)
    }
}
