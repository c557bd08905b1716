import Courier
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A non-blocking TCP socket to a Redis server. Only the connection's own thread uses it.
struct RedisSocket {
    let descriptor: Int32

    /// Resolves and connects, waiting at most `timeout`. Runs on the connection's own thread: name lookup and
    /// connect may block it, never a pool thread.
    static func connect(host: String, port: Int, timeout: Duration) throws(CourierError) -> RedisSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status))
            throw CourierError(.backendUnavailable, "cannot resolve Redis host \(host): \(reason)")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype, 0)
            if descriptor < 0 { continue }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            if Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0
                || (errno == EINPROGRESS && waitForConnect(descriptor, timeout: timeout, error: &lastError))
            {
                let socket = RedisSocket(descriptor: descriptor)
                socket.configure()
                return socket
            }
            if errno != EINPROGRESS { lastError = String(cString: strerror(errno)) }
            _ = Glibc.close(descriptor)
        }
        throw CourierError(.backendUnavailable, "cannot connect to Redis at \(host):\(port): \(lastError)")
    }

    private static func waitForConnect(_ descriptor: Int32, timeout: Duration, error: inout String) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, timeout.pollMilliseconds) == 1 else {
            error = "timed out after \(timeout)"
            return false
        }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &code, &length)
        if code != 0 { error = String(cString: strerror(code)) }
        return code == 0
    }

    /// No Nagle delay (commands are small and latency matters); keepalive so a dead peer is noticed.
    private func configure() {
        var on: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, size)
        setsockopt(descriptor, SOL_SOCKET, SO_KEEPALIVE, &on, size)
        var idle: Int32 = 30
        var interval: Int32 = 10
        var count: Int32 = 3
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, size)
    }

    /// Writes what the socket takes now; returns the bytes written, 0 when it would block, nil on error.
    func write(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let written = Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        if written >= 0 { return written }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : nil
    }

    /// Reads what is available; returns the bytes read, 0 when it would block, nil on error or end of stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
        if count > 0 { return count }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return 0 }
        return nil
    }

    func close() { _ = Glibc.close(descriptor) }
}
