import Courier
import CourierRedis
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A server that has just restarted answers `LOADING` until its data is loaded; commands must wait it out.
@Suite("Redis loading after a restart")
struct RedisLoadingTests {
    @Test func commandsAnsweredLoadingAreSentAgain() async throws {
        let server = try LoadingServer(loadingReplies: 3)
        let backend = try await RedisQueueBackend(url: "redis://127.0.0.1:\(server.port)/0", wakeMode: .pubSub)
        let response = try await backend.getResponse(for: try CorrelationID("after-restart"))
        #expect(response == nil)
        #expect(server.commands.withLock { $0.filter { $0 == "GET" }.count } == 4, "three LOADING replies, then nil")
        await backend.shutdown()
        server.stop()
    }
}

/// A one-connection RESP server on a loopback port: `OK` to `CLIENT`, `-LOADING` to the first few other
/// commands, then a nil reply. Blocking sockets on a thread of its own (test code only).
final class LoadingServer: Sendable {
    let port: Int
    let commands = Mutex<[String]>([])
    private let listener: Int32

    init(loadingReplies: Int) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 4) == 0
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw CourierError(.backendUnavailable, "cannot listen on loopback") }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = descriptor
        Thread.detachNewThread { [self] in
            let connection = accept(self.listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var pending = [UInt8]()
            var loadingLeft = loadingReplies
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(connection, &buffer, buffer.count)
                if count <= 0 { return }
                pending += buffer[0..<count]
                while let (name, used) = Self.parseCommand(pending) {
                    pending.removeFirst(used)
                    self.commands.withLock { $0.append(name) }
                    let reply: String
                    if name == "CLIENT" {
                        reply = "+OK\r\n"
                    } else if loadingLeft > 0 {
                        loadingLeft -= 1
                        reply = "-LOADING Redis is loading the dataset in memory\r\n"
                    } else {
                        reply = "$-1\r\n"
                    }
                    _ = reply.withCString { write(connection, $0, strlen($0)) }
                }
            }
        }
    }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }

    /// The command name of the first complete RESP array in `bytes`, and how many bytes it spans.
    private static func parseCommand(_ bytes: [UInt8]) -> (String, Int)? {
        var index = 0
        func line() -> String? {
            guard let end = bytes[index...].firstIndex(of: 10), end > index else { return nil }
            defer { index = end + 1 }
            return String(decoding: bytes[index..<end - 1], as: UTF8.self)
        }
        guard let header = line(), header.first == "*", let count = Int(header.dropFirst()) else { return nil }
        var name = ""
        for argument in 0..<count {
            guard let size = line().flatMap({ Int($0.dropFirst()) }), index + size + 2 <= bytes.count else {
                return nil
            }
            if argument == 0 { name = String(decoding: bytes[index..<index + size], as: UTF8.self).uppercased() }
            index += size + 2
        }
        return (name, index)
    }
}
