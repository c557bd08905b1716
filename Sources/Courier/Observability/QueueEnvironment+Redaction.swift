extension QueueEnvironment {
    /// `REDIS_URL` with any password replaced by `***`, safe to log or put in an error message.
    public var redactedRedisURL: String { Self.redactingPassword(in: redisURL) }

    /// Replaces the credentials of a `scheme://[user:]password@host…` URL with `***`; other text is unchanged.
    ///
    /// The credentials end at the last `@`, so a password holding `@`, `/`, `?`, `#` or `:` is hidden whole,
    /// whether or not it was percent-encoded. The user name is kept when it holds none of those.
    public static func redactingPassword(in url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url.contains("@") ? "***" : url }
        let rest = url[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return url }
        let userInfo = rest[..<at]
        var user = ""
        if let colon = userInfo.firstIndex(of: ":"), !userInfo[..<colon].contains(where: { "/?#@".contains($0) }) {
            user = userInfo[..<colon] + ":"
        }
        return url[..<schemeEnd.upperBound] + user + "***" + rest[at...]
    }
}
