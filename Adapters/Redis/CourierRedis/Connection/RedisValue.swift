import CHiredis
import Foundation

/// One RESP2 reply, copied out of hiredis's reader into Swift values.
enum RedisValue: Sendable, Hashable {
    case status(String)
    case error(String)
    case integer(Int)
    case bulk(Data)
    case null
    case array([RedisValue])

    /// Copies a reply produced by `redisReaderGetReply` (which the caller then frees).
    init(reply: UnsafePointer<redisReply>) {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            self = .bulk(reply.str.map { Data(bytes: $0, count: reply.len) } ?? Data())
        case REDIS_REPLY_STATUS:
            self = .status(reply.str.map { String(decoding: Data(bytes: $0, count: reply.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            self = .error(reply.str.map { String(decoding: Data(bytes: $0, count: reply.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(reply.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                if let element = reply.element[index] { elements.append(RedisValue(reply: element)) }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    var data: Data? {
        switch self {
        case .bulk(let data): data
        case .status(let text): Data(text.utf8)
        case .integer(let value): Data(String(value).utf8)
        default: nil
        }
    }

    var string: String? { data.map { String(decoding: $0, as: UTF8.self) } }

    var integer: Int? {
        switch self {
        case .integer(let value): value
        case .bulk, .status: string.flatMap { Int($0) }
        default: nil
        }
    }

    var array: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    var isNull: Bool { self == .null }
}

/// One argument of a command: always sent as a binary-safe bulk string.
enum RedisArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes(Data)
    case integer(Int)

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .integer(value) }
}

/// A command encoded as a RESP2 array of bulk strings, ready to write.
struct RedisCommand: Sendable {
    let bytes: [UInt8]
    /// The command's name, for logs and per-command counts.
    let name: String
    /// How many pub/sub confirmations the server sends for it: one per channel of a `SUBSCRIBE` or `UNSUBSCRIBE`.
    let confirmations: Int

    init(_ arguments: [RedisArgument]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + arguments.count * 16)
        func appendDecimal(_ value: Int) { bytes.append(contentsOf: String(value).utf8) }
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(arguments.count)
        bytes.append(contentsOf: [13, 10])
        for argument in arguments {
            bytes.append(UInt8(ascii: "$"))
            switch argument {
            case .string(let text):
                let utf8 = text.utf8
                appendDecimal(utf8.count)
                bytes.append(contentsOf: [13, 10])
                bytes.append(contentsOf: utf8)
            case .bytes(let data):
                appendDecimal(data.count)
                bytes.append(contentsOf: [13, 10])
                bytes.append(contentsOf: data)
            case .integer(let value):
                let text = String(value).utf8
                appendDecimal(text.count)
                bytes.append(contentsOf: [13, 10])
                bytes.append(contentsOf: text)
            }
            bytes.append(contentsOf: [13, 10])
        }
        self.bytes = bytes
        if case .string(let first) = arguments.first { name = first.uppercased() } else { name = "?" }
        confirmations = name == "SUBSCRIBE" || name == "UNSUBSCRIBE" ? arguments.count - 1 : 0
    }
}
