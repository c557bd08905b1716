import Courier
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Free TCP ports on the loopback interface, for servers the tests start.
public enum LoopbackPort {
    /// A port the kernel picked as free, released for the caller's server to take.
    /// - Throws: ``CourierError`` with code `backendUnavailable` when no socket can be bound.
    public static func free() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw CourierError(.backendUnavailable, "no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
