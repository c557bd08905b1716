import Courier
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` that the tests start on a free loopback port, in a temporary directory, with
/// `appendonly yes` and `appendfsync always`, and stop when they finish (or when the test process exits).
public final class RedisTestServer: @unchecked Sendable {
    /// One server shared by the tests that do not restart it, started by the first test that asks.
    public static func shared() async throws -> RedisTestServer {
        try await sharedServer.value
    }

    private static let sharedServer = Task { try await RedisTestServer.start() }

    /// The loopback port the server listens on (kept across restarts).
    public let port: Int
    /// The server's working directory (its append-only file lives here).
    public let directory: URL
    /// The password the server requires, if any.
    public let password: String?
    private let lock = NSLock()
    private var process: Process?
    private var serverPID: pid_t = 0

    private init(password: String?) throws {
        self.password = password
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try LoopbackPort.free()
    }

    /// Starts a server of its own on a free loopback port, optionally requiring `password`.
    public static func start(password: String? = nil) async throws -> RedisTestServer {
        let server = try RedisTestServer(password: password)
        try await server.start()
        return server
    }

    /// A `redis://` URL for this server, with its password, selecting database 0.
    public var url: String { url(database: 0) }

    /// A `redis://` URL for this server, with its password, selecting `database`.
    public func url(database: Int) -> String {
        if let password { return "redis://:\(password)@127.0.0.1:\(port)/\(database)" }
        return "redis://127.0.0.1:\(port)/\(database)"
    }

    static var executable: String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "redis-server"
    }

    /// Starts (or starts again) the server and returns once it answers `PING`.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        var arguments = [
            Self.executable, "--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory.path,
            "--appendonly", "yes", "--appendfsync", "always", "--save", "''", "--daemonize", "no",
            "--maxmemory-policy", "noeviction", "--logfile", "redis.log",
        ]
        if let password { arguments += ["--requirepass", password] }
        let pidFile = directory.appendingPathComponent("server.pid").path
        try? FileManager.default.removeItem(atPath: pidFile)
        // The shell stays as a watchdog: it stops the server when the test process goes away, however it
        // ends, and exits itself when the server stops.
        process.arguments = [
            "-c",
            """
            \(arguments.joined(separator: " ")) & server=$!
            echo $server > \(pidFile)
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.1; done
            kill -9 $server 2>/dev/null; wait $server 2>/dev/null
            """,
        ]
        // The watchdog must not hold the test process's output open: `swift test` waits for it to close.
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lock.withLock { self.process = process }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if serverPIDValue == 0, let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                lock.withLock { serverPID = pid }
            }
            if serverPIDValue != 0, (try? command("PING")) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CourierError(.backendUnavailable, "redis-server did not start on port \(port)")
    }

    private var serverPIDValue: pid_t { lock.withLock { serverPID } }

    /// Stops the server with `SHUTDOWN` (it flushes its append-only file) and waits for it and its watchdog to exit.
    public func stop() async {
        let (process, pid) = lock.withLock { () -> (Process?, pid_t) in
            defer { (self.process, self.serverPID) = (nil, 0) }
            return (self.process, self.serverPID)
        }
        guard let process else { return }
        // SHUTDOWN rather than a signal: the server may inherit a signal mask that blocks SIGTERM.
        _ = try? RedisTestClient(port: port, password: password).run(["SHUTDOWN"])
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                if pid != 0 { kill(pid, SIGKILL) }
                kill(process.processIdentifier, SIGKILL)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops and starts the server on the same port and directory: what survives is what Redis persisted.
    public func restart(down: Duration = .zero) async throws {
        await stop()
        if down > .zero { try await Task.sleep(for: down) }
        try await start()
    }

    /// Runs `redis-cli`-like commands through a plain socket: used for inspection (`INFO`, `DBSIZE`, …).
    public func command(_ arguments: String...) throws -> String {
        try command(arguments)
    }

    /// Runs one command given as an array of arguments.
    public func command(_ arguments: [String]) throws -> String {
        try RedisTestClient(port: port, password: password).run(arguments)
    }

    deinit {
        if serverPID != 0 { kill(serverPID, SIGKILL) }
    }
}

/// A blocking RESP client for test inspection only (never used by the adapters).
public struct RedisTestClient {
    let port: Int
    let password: String?

    /// A client for the server on `port` that authenticates with `password` when given.
    public init(port: Int, password: String?) {
        self.port = port
        self.password = password
    }

    /// Runs one command and renders its reply as text (arrays one element per line); an error reply throws.
    public func run(_ arguments: [String]) throws -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw CourierError(.backendUnavailable, "test client cannot connect") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var commands: [[String]] = []
        if let password { commands.append(["AUTH", password]) }
        commands.append(arguments)
        var text = ""
        for command in commands {
            var bytes = "*\(command.count)\r\n"
            for argument in command { bytes += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
            _ = bytes.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            text = try readReply(descriptor)
        }
        return text
    }

    /// Reads one reply and renders it as text (bulk strings raw, arrays one element per line).
    private func readReply(_ descriptor: Int32) throws -> String {
        var buffer = [UInt8]()
        func readLine() throws -> String {
            var line = [UInt8]()
            var byte: UInt8 = 0
            while true {
                guard recv(descriptor, &byte, 1, 0) == 1 else {
                    throw CourierError(.backendUnavailable, "test client: connection closed")
                }
                if byte == 10, line.last == 13 { return String(decoding: line.dropLast(), as: UTF8.self) }
                line.append(byte)
            }
        }
        func readValue() throws -> String {
            let line = try readLine()
            let body = String(line.dropFirst())
            switch line.first {
            case "+", ":": return body
            case "-": throw CourierError(.storageFailure, body)
            case "$":
                let count = Int(body) ?? -1
                if count < 0 { return "" }
                buffer = [UInt8](repeating: 0, count: count + 2)
                var read = 0
                while read < count + 2 {
                    let got = buffer.withUnsafeMutableBytes {
                        recv(descriptor, $0.baseAddress! + read, count + 2 - read, 0)
                    }
                    guard got > 0 else { throw CourierError(.backendUnavailable, "test client: short read") }
                    read += got
                }
                return String(decoding: buffer.prefix(count), as: UTF8.self)
            case "*":
                let count = Int(body) ?? 0
                return try (0..<max(0, count)).map { _ in try readValue() }.joined(separator: "\n")
            default:
                throw CourierError(.storageFailure, "test client: unexpected reply \(line)")
            }
        }
        return try readValue()
    }
}
