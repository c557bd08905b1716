import Courier
import Foundation

/// Where and how to reach a Redis server: parsed from a `redis://` URL plus timeouts.
///
/// The URL form is `redis://[[user]:password@]host[:port][/database]`. A password alone authenticates with
/// `AUTH password`; a user and password use an ACL user (`AUTH user password`). Options may follow as query
/// items: `connect_timeout` and `read_timeout` in seconds.
public struct RedisConnectionOptions: Sendable, Hashable {
    /// A host name or IP address.
    public var host: String
    /// The TCP port, 6379 by default.
    public var port: Int
    /// The ACL user to authenticate as; nil for the default user.
    public var user: String?
    /// The password sent with `AUTH`; nil for none. Never printed in errors or logs.
    public var password: String?
    /// The logical database selected with `SELECT`, 0 by default.
    public var database: Int
    /// How long opening a connection (TCP connect and handshake) may take before it fails.
    public var connectTimeout: Duration
    /// How long a reply may take beyond a blocking command's own block time before the connection is
    /// considered dead and replaced.
    public var readTimeout: Duration
    /// How long a command waits for a lost connection to come back before it fails with
    /// ``CourierError/Code/backendUnavailable``.
    public var reconnectWindow: Duration

    /// Creates options from parts; every argument has the documented default.
    public init(
        host: String = "127.0.0.1", port: Int = 6379, user: String? = nil, password: String? = nil,
        database: Int = 0, connectTimeout: Duration = .seconds(5), readTimeout: Duration = .seconds(10),
        reconnectWindow: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.reconnectWindow = reconnectWindow
    }

    /// Parses a `redis://` URL.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` naming what is wrong;
    ///   the message never contains the password.
    public init(url text: String) throws(CourierError) {
        func invalid(_ reason: String) -> CourierError {
            CourierError(
                .invalidConfiguration,
                "REDIS_URL \(QueueEnvironment.redactingPassword(in: text)) is not valid: \(reason)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw invalid("expected redis://[[user]:password@]host[:port][/database]")
        }
        guard scheme == "redis" else {
            if scheme == "rediss" {
                throw invalid("TLS (rediss://) is not supported; use redis:// on a trusted network")
            }
            throw invalid("the scheme must be redis://")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("it names no host") }
        self.init(host: host)
        if let port = components.port {
            guard (1...65535).contains(port) else { throw invalid("port \(port) is out of range") }
            self.port = port
        }
        if let user = components.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty {
            self.user = user
        }
        if let password = components.percentEncodedPassword.flatMap({ $0.removingPercentEncoding }),
            !password.isEmpty
        {
            self.password = password
        }
        if user != nil && password == nil {
            // `redis://secret@host` is the common way to give only a password.
            password = user
            user = nil
        }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else { throw invalid("database '\(path)' is not a number") }
            self.database = database
        }
        for item in components.queryItems ?? [] {
            guard let value = item.value.flatMap(Double.init), value > 0 else {
                throw invalid("option \(item.name) needs a positive number of seconds")
            }
            switch item.name {
            case "connect_timeout": connectTimeout = .milliseconds(Int(value * 1000))
            case "read_timeout": readTimeout = .milliseconds(Int(value * 1000))
            default: throw invalid("unknown option '\(item.name)'")
            }
        }
    }

    /// `host:port`, for messages.
    var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
