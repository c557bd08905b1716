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
