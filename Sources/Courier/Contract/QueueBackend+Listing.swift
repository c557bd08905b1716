extension QueueBackend {
    /// Throws ``CourierError/Code/unsupportedOperation``: the adapter has no ``QueueCapabilities/requestListing``.
    public func requestCounts() async throws -> RequestCounts { throw Self.listingUnsupported }

    /// Throws ``CourierError/Code/unsupportedOperation``: the adapter has no ``QueueCapabilities/requestListing``.
    public func recentRequests(limit: Int, matching filter: RequestStateFilter) async throws -> [RequestSummary] {
        throw Self.listingUnsupported
    }

    /// Checks a listing's `limit`: 1 to ``RequestSummary/listingLimit``.
    /// - Throws: ``CourierError/Code/invalidConfiguration`` for any other value.
    public static func checkListingLimit(_ limit: Int) throws {
        guard (1...RequestSummary.listingLimit).contains(limit) else {
            throw CourierError(
                .invalidConfiguration, "a listing's limit must be 1 to \(RequestSummary.listingLimit), not \(limit)")
        }
    }

    private static var listingUnsupported: CourierError {
        CourierError(.unsupportedOperation, "this adapter does not list or count its requests")
    }
}
