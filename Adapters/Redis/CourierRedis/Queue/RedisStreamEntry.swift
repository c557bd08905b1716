import Courier
import Foundation

/// One entry of a redis-streams queue as a blocking `XREADGROUP` returned it: the entry's stream id and the
/// correlation id it carries (empty for an entry that only wakes consumers).
struct RedisStreamEntry: Sendable, Hashable {
    let entry: String
    let id: String

    /// The entries of an `XREADGROUP` reply (`[[stream, [[entry, [field, value, ...]], ...]]]`), or none for a
    /// timeout (a null reply).
    static func entries(of reply: RedisValue) -> [RedisStreamEntry] {
        guard let streams = reply.array else { return [] }
        return streams.flatMap { stream -> [RedisStreamEntry] in
            guard let parts = stream.array, parts.count == 2, let rows = parts[1].array else { return [] }
            return rows.compactMap { row in
                guard let fields = row.array, fields.count == 2, let entry = fields[0].string,
                    let values = fields[1].array
                else { return nil }
                let id = values.count >= 2 && values[0].string == "id" ? values[1].string ?? "" : ""
                return RedisStreamEntry(entry: entry, id: id)
            }
        }
    }
}

extension RedisQueueStore {
    /// The name this process's consumer has in a redis-streams group: host, process id and a random part, so
    /// `XINFO CONSUMERS` tells an operator which process holds what.
    static func consumerName() -> String {
        let host = ProcessInfo.processInfo.hostName.prefix(64)
        return
            "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// Removes `consumer` from the group when it holds nothing, and the stream when it is empty and nobody else
    /// consumes it (redis-streams; nothing in the other modes).
    func leave(_ consumer: String, on connection: RedisConnection) async throws {
        _ = try await run(scripts.leave, connection, [.string(consumer)])
    }
}
