import Tracing

/// Writes trace context into a request's headers (for example W3C `traceparent`, as the bootstrapped tracer
/// chooses), so the worker that handles the request continues the client's trace.
public struct RequestHeaderInjector: Injector {
    /// Creates the injector.
    public init() {}

    /// Stores `value` under `key`.
    public func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

/// Reads trace context back out of a request's headers.
public struct RequestHeaderExtractor: Extractor {
    /// Creates the extractor.
    public init() {}

    /// Returns the header named `key`, matching exactly or ignoring case.
    public func extract(key: String, from carrier: [String: String]) -> String? {
        if let value = carrier[key] { return value }
        let lowered = key.lowercased()
        return carrier.first { $0.key.lowercased() == lowered }?.value
    }
}

extension QueueRequest {
    /// The trace context the publisher injected into the headers, extracted with `tracer`; a top-level
    /// context when there is none.
    public func traceContext(using tracer: any Tracer) -> ServiceContext {
        var context = ServiceContext.topLevel
        tracer.extract(headers, into: &context, using: RequestHeaderExtractor())
        return context
    }
}
