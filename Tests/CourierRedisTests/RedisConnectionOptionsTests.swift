import Courier
import CourierRedis
import CourierTestSupport
import Foundation
import Testing

/// `REDIS_URL` parsing, and authentication and database selection against a real server.
@Suite("Redis URLs and authentication")
struct RedisConnectionOptionsTests {
    @Test func urlsParse() throws {
        let plain = try RedisConnectionOptions(url: "redis://cache.internal")
        #expect(
            (plain.host, plain.port, plain.database, plain.user, plain.password) == (
                "cache.internal", 6379, 0, nil, nil
            ))
        let password = try RedisConnectionOptions(url: "redis://:s%40cret@10.0.0.5:6380/2")
        #expect((password.host, password.port, password.database) == ("10.0.0.5", 6380, 2))
        #expect(password.user == nil && password.password == "s@cret")
        let user = try RedisConnectionOptions(url: "redis://worker:pw@host/0?connect_timeout=1.5&read_timeout=30")
        #expect(user.user == "worker" && user.password == "pw")
        #expect(user.connectTimeout == .milliseconds(1500) && user.readTimeout == .seconds(30))
        let bare = try RedisConnectionOptions(url: "redis://only-a-password@host")
        #expect(bare.user == nil && bare.password == "only-a-password")
    }

    @Test(arguments: [
        "localhost:6379", "http://host", "rediss://host", "redis://", "redis://host:0", "redis://host/db",
        "redis://host?timeout=3", "redis://host?connect_timeout=-1", "redis://:hunter2@host:99999",
    ])
    func badURLsAreClearErrorsWithoutThePassword(_ url: String) {
        do {
            _ = try RedisConnectionOptions(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("REDIS_URL"))
            #expect(!error.message.contains("hunter2"))
        }
    }

    /// A password holding every character that ends a URL part ('#', '/', '?', '@', ':').
    static let secret = "s3#cr/t?pw@x"
    /// Fragments of ``secret`` (raw and percent-encoded) that no error message may contain.
    static let secretFragments = ["s3#cr", "cr/t", "t?pw", "pw@x", "s3%23cr", "cr%2Ft"]

    @Test func passwordsMayHoldAnyCharacterUnencoded() throws {
        let full = try RedisConnectionOptions(url: "redis://worker:\(Self.secret)@cache.internal:6380/2")
        #expect(full.user == "worker" && full.password == Self.secret)
        #expect((full.host, full.port, full.database) == ("cache.internal", 6380, 2))
        let passwordOnly = try RedisConnectionOptions(url: "redis://\(Self.secret)@10.0.0.5")
        #expect(passwordOnly.user == nil && passwordOnly.password == Self.secret)
        #expect((passwordOnly.host, passwordOnly.port, passwordOnly.database) == ("10.0.0.5", 6379, 0))
        let emptyUser = try RedisConnectionOptions(url: "redis://:\(Self.secret)@host:6381/3?connect_timeout=0.5")
        #expect(emptyUser.user == nil && emptyUser.password == Self.secret)
        #expect((emptyUser.host, emptyUser.port, emptyUser.database) == ("host", 6381, 3))
        #expect(emptyUser.connectTimeout == .milliseconds(500))
        let colons = try RedisConnectionOptions(url: "redis://admin:p:a:ss@host")
        #expect(colons.user == "admin" && colons.password == "p:a:ss")
        #expect((colons.host, colons.port) == ("host", 6379))
    }

    @Test func percentEncodedCredentialsAreDecoded() throws {
        let encoded = try RedisConnectionOptions(url: "redis://us%3Aer:s3%23cr%2Ft%3Fpw%40x@host:6390/4")
        #expect(encoded.user == "us:er" && encoded.password == Self.secret)
        #expect((encoded.host, encoded.port, encoded.database) == ("host", 6390, 4))
        let percent = try RedisConnectionOptions(url: "redis://:100%25%20sure@host")
        #expect(percent.password == "100% sure")
    }

    @Test func bracketedIPv6Hosts() throws {
        let plain = try RedisConnectionOptions(url: "redis://[::1]:6390/2")
        #expect((plain.host, plain.port, plain.database) == ("::1", 6390, 2))
        let withCredentials = try RedisConnectionOptions(url: "redis://u:\(Self.secret)@[fe80::1:2]/1")
        #expect((withCredentials.host, withCredentials.port, withCredentials.database) == ("fe80::1:2", 6379, 1))
        #expect(withCredentials.user == "u" && withCredentials.password == Self.secret)
    }

    /// Bad URLs, each carrying ``secret`` (raw or percent-encoded) in its credentials.
    static let badURLsWithASecret: [String] = {
        let credentials = ["admin:\(secret)", ":\(secret)", secret, ":s3%23cr%2Ft%3Fpw%40x"]
        let hostParts = [
            "[::1:6379", "[::1]6379", "[::1]:0", "host:0", "host:70000", "host:x", "host:", "host:-1",
            String(repeating: String(repeating: "a", count: 59) + ".", count: 5),
            String(repeating: "b", count: 64) + ".example.com", "ho st", "host/abc", "host/-1", "host/2147483648",
            "host?connect_timeout=inf", "host?connect_timeout=nan", "host?connect_timeout=1e300",
            "host?connect_timeout=0", "host?connect_timeout=-1", "host?read_timeout=3601", "host?connect_timeout=",
            "host?timeout=3", "host/0?verbose",
        ]
        var urls = credentials.flatMap { credentials in hostParts.map { "redis://\(credentials)@\($0)" } }
        for scheme in ["rediss", "http", "REDISS"] {
            urls.append("\(scheme)://admin:\(secret)@host:6379")
            urls.append("\(scheme)://\(secret)@host")
        }
        urls.append("admin:\(secret)@host:6379")
        return urls
    }()

    @Test func badURLsNeverEchoTheirPassword() {
        for url in Self.badURLsWithASecret {
            do {
                let options = try RedisConnectionOptions(url: url)
                Issue.record("\(url) was accepted as host '\(options.host)' port \(options.port)")
            } catch {
                #expect(error.code == .invalidConfiguration, "\(url)")
                #expect(error.message.contains("REDIS_URL"), "\(url): \(error.message)")
                let leaked = Self.secretFragments.filter {
                    error.message.contains($0) || error.description.contains($0)
                }
                #expect(leaked.isEmpty, "the error for \(url) shows the password: \(error.message)")
            }
        }
    }

    @Test func hostAndPortLimits() throws {
        let longest = [String](repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")
        #expect(longest.count == 255)
        let label63 = String(repeating: "c", count: 63) + ".example.com"
        #expect(try RedisConnectionOptions(url: "redis://\(label63):1").host == label63)
        #expect(try RedisConnectionOptions(url: "redis://host:65535/2147483647").database == 2_147_483_647)
        let host253 = String(repeating: String(repeating: "d", count: 49) + ".", count: 5) + "ddd"
        #expect(host253.count == 253)
        #expect(try RedisConnectionOptions(url: "redis://\(host253)").host == host253)
        #expect(throws: CourierError.self) { try RedisConnectionOptions(url: "redis://\(host253)d") }
        #expect(throws: CourierError.self) { try RedisConnectionOptions(url: "redis://\(longest)") }
    }

    @Test func redactionHidesPasswordsWithAnyCharacter() {
        let cases = [
            ("redis://admin:\(Self.secret)@host:6379/0", "redis://admin:***@host:6379/0"),
            ("redis://:\(Self.secret)@host", "redis://:***@host"),
            ("redis://\(Self.secret)@host/1", "redis://***@host/1"),
            ("redis://:s3%23cr%2Ft%3Fpw%40x@[::1]:6390", "redis://:***@[::1]:6390"),
            ("redis://[::1]:6390/2", "redis://[::1]:6390/2"),
            ("admin:\(Self.secret)@host", "***"),
        ]
        for (url, expected) in cases {
            let redacted = QueueEnvironment.redactingPassword(in: url)
            #expect(redacted == expected, "\(url)")
            #expect(Self.secretFragments.allSatisfy { !redacted.contains($0) }, "\(url) → \(redacted)")
        }
    }

    @Test func anACLUserAndADatabaseAreUsed() async throws {
        let server = try await RedisTestServer.start(password: "admin-secret")
        _ = try server.command("ACL", "SETUSER", "courier-worker", "on", ">worker-secret", "~*", "&*", "+@all")
        let url = "redis://courier-worker:worker-secret@127.0.0.1:\(server.port)/3"
        let backend = try await RedisQueueBackend(
            url: url, wakeMode: .pubSub, configuration: QueueConfiguration(queueName: "acl"))
        try await backend.publishRequest(QueueRequest(correlationID: try CorrelationID("in-db-3"), payload: Data()))
        let clients = try server.command("CLIENT", "LIST")
        #expect(clients.contains("user=courier-worker"))
        #expect(clients.contains("db=3"))
        let wrongUser = "redis://courier-worker:nope@127.0.0.1:\(server.port)/3"
        await #expect(throws: CourierError.self) { _ = try await RedisQueueBackend(url: wrongUser, wakeMode: .list) }
        await backend.shutdown()
        await server.stop()
    }
}
