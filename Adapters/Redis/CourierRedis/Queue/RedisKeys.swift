import Courier

/// The names of every key one queue uses. All start with `namespace:{queue}:`; the braces make them one
/// Redis Cluster hash slot, so the multi-key scripts stay valid there.
///
/// | Key | Type | Lifetime |
/// |---|---|---|
/// | `pending` | list of ids, published on the left, claimed from the right (redis-list, redis-pubsub) | empty (so gone) when drained |
/// | `stream` | stream of entries `id <correlation id>`, consumer group `workers` (redis-streams) | entries deleted when settled; the key deleted by the last consumer to leave it empty |
/// | `returned` | list of ids given back with their entry kept, read before the stream (redis-streams) | empty (so gone) when read |
/// | `req:<id>` | hash: payload, headers, attempt, state, lease token, submitted, latest start and its attempt, whether it has events, fingerprint, reply channel | deleted when the response is stored |
/// | `leases`, `delayed`, `deadlines` | sorted sets of ids by time (ms) | members removed when settled |
/// | `res:<id>` | string: the encoded response, then the request's submission, latest start, its attempt and fingerprint | `PX` response TTL |
/// | `wake` | list of at most one token that wakes one blocked consumer | popped by a consumer |
/// | `done:<id>` | pub/sub channel (redis-pubsub, redis-streams) | — |
/// | `reply:<instance>` | pub/sub channel of one backend instance: the responses to the requests it published and waits on (redis-pubsub, redis-streams) | — |
/// | `watch:<id>`, `replies:<client>` | set of reply lists; a client's reply list (redis-list) | `PX` TTL |
/// | `ev:<id>` | stream of the request's events, entry `<sequence>-1`, capped at the events kept | `PX` response TTL once answered |
/// | `recent` | list of the newest published ids, newest first, capped at ``RequestSummary/listingLimit`` | `PX` response TTL from the latest publish |
/// | `fin:<status>` | sorted set of the ids with an unexpired response of that status, by expiry (ms) | `PX` response TTL from the latest response; expired members removed as responses are stored |
/// | `statuses` | set of the statuses outside the five built-in ones that have a `fin:` set | `PX` response TTL |
/// | `evl:<id>` | hash: newest sequence number `l`, highest trimmed `t`, lease token of the last appender `k` | `PX` response TTL once answered |
struct RedisKeys: Sendable {
    /// `namespace:{queue}:`, passed to every script as `KEYS[1]`.
    let prefix: String

    init(namespace: String, queue: String) {
        prefix = "\(namespace):{\(queue)}:"
    }

    var pending: String { prefix + "pending" }
    var wake: String { prefix + "wake" }
    var stream: String { prefix + "stream" }
    func request(_ id: CorrelationID) -> String { prefix + "req:" + id.rawValue }
    func response(_ id: CorrelationID) -> String { prefix + "res:" + id.rawValue }
    func channel(_ id: CorrelationID) -> String { prefix + "done:" + id.rawValue }
    func watchers(_ id: CorrelationID) -> String { prefix + "watch:" + id.rawValue }
    func replies(client: String) -> String { prefix + "replies:" + client }
    func replyChannel(instance: String) -> String { prefix + "reply:" + instance }

    /// The correlation id a `done:<id>` channel name carries, if it is one of this queue's channels.
    func id(ofChannel channel: String) -> CorrelationID? {
        let head = prefix + "done:"
        guard channel.hasPrefix(head) else { return nil }
        return try? CorrelationID(String(channel.dropFirst(head.count)))
    }
}
