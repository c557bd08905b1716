/// The scripts of streamed events, shared by both wake modes (see ``RedisScripts``).
extension RedisScripts {
    /// ARGV: id, lease token, events kept, response TTL ms, attempt, event count, then kind, name, data,
    /// fraction, counter for each event. The first append of a delivery (a token the log has not seen) starts
    /// with its attempt boundary. Returns {'ok', last sequence}, {'finished', status} or {'lost'}.
    ///
    /// The announcement to the id's watchers carries the batch when it is small (see ``RedisEventBatch``), so a
    /// reader following the log live gets it without reading it back.
    static let appendEventsBody = """
        local id = ARGV[1]
        local existing = redis.call('GET', p .. 'res:' .. id)
        if existing then return {'finished', status_of(existing)} end
        if redis.call('HGET', p .. 'req:' .. id, 't') ~= ARGV[2] then return {'lost'} end
        local count = tonumber(ARGV[6])
        local log = p .. 'evl:' .. id
        if count == 0 then return {'ok', redis.call('HGET', log, 'l') or '0'} end
        local now = now_ms()
        local last = 0
        local batch, size = {}, 0
        local function announce(seq, kind, n, d, f, c)
          batch[#batch + 1] = ns(tostring(seq)) .. ns(kind) .. ns(n) .. ns(d) .. ns(f) .. ns(c)
          size = size + #d + #n + 32
        end
        if redis.call('HGET', log, 'k') ~= ARGV[2] then
          announce(append_event(id, 'attempt', '', '', '', ARGV[5], tonumber(ARGV[3]), now), 'attempt', '', '', '',
            ARGV[5])
          redis.call('HSET', log, 'k', ARGV[2])
          redis.call('HSET', p .. 'req:' .. id, 'e', '1')
        end
        local progress = nil
        for i = 0, count - 1 do
          local b = 7 + i * 5
          last = append_event(id, ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], tonumber(ARGV[3]), now)
          announce(last, ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4])
          if ARGV[b] == 'progress' then progress = b end
        end
        redis.call('HSET', log, 'u', now)
        if progress then
          redis.call('HSET', log, 'pa', ARGV[5], 'pf', ARGV[progress + 3], 'pm', ARGV[progress + 1],
            'pc', ARGV[progress + 4])
        end
        local body = ''
        if size <= 16384 then
          body = '\\n' .. ns(redis.call('HGET', log, 't') or '0') .. ns(tostring(now)) .. table.concat(batch)
        end
        notify_events(id, tonumber(ARGV[4]), body)
        return {'ok', tostring(last)}
        """

    /// ARGV: id, after, limit. Returns {0} for an unknown id, else {1, last, trimmed, entries, response or nil}.
    static let eventsBody = """
        local id = ARGV[1]
        local res = redis.call('GET', p .. 'res:' .. id)
        if not res and redis.call('EXISTS', p .. 'req:' .. id) == 0 then return {0} end
        local log = redis.call('HMGET', p .. 'evl:' .. id, 'l', 't')
        local entries = {}
        if tonumber(ARGV[3]) > 0 then
          entries = redis.call('XRANGE', p .. 'ev:' .. id, ARGV[2] .. '-2', '+', 'COUNT', ARGV[3])
        end
        return {1, log[1] or '0', log[2] or '0', entries, res or false}
        """
}
