/// The scripts of request counts and listings, shared by both wake modes (see ``RedisScripts``).
extension RedisScripts {
    /// No ARGV. Returns {pending, running, then a status and its count for each status with unexpired responses}:
    /// pending is the queue plus the requests waiting out a retry delay, running the leases, and each status the
    /// members of `fin:<status>` that have not expired.
    static let countsBody = """
        local now = now_ms()
        local out = {queued() + redis.call('ZCARD', p .. 'delayed'),
          redis.call('ZCARD', p .. 'leases')}
        local statuses = {'completed', 'failed', 'cancelled', 'timedOut', 'deadLettered'}
        for _, status in ipairs(redis.call('SMEMBERS', p .. 'statuses')) do
          if not builtin_statuses[status] then statuses[#statuses + 1] = status end
        end
        for _, status in ipairs(statuses) do
          local n = redis.call('ZCOUNT', p .. 'fin:' .. status, '(' .. now, '+inf')
          if n > 0 then
            out[#out + 1] = status
            out[#out + 1] = n
          end
        end
        return out
        """

    /// ARGV: limit, filter (`any`, `pending`, `running` or `finished`), response status or ''. Returns the ids of
    /// the newest known requests the filter passes, newest first, at most limit; reads only the `recent` list and
    /// the head of each listed request's hash or response.
    static let recentBody = """
        local limit = tonumber(ARGV[1])
        local out = {}
        local seen = {}
        for _, id in ipairs(redis.call('LRANGE', p .. 'recent', 0, -1)) do
          if not seen[id] then
            seen[id] = true
            local kind, status
            local s = redis.call('HGET', p .. 'req:' .. id, 's')
            if s == 'l' then
              kind = 'running'
            elseif s then
              kind = 'pending'
            else
              local head = redis.call('GETRANGE', p .. 'res:' .. id, 0, 511)
              if head ~= '' then
                kind = 'finished'
                status = status_of(head)
              end
            end
            if kind and (ARGV[2] == 'any' or (ARGV[2] == kind and (ARGV[3] == '' or ARGV[3] == status))) then
              out[#out + 1] = id
              if #out == limit then break end
            end
          end
        end
        return out
        """
}
