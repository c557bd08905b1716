import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal HTTP/1.1 server that answers `GET /metrics` with a Prometheus text exposition and anything else
/// with 404, one connection at a time.
///
/// It is deliberately tiny (no keep-alive, no TLS, requests up to 8 KiB) so that serving metrics does not pull
/// a web framework into every worker build; bind it to a private interface and let Prometheus scrape it. It
/// accepts and answers on one thread of its own, never on the cooperative pool. Safe to stop from any task.
public final class MetricsEndpoint: Sendable {
    /// The port it listens on (the one chosen by the system when started with port 0).
    public let port: Int
    private let socket: Int32
    private let stopped = Mutex(false)
    private let render: @Sendable () -> String

    /// Starts listening on `host`:`port` and serving `render()`'s text on `GET /metrics`.
    /// - Parameters:
    ///   - host: The IPv4 address to bind; loopback by default, `0.0.0.0` for every interface.
    ///   - port: The TCP port; 0 lets the system pick one (read it back from ``port``).
    ///   - render: Produces the exposition text; called on the endpoint's thread for each scrape.
    /// - Throws: ``MetricsEndpointError`` when the socket cannot be opened, bound or listened on.
    public init(host: String = "127.0.0.1", port: Int, render: @escaping @Sendable () -> String) throws {
        #if canImport(Glibc)
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw MetricsEndpointError(reason: "socket() failed: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw MetricsEndpointError(reason: "'\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw MetricsEndpointError(reason: "cannot listen on \(host):\(port): errno \(code)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.socket = fd
        self.render = render
        let thread = Thread { [self] in serve() }
        thread.name = "courier-metrics"
        thread.start()
    }

    /// Stops listening. Calling it again does nothing.
    public func stop() {
        let wasStopped = stopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !wasStopped else { return }
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }

    private func serve() {
        while !stopped.withLock({ $0 }) {
            let client = accept(socket, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 8192)
        var received = 0
        while received < buffer.count {
            let count = buffer.withUnsafeMutableBytes {
                recv(client, $0.baseAddress! + received, $0.count - received, 0)
            }
            if count <= 0 { break }
            received += count
            if buffer[0..<received].windowContains([13, 10, 13, 10]) { break }
        }
        let requestLine = String(decoding: buffer[0..<received], as: UTF8.self).prefix { $0 != "\r" && $0 != "\n" }
        let parts = requestLine.split(separator: " ")
        let response: String
        if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
            let body = render()
            response =
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        } else {
            response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        }
        var bytes = Array(response.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeMutableBytes { send(client, $0.baseAddress! + sent, $0.count - sent, 0) }
            if count <= 0 { return }
            sent += count
        }
    }
}

/// Why a ``MetricsEndpoint`` could not start.
public struct MetricsEndpointError: Error, CustomStringConvertible {
    /// What went wrong.
    public let reason: String
    /// The reason.
    public var description: String { "metrics endpoint: \(reason)" }
}

extension ArraySlice where Element == UInt8 {
    fileprivate func windowContains(_ pattern: [UInt8]) -> Bool {
        guard count >= pattern.count else { return false }
        var index = startIndex
        while index + pattern.count <= endIndex {
            if self[index..<(index + pattern.count)].elementsEqual(pattern) { return true }
            index += 1
        }
        return false
    }
}
