import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `redis://[::1]:PORT` reaches a real server listening on the IPv6 loopback only.
@Suite("Redis over IPv6")
struct RedisIPv6Tests {
    @Test(.enabled(if: RedisIPv6Tests.freeIPv6LoopbackPort() != nil, "this machine has no IPv6 loopback"))
    func aBracketedIPv6HostIsReached() async throws {
        let port = try #require(Self.freeIPv6LoopbackPort())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-v6-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/bin/sh")
        server.arguments = [
            "-c", "exec redis-server --port \(port) --bind ::1 --save '' --appendonly no --dir '\(directory.path)'",
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL: the server may inherit a signal mask that blocks SIGTERM.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            try? FileManager.default.removeItem(at: directory)
        }
        let url = "redis://[::1]:\(port)/0?connect_timeout=1"
        var backend: RedisQueueBackend?
        let deadline = ContinuousClock.now + .seconds(20)
        while backend == nil && ContinuousClock.now < deadline {
            backend = try? await RedisQueueBackend(
                url: url, wakeMode: .list, configuration: QueueConfiguration(queueName: "v6"))
            if backend == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let queue = try #require(backend, "could not reach redis-server on [::1]:\(port)")
        let id = try await queue.publishRequest(payload: Data("over v6".utf8))
        #expect(try await queue.status(of: id) == .pending(attempt: 1))
        await queue.shutdown()
    }

    /// A port free on `::1`, or nil when the IPv6 loopback cannot be bound.
    static func freeIPv6LoopbackPort() -> Int? {
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        address.sin6_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin6_port)) : nil
    }
}
