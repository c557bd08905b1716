extension QueueEnvironment {
    /// `REDIS_URL` with any password replaced by `***`, safe to log or put in an error message.
    public var redactedRedisURL: String { Self.redactingPassword(in: redisURL) }

    /// Replaces the password of a `scheme://[user:]password@host…` URL with `***`; other text is unchanged.
    public static func redactingPassword(in url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        let userInfo = rest[..<at]
        let user = userInfo.firstIndex(of: ":").map { userInfo[..<$0] + ":" } ?? ""
        return url[..<schemeEnd.upperBound] + user + "***" + rest[at...]
    }
}
