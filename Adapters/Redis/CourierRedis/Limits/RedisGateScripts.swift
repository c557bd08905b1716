/// The Lua scripts of ``RedisConcurrencyGate``. `KEYS[1]` is the gate's prefix; `slots` is a sorted set of
/// permit tokens by lease expiry (server time, ms), `free` a short list whose pushes wake blocked waiters.
struct RedisGateScripts: Sendable {
    /// ARGV: limit, lease ms, token. Drops expired slots, then takes one if fewer than `limit` are held.
    /// Returns {1} when taken, or {0, ms until the earliest slot expires}.
    let acquire = RedisScript(
        name: "gate-acquire",
        source: library + """
            local limit, lease, token = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
            local now = now_ms()
            redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
            if redis.call('ZCARD', slots) < limit then
              redis.call('ZADD', slots, now + lease, token)
              redis.call('PEXPIRE', slots, lease * 2)
              return {1}
            end
            local first = redis.call('ZRANGE', slots, 0, 0, 'WITHSCORES')
            return {0, math.max(1, tonumber(first[2]) - now)}
            """)

    /// ARGV: token, lease ms. Extends a held slot; returns 0 when it had already expired and was taken back.
    let renew = RedisScript(
        name: "gate-renew",
        source: library + """
            local now = now_ms()
            if redis.call('ZSCORE', slots, ARGV[1]) == false then return 0 end
            redis.call('ZADD', slots, now + tonumber(ARGV[2]), ARGV[1])
            redis.call('PEXPIRE', slots, tonumber(ARGV[2]) * 2)
            return 1
            """)

    /// ARGV: token, limit, lease ms. Gives a slot back and pushes one wake-up token (the list holds at most
    /// `limit`, and expires with the slots).
    let release = RedisScript(
        name: "gate-release",
        source: library + """
            if redis.call('ZREM', slots, ARGV[1]) == 1 then
              redis.call('LPUSH', free, '1')
              redis.call('LTRIM', free, 0, tonumber(ARGV[2]) - 1)
              redis.call('PEXPIRE', free, tonumber(ARGV[3]) * 2)
            end
            return 1
            """)

    private static let library = """
        local slots, free = KEYS[1] .. 'slots', KEYS[1] .. 'free'
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end

        """
}
