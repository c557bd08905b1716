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
        -- A request's hash and its response never exist together: the response is looked for only when the hash
        -- does not hold this token.
        if redis.call('HGET', p .. 'req:' .. id, 't') ~= ARGV[2] then
          local existing = redis.call('GET', p .. 'res:' .. id)
          if existing then return {'finished', status_of(existing)} end
          return {'lost'}
        end
        local count = tonumber(ARGV[6])
        local log = p .. 'evl:' .. id
        -- The log's delivery token (k), newest sequence number (l) and highest one trimmed away (t).
        local state = redis.call('HMGET', log, 'k', 'l', 't')
        if count == 0 then return {'ok', state[2] or '0'} end
        local maxlen = tonumber(ARGV[3])
        local last = tonumber(state[2] or '0')
        local trimmed = state[3] or '0'
        local stream = p .. 'ev:' .. id
        local batch, size = {}, 0
        -- Entry '<seq>-1' of the capped stream; the log's fields are written once, after the batch.
        local function append(kind, n, d, f, c)
          last = last + 1
          redis.call('XADD', stream, 'MAXLEN', ARGV[3], last .. '-1',
            'k', kind, 'n', n, 'd', d, 'f', f, 'c', c, 't', now_text())
          if last > maxlen then trimmed = tostring(last - maxlen) end
          batch[#batch + 1] = ns(tostring(last)) .. ns(kind) .. ns(n) .. ns(d) .. ns(f) .. ns(c)
          size = size + #d + #n + 32
        end
        local fields = {log}
        if state[1] ~= ARGV[2] then
          -- The first append of this delivery starts with its attempt boundary.
          append('attempt', '', '', '', ARGV[5])
          put(fields, 'k', ARGV[2])
          redis.call('HSET', p .. 'req:' .. id, 'e', '1')
        end
        local progress = nil
        for i = 0, count - 1 do
          local b = 7 + i * 5
          append(ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4])
          if ARGV[b] == 'progress' then progress = b end
        end
        put(fields, 'l', tostring(last))
        put(fields, 'u', now_text())
        if trimmed ~= (state[3] or '0') then put(fields, 't', trimmed) end
        if progress then
          put(fields, 'pa', ARGV[5])
          put(fields, 'pf', ARGV[progress + 3])
          put(fields, 'pm', ARGV[progress + 1])
          put(fields, 'pc', ARGV[progress + 4])
        end
        redis.call('HSET', unpack(fields))
        local body = ''
        if size <= 16384 then
          body = '\\n' .. ns(trimmed) .. ns(now_text()) .. table.concat(batch)
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
