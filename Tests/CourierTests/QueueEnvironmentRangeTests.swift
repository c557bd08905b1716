import Courier
import Foundation
import Logging
import Testing

/// Every number read from the environment is checked against a named range: nothing is clamped, and no
/// infinity, NaN or overflowing value gets through to a `Duration` or a rate.
@Suite("Environment ranges")
struct QueueEnvironmentRangeTests {
    /// A ranged variable, how it is read, and the values just inside and outside its range.
    enum Setting: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case lease = "COURIER_LEASE_SECONDS"
        case responseTTL = "COURIER_RESPONSE_TTL_SECONDS"
        case handlerTimeout = "COURIER_HANDLER_TIMEOUT_SECONDS"
        case rateLimit = "COURIER_RATE_LIMIT"
        case rateBurst = "COURIER_RATE_BURST"
        case eventsKept = "COURIER_EVENTS_KEPT"
        case eventFlush = "COURIER_EVENT_FLUSH_SECONDS"

        var testDescription: String { rawValue }

        /// The range as the error message states it.
        var range: String {
            switch self {
            case .lease: "from 0.1 to 86,400"
            case .responseTTL: "from 1 to 31,536,000"
            case .handlerTimeout: "from 0 to 604,800"
            case .rateLimit: "from 0.001 to 1,000,000"
            case .rateBurst: "from 1 to 1,000,000"
            case .eventsKept: "from 1 to 100,000"
            case .eventFlush: "from 0 to 60"
            }
        }

        var refused: [String] {
            let always = ["inf", "-inf", "nan", "1e300", "-1", "abc"]
            switch self {
            case .lease: return always + ["0", "0.09", "86401"]
            case .responseTTL: return always + ["0", "0.5", "31536001"]
            case .handlerTimeout: return always + ["604801"]
            case .rateLimit: return always + ["0", "0.0009", "1000001"]
            case .rateBurst: return always + ["0", "0.5", "1000001"]
            case .eventsKept: return always + ["0", "0.5", "100001"]
            case .eventFlush: return always + ["60.5"]
            }
        }

        /// Accepted values and the number of seconds (or per-second rate, or burst) each must read as.
        var accepted: [(text: String, value: Double)] {
            switch self {
            case .lease: [("0.1", 0.1), ("30", 30), ("86400", 86_400)]
            case .responseTTL: [("1", 1), ("31536000", 31_536_000)]
            case .handlerTimeout: [("0.5", 0.5), ("604800", 604_800)]
            case .rateLimit: [("0.001", 0.001), ("2.5", 2.5), ("1000000", 1_000_000)]
            case .rateBurst: [("1", 1), ("1000000", 1_000_000)]
            case .eventsKept: [("1", 1), ("100000", 100_000)]
            case .eventFlush: [("0", 0), ("0.002", 0.002), ("60", 60)]
            }
        }

        /// Reads the setting from an environment holding `text` for it.
        func read(_ text: String) throws(CourierError) -> Double? {
            var values = [rawValue: text]
            switch self {
            case .lease: return try QueueEnvironment(values: values).queueConfiguration().leaseDuration.inSeconds
            case .responseTTL: return try QueueEnvironment(values: values).queueConfiguration().responseTTL.inSeconds
            case .handlerTimeout: return try QueueEnvironment(values: values).handlerTimeout()?.inSeconds
            case .rateLimit: return try QueueEnvironment(values: values).rateLimit()?.rate
            case .rateBurst:
                values["COURIER_RATE_LIMIT"] = "1"
                return try QueueEnvironment(values: values).rateLimit()?.burst
            case .eventsKept:
                return Double(try QueueEnvironment(values: values).queueConfiguration().maxEventsPerRequest)
            case .eventFlush: return try QueueEnvironment(values: values).eventFlushInterval().inSeconds
            }
        }
    }

    @Test(arguments: Setting.allCases)
    func outOfRangeValuesAreRefusedNamingTheVariableAndRange(_ setting: Setting) {
        for text in setting.refused {
            do {
                let value = try setting.read(text)
                Issue.record("\(setting.rawValue)=\(text) was accepted as \(String(describing: value))")
            } catch {
                #expect(error.code == .invalidConfiguration, "\(setting.rawValue)=\(text)")
                #expect(error.message.contains(setting.rawValue), "\(error.message)")
                #expect(error.message.contains(setting.range), "\(error.message)")
            }
        }
    }

    @Test(arguments: Setting.allCases)
    func inRangeValuesAreAccepted(_ setting: Setting) throws {
        for (text, expected) in setting.accepted {
            let value = try #require(try setting.read(text), "\(setting.rawValue)=\(text)")
            #expect(abs(value - expected) <= expected * 1e-9, "\(setting.rawValue)=\(text) read as \(value)")
        }
    }

    @Test func zeroHandlerTimeoutMeansNoLimitAndUnsetMeansTheDefault() throws {
        #expect(try QueueEnvironment(values: ["COURIER_HANDLER_TIMEOUT_SECONDS": "0"]).handlerTimeout() == nil)
        #expect(try QueueEnvironment(values: [:]).handlerTimeout() == WorkerConfiguration.defaultHandlerTimeout)
    }

    @Test func logLevelMustNameALevel() throws {
        #expect(try QueueEnvironment(values: [:]).logLevel() == .info)
        #expect(try QueueEnvironment(values: ["LOG_LEVEL": ""]).logLevel() == .info)
        #expect(try QueueEnvironment(values: ["LOG_LEVEL": "DEBUG"]).logLevel() == .debug)
        for level in Logger.Level.allCases {
            #expect(try QueueEnvironment(values: ["LOG_LEVEL": level.rawValue]).logLevel() == level)
        }
        for text in ["verbose", "warn", "5", "info,debug"] {
            do {
                let level = try QueueEnvironment(values: ["LOG_LEVEL": text]).logLevel()
                Issue.record("LOG_LEVEL=\(text) was accepted as \(level)")
            } catch {
                #expect(error.code == .invalidConfiguration)
                #expect(error.message.contains("LOG_LEVEL"), "\(error.message)")
                #expect(error.message.contains("trace") && error.message.contains("critical"), "\(error.message)")
            }
        }
    }
}
