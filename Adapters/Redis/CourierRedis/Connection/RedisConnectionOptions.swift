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
    ///
    /// The host may be a name, an IPv4 address or a bracketed IPv6 address (`redis://[::1]:6379`). The
    /// credentials run to the last `@`, so a password may hold any character; percent-encoded ones are decoded.
    /// Options: `connect_timeout` and `read_timeout`, 0.001…3,600 seconds.
    /// - Throws: ``CourierError`` with code ``CourierError/Code/invalidConfiguration`` naming what is wrong;
    ///   the message never contains the password.
    public init(url text: String) throws(CourierError) {
        func invalid(_ reason: String) -> CourierError {
            CourierError(
                .invalidConfiguration,
                "REDIS_URL \(QueueEnvironment.redactingPassword(in: text)) is not valid: \(reason)")
        }
        let form = "expected redis://[[user]:password@]host[:port][/database]"
        guard let schemeEnd = text.range(of: "://") else { throw invalid(form) }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" else {
            if scheme == "rediss" {
                throw invalid("TLS (rediss://) is not supported; use redis:// on a trusted network")
            }
            throw invalid("the scheme must be redis://")
        }
        var rest = text[schemeEnd.upperBound...]
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = Self.decoded(credentials[..<colon])
                password = Self.decoded(credentials[credentials.index(after: colon)...])
            } else {
                // `redis://secret@host` is the common way to give only a password.
                password = Self.decoded(credentials)
            }
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("the IPv6 address has no closing ]") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("expected :port after the IPv6 address") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw invalid("'\(host)' is not an IPv6 address")
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw invalid("it names no host") }
            guard host.count <= 253 else { throw invalid("the host name is \(host.count) characters; at most 253") }
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") })
            else { throw invalid("the host name may hold only letters, digits, '.', '-' and '_'") }
            guard !host.split(separator: ".").contains(where: { $0.count > 63 }) else {
                throw invalid("a part of the host name is longer than 63 characters")
            }
        }
        self.init(host: String(host), user: user.flatMap { $0.isEmpty ? nil : $0 })
        self.password = password.flatMap { $0.isEmpty ? nil : $0 }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw invalid("the port must be a whole number from 1 to 65,535")
            }
            self.port = port
        }
        var path = rest[authorityEnd...]
        var query: Substring = ""
        if let question = path.firstIndex(of: "?") {
            query = path[path.index(after: question)...]
            path = path[..<question]
        }
        let database = path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !database.isEmpty {
            guard let number = Int(database), (0...Int(Int32.max)).contains(number) else {
                throw invalid("the database must be a whole number from 0 to 2,147,483,647")
            }
            self.database = number
        }
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1)
            let name = String(parts[0])
            guard name == "connect_timeout" || name == "read_timeout" else {
                throw invalid("unknown option '\(name.prefix(40))'; the options are connect_timeout and read_timeout")
            }
            let value: Duration
            do {
                value = try SettingValue.seconds(
                    parts.count > 1 ? String(parts[1]) : "", name: name, in: 0.001...3_600)
            } catch {
                throw invalid(error.message)
            }
            if name == "connect_timeout" { connectTimeout = value } else { readTimeout = value }
        }
    }

    private static func decoded(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }

    /// `host:port`, for messages.
    var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
