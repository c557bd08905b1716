/// The Lua scripts that change several keys atomically. Each is loaded once per server (`SCRIPT LOAD`) and run
/// by SHA; a server that forgot them (restart, `SCRIPT FLUSH`) answers `NOSCRIPT` and gets them again.
///
/// Every script takes the queue's key prefix as `KEYS[1]` and uses the server's clock (`TIME`), so workers on
/// hosts with skewed clocks agree on lease expiry. The three Redis modes share every script and differ only in
/// `notify` (redis-pubsub and redis-streams `PUBLISH` the response on `done:<id>`; redis-list pushes it onto each
/// registered waiter's reply list) and in how the queue holds waiting requests (a list, or a stream read by a
/// consumer group: see RedisScripts+Queueing).
struct RedisScripts: Sendable {
    let publish: RedisScript
    let claim: RedisScript
    let respond: RedisScript
    let extend: RedisScript
    let release: RedisScript
    let unclaim: RedisScript
    let cancel: RedisScript
    let status: RedisScript
    let statusReport: RedisScript
    let watch: RedisScript
    let appendEvents: RedisScript
    let events: RedisScript
    let counts: RedisScript
    let recent: RedisScript
    let leave: RedisScript

    init(wake: RedisWakeMode) {
        let library =
            Self.library + (wake == .streams ? Self.queueByStream : Self.queueByList)
            + (wake == .list ? Self.notifyByReplyList : Self.notifyByPublish)
        func script(_ name: String, _ body: String) -> RedisScript {
            RedisScript(name: name, source: library + body)
        }
        publish = script("publish", Self.publishBody)
        claim = script("claim", Self.claimBody)
        respond = script("respond", Self.respondBody)
        extend = script("extend", Self.extendBody)
        release = script("release", Self.releaseBody)
        unclaim = script("unclaim", Self.unclaimBody)
        cancel = script("cancel", Self.cancelBody)
        status = script("status", Self.statusBody)
        statusReport = script("status-report", Self.statusReportBody)
        watch = script("watch", Self.watchBody)
        appendEvents = script("append-events", Self.appendEventsBody)
        events = script("events", Self.eventsBody)
        counts = script("counts", Self.countsBody)
        recent = script("recent", Self.recentBody)
        leave = script("leave", wake == .streams ? Self.leaveBody : "return 1")
    }

    var all: [RedisScript] {
        [
            publish, claim, respond, extend, release, unclaim, cancel, status, statusReport, watch, appendEvents,
            events,
            counts, recent, leave,
        ]
    }

    static let library = """
        local p = KEYS[1]
        -- The server's clock, read once per script: a script runs atomically, so one instant serves all of it.
        local now_read = nil
        local function now_ms()
          if not now_read then
            local t = redis.call('TIME')
            now_read = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          end
          return now_read
        end
        -- The same as text: a number passed to redis.call is formatted on every call, a string is passed as is.
        local now_string = nil
        local function now_text()
          if not now_string then now_string = tostring(now_ms()) end
          return now_string
        end
        local function ns(s) return #s .. ':' .. s .. ',' end
        -- Adds a field and its value to the arguments of one HSET (each write of a script is one more AOF command).
        local function put(fields, name, value)
          fields[#fields + 1] = name
          fields[#fields + 1] = value
        end
        local function failure(id, status, err, now)
          return ns('1') .. ns(status) .. ns(id) .. ns('1') .. ns(err) .. ns('{}')
            .. ns(string.format('%.3f', now / 1000)) .. ns('')
        end
        local builtin_statuses = {completed = true, failed = true, cancelled = true, timedOut = true, deadLettered = true}
        local function status_of(enc)
          local c1 = string.find(enc, ':', 1, true)
          local pos = c1 + tonumber(string.sub(enc, 1, c1 - 1)) + 2
          local c2 = string.find(enc, ':', pos, true)
          return string.sub(enc, c2 + 1, c2 + tonumber(string.sub(enc, pos, c2 - 1)))
        end

        """

    static let notifyByPublish = """
        local function notify(id, enc, ttl)
          redis.call('PUBLISH', p .. 'done:' .. id, enc)
        end
        local function notify_events(id, ttl, body)
          redis.call('PUBLISH', p .. 'done:' .. id, 'E' .. id .. body)
        end

        """

    static let notifyByReplyList = """
        local function notify(id, enc, ttl)
          local key = p .. 'watch:' .. id
          for _, list in ipairs(redis.call('SMEMBERS', key)) do
            redis.call('LPUSH', list, enc)
            redis.call('PEXPIRE', list, ttl)
          end
          redis.call('DEL', key)
        end
        -- redis-list readers read events back from the log (see RedisQueueBackend+Events): the body is not sent.
        local function notify_events(id, ttl, body)
          for _, list in ipairs(redis.call('SMEMBERS', p .. 'watch:' .. id)) do
            redis.call('LPUSH', list, 'E' .. id)
            redis.call('PEXPIRE', list, ttl)
          end
        end

        """

    /// Shared by every script that finishes a request: store (first wins is checked by the caller), forget the
    /// request, wake waiters.
    static let storeAndReap = """
        -- Responses by status, each scored by its expiry, for the counts (see RedisScripts+Listing).
        local function count_finished(id, status, ttl)
          local now = now_ms()
          local key = p .. 'fin:' .. status
          redis.call('ZADD', key, tostring(now + ttl), id)
          redis.call('ZREMRANGEBYSCORE', key, '-inf', now_text())
          redis.call('PEXPIRE', key, ttl)
          if not builtin_statuses[status] then
            redis.call('SADD', p .. 'statuses', status)
            redis.call('PEXPIRE', p .. 'statuses', ttl)
          end
        end
        -- The fields of a request's hash that `store` reads; a script that read them already passes them on.
        local STORED_FIELDS = {'sb', 'st', 'sa', 'e', 'fp', 'x', 's', 'dm', 'rc'}
        local function stored_fields(id)
          return redis.call('HMGET', p .. 'req:' .. id, unpack(STORED_FIELDS))
        end
        local function store(id, enc, ttl, r)
          -- The stored response carries, after its own fields, the request's submission, latest start, its attempt
          -- and fingerprint, then its event log's last update and progress (attempt, fraction, message, counter):
          -- the whole status report of a finished request, so that a waiter woken by it needs no second read.
          r = r or stored_fields(id)
          local l = {}
          if r[4] then l = redis.call('HMGET', p .. 'evl:' .. id, 'u', 'pa', 'pf', 'pm', 'pc') end
          local full = enc .. ns(r[1] or '') .. ns(r[2] or '') .. ns(r[3] or '') .. ns(r[5] or '')
            .. ns(l[1] or '') .. ns(l[2] or '') .. ns(l[3] or '') .. ns(l[4] or '') .. ns(l[5] or '')
          redis.call('SET', p .. 'res:' .. id, full, 'PX', ttl)
          count_finished(id, status_of(enc), ttl)
          if r[4] then
            redis.call('PEXPIRE', p .. 'ev:' .. id, ttl)
            redis.call('PEXPIRE', p .. 'evl:' .. id, ttl)
          end
          if r[6] then drop({id, r[6]}) end
          -- Each index holds only requests in one state (leases: 'l', delayed: 'w') or with a deadline: a request
          -- is taken out of those it can be in. Without a hash it is in none, but is taken out of all anyway.
          local state = r[7]
          if state then redis.call('DEL', p .. 'req:' .. id) end
          if state == 'l' or not state then redis.call('ZREM', p .. 'leases', id) end
          if state == 'w' or not state then redis.call('ZREM', p .. 'delayed', id) end
          if (r[8] and r[8] ~= '') or not state then redis.call('ZREM', p .. 'deadlines', id) end
          notify(id, full, ttl)
          -- Published with a reply channel (a publish-and-wait on redis-pubsub or redis-streams): its waiter listens
          -- there, not on `done:<id>`.
          if r[9] then redis.call('PUBLISH', r[9], full) end
        end
        -- A request going back to the queue keeps its deadline: past it, it is timed out instead (returns true);
        -- before it, the deadline is watched again (a claim stops watching it).
        local function keep_deadline(id, now, ttl)
          local dm = redis.call('HGET', p .. 'req:' .. id, 'dm')
          if not dm or dm == '' then return false end
          if tonumber(dm) <= now then
            store(id, failure(id, 'timedOut', "the request's deadline passed before it could be delivered again", now), ttl)
            return true
          end
          redis.call('ZADD', p .. 'deadlines', tonumber(dm), id)
          alarm(tonumber(dm), '')
          return false
        end
        -- The soonest score of each index, as read by `reap`; `next_due` reuses them unless something changed them
        -- since (then they are nil and read again).
        local firsts = nil
        local function first_scores()
          local out = {}
          for i, name in ipairs({'leases', 'delayed', 'deadlines'}) do
            local first = redis.call('ZRANGE', p .. name, 0, 0, 'WITHSCORES')
            out[i] = first[2] and tonumber(first[2])
          end
          return out
        end
        local function reap(now, max_attempts, ttl)
          firsts = first_scores()
          if not ((firsts[1] and firsts[1] <= now) or (firsts[2] and firsts[2] <= now)
            or (firsts[3] and firsts[3] <= now)) then return end
          firsts = nil
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', now_text(), 'LIMIT', '0', '100')) do
            redis.call('ZREM', p .. 'leases', id)
            local key = p .. 'req:' .. id
            local attempt = tonumber(redis.call('HGET', key, 'a') or '0')
            if attempt >= max_attempts then
              local reason = 'dead-lettered after ' .. attempt .. ' attempt(s): the lease expired'
              store(id, failure(id, 'deadLettered', reason, now), ttl)
            elseif attempt > 0 and not keep_deadline(id, now, ttl) then
              redis.call('HSET', key, 'a', attempt + 1, 's', 'q')
              settle_entry(id)
              enqueue(id)
            end
          end
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', now_text(), 'LIMIT', '0', '100')) do
            redis.call('ZREM', p .. 'delayed', id)
            if redis.call('HGET', p .. 'req:' .. id, 's') == 'w' then
              redis.call('HSET', p .. 'req:' .. id, 's', 'q')
              enqueue(id)
            end
          end
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'deadlines', '-inf', now_text(), 'LIMIT', '0', '100')) do
            redis.call('ZREM', p .. 'deadlines', id)
            local s = redis.call('HGET', p .. 'req:' .. id, 's')
            if s == 'q' or s == 'w' then
              unqueue(id)
              store(id, failure(id, 'timedOut', "the request's deadline passed before a worker took it", now), ttl)
            end
          end
        end
        local function next_due(now)
          local scores = firsts or first_scores()
          local due = nil
          for i = 1, 3 do
            local t = scores[i]
            if t and (due == nil or t < due) then due = t end
          end
          local own = queue_due()
          if own and (due == nil or own < due) then due = own end
          if due == nil then return -1 end
          return math.max(0, due - now)
        end

        """

    /// ARGV: id, payload, headers, created, deadline ms or '', deadline (reference date) or '', response TTL ms,
    /// recent requests kept, fingerprint or '', lease ms, reply channel or ''.
    /// The id also goes onto the capped list of recent requests that listings read.
    static let publishBody = """
        local id = ARGV[1]
        if redis.call('EXISTS', p .. 'req:' .. id, p .. 'res:' .. id) > 0 then return 0 end
        -- One HSET with every field (each write of a script is one more command in the AOF).
        local fields = {p .. 'req:' .. id, 's', 'q', 'p', ARGV[2], 'h', ARGV[3], 'c', ARGV[4], 'a', '1', 'sb', now_text()}
        if ARGV[5] ~= '' then
          put(fields, 'd', ARGV[6])
          put(fields, 'dm', ARGV[5])
          redis.call('ZADD', p .. 'deadlines', ARGV[5], id)
          alarm(tonumber(ARGV[5]), '')
        end
        if ARGV[9] ~= '' then put(fields, 'fp', ARGV[9]) end
        if ARGV[11] ~= '' then put(fields, 'rc', ARGV[11]) end
        local entry = add_entry(id)
        if entry then put(fields, 'x', entry) end
        redis.call('HSET', unpack(fields))
        if redis.call('LPUSH', p .. 'recent', id) > tonumber(ARGV[8]) then
          redis.call('LTRIM', p .. 'recent', 0, ARGV[8] - 1)
        end
        redis.call('PEXPIRE', p .. 'recent', ARGV[7])
        signal()
        watch_reads(tonumber(ARGV[10]))
        return 1
        """

    /// ARGV: count, lease ms, max attempts, response TTL ms, token base, consumer name (redis-streams; '' for a
    /// call that only reaps), longest block ms, then pairs of stream entry and id the consumer read already.
    /// Returns {deliveries, next due ms}. A consumer that gets fewer than `count` blocks until the next due time
    /// (within 5 ms and the longest block), and redis-streams records it among the sleepers for that long.
    static let claimBody =
        storeAndReap + """
            local now = now_ms()
            local lease = tonumber(ARGV[2])
            reap(now, tonumber(ARGV[3]), tonumber(ARGV[4]))
            local out = {}
            local count = tonumber(ARGV[1])
            local items, drained = take(count, ARGV[6], {unpack(ARGV, 8)})
            local expiry = tostring(now + lease)
            local leases = {p .. 'leases'}
            for _, item in ipairs(items) do
              local id = item[1]
              local key = p .. 'req:' .. id
              local f = redis.call('HMGET', key, 's', 'p', 'h', 'c', 'd', 'a', 'x')
              if f[1] == 'q' and (not item[2] or f[7] == item[2]) then
                local token = ARGV[5] .. '.' .. (#out + 1)
                if item[2] then
                  redis.call('HSET', key, 's', 'l', 't', token, 'st', now_text(), 'sa', f[6], 'cn', ARGV[6])
                else
                  redis.call('HSET', key, 's', 'l', 't', token, 'st', now_text(), 'sa', f[6])
                end
                leases[#leases + 1] = expiry
                leases[#leases + 1] = id
                -- Only a request with a deadline is watched for it (the hash's 'd' and 'dm' come together).
                if f[5] and f[5] ~= '' then
                  redis.call('ZREM', p .. 'deadlines', id)
                  firsts = nil
                end
                out[#out + 1] = {id, f[2], f[3], f[4], f[5] or '', f[6], token}
              else
                drop(item)
              end
            end
            if #out > 0 then
              redis.call('ZADD', unpack(leases))
              if firsts and (not firsts[1] or firsts[1] > now + lease) then firsts[1] = now + lease end
              alarm(now + lease, ARGV[6])
            end
            local cleanup = queue_due()
            if #items < count or (cleanup and cleanup <= now) then tidy(lease, ARGV[6]) end
            -- A queue the take emptied needs no wake-up: every request in it, a reap's requeued ones too, was taken.
            if not drained then wake() end
            local due = next_due(now)
            local longest = tonumber(ARGV[7])
            -- The block the consumer loop computes from `due` (RedisConsumerLoop.run): keep the two alike.
            local block = longest
            if due >= 0 then block = math.max(5, math.min(due, longest)) end
            sleep(ARGV[6], #out < count and now + block, longest)
            return {out, tostring(due)}
            """

    /// ARGV: id, encoded response, lease token or '', response TTL ms. Returns {1} stored, {2, existing}, {3} lost.
    static let respondBody =
        storeAndReap + """
            local id = ARGV[1]
            -- A request's hash and its response never exist together (store writes one and deletes the other), so
            -- the response is looked for only when the hash is gone or the token does not match.
            local fields = {unpack(STORED_FIELDS)}
            fields[#fields + 1] = 't'
            local r = redis.call('HMGET', p .. 'req:' .. id, unpack(fields))
            if not r[7] or (ARGV[3] ~= '' and r[#fields] ~= ARGV[3]) then
              local existing = redis.call('GET', p .. 'res:' .. id)
              if existing then return {2, existing} end
              if ARGV[3] ~= '' then return {3} end
            end
            store(id, ARGV[2], tonumber(ARGV[4]), r)
            return {1}
            """

    /// ARGV: id, token, lease ms. Returns the new expiry (server ms) or 'lost' / 'cancelled'.
    static let extendBody = """
        local id = ARGV[1]
        local existing = redis.call('GET', p .. 'res:' .. id)
        if existing then
          if status_of(existing) == 'cancelled' then return 'cancelled' end
          return 'lost'
        end
        local f = redis.call('HMGET', p .. 'req:' .. id, 's', 't')
        if f[1] ~= 'l' or f[2] ~= ARGV[2] then return 'lost' end
        local now = now_ms()
        local expires = tonumber(redis.call('ZSCORE', p .. 'leases', id) or '0')
        if expires <= now then return 'lost' end
        redis.call('ZADD', p .. 'leases', now + tonumber(ARGV[3]), id)
        refresh_entry(id)
        return tostring(now + tonumber(ARGV[3]))
        """

    /// ARGV: id, token, delay ms, reason, max attempts, response TTL ms. Returns 1, or 0 when the lease is lost.
    static let releaseBody =
        storeAndReap + """
            local id = ARGV[1]
            if redis.call('EXISTS', p .. 'res:' .. id) == 1 then return 1 end
            local key = p .. 'req:' .. id
            local f = redis.call('HMGET', key, 's', 't', 'a')
            if f[1] ~= 'l' or f[2] ~= ARGV[2] then return 0 end
            local now = now_ms()
            local attempt = tonumber(f[3])
            redis.call('ZREM', p .. 'leases', id)
            settle_entry(id)
            if attempt >= tonumber(ARGV[5]) then
              local reason = 'dead-lettered after ' .. attempt .. ' attempt(s): ' .. ARGV[4]
              store(id, failure(id, 'deadLettered', reason, now), tonumber(ARGV[6]))
              return 1
            end
            if keep_deadline(id, now, tonumber(ARGV[6])) then return 1 end
            local delay = tonumber(ARGV[3])
            if delay > 0 then
              redis.call('HSET', key, 'a', attempt + 1, 's', 'w')
              redis.call('ZADD', p .. 'delayed', now + delay, id)
              alarm(now + delay, '')
            else
              redis.call('HSET', key, 'a', attempt + 1, 's', 'q')
              enqueue(id)
              signal()
            end
            return 1
            """

    /// ARGV: id, token, response TTL ms, delay ms (optional). Puts a delivery back at the head of the queue, same
    /// attempt: one claimed for a consumer that stopped waiting, or given back by a worker that stops; with a
    /// delay, among the delayed requests instead. Returns 1, or 0 when the lease is lost.
    static let unclaimBody =
        storeAndReap + """
            local id = ARGV[1]
            if redis.call('EXISTS', p .. 'res:' .. id) == 1 then return 1 end
            local f = redis.call('HMGET', p .. 'req:' .. id, 's', 't')
            if f[1] == 'l' and f[2] == ARGV[2] and keep_deadline(id, now_ms(), tonumber(ARGV[3])) then return 1 end
            if f[1] == 'l' and f[2] == ARGV[2] and tonumber(ARGV[4] or '0') > 0 then
              redis.call('ZREM', p .. 'leases', id)
              redis.call('HSET', p .. 'req:' .. id, 's', 'w')
              settle_entry(id)
              redis.call('ZADD', p .. 'delayed', now_ms() + tonumber(ARGV[4]), id)
              alarm(now_ms() + tonumber(ARGV[4]), '')
              return 1
            end
            if f[1] == 'l' and f[2] == ARGV[2] then
              redis.call('ZREM', p .. 'leases', id)
              redis.call('HSET', p .. 'req:' .. id, 's', 'q')
              enqueue_front(id)
              signal()
              return 1
            end
            return 0
            """

    /// ARGV: id, response TTL ms. Returns 'pending', 'running', 'finished' or 'unknown'.
    static let cancelBody =
        storeAndReap + """
            local id = ARGV[1]
            if redis.call('EXISTS', p .. 'res:' .. id) == 1 then return 'finished' end
            local s = redis.call('HGET', p .. 'req:' .. id, 's')
            if not s then return 'unknown' end
            if s == 'q' then unqueue(id) end
            store(id, failure(id, 'cancelled', 'cancelled', now_ms()), tonumber(ARGV[2]))
            if s == 'l' then return 'running' end
            return 'pending'
            """

    /// ARGV: id. Returns {state, attempt}, {'done', status} or {'unknown'}.
    static let statusBody = """
        local id = ARGV[1]
        local f = redis.call('HMGET', p .. 'req:' .. id, 's', 'a')
        if f[1] then return {f[1], f[2]} end
        local existing = redis.call('GET', p .. 'res:' .. id)
        if existing then return {'done', status_of(existing)} end
        return {'unknown'}
        """

    /// ARGV: id. Returns {state, attempt, submitted, started, started attempt, fingerprint, updated, progress
    /// attempt, fraction, message, counter}: state as in ``statusBody``, times in server ms, '' for what is not
    /// known, a message as `=text`; for a finished request {'done', stored response (with its timeline), '', '',
    /// '', '', then the same log fields}; or {'unknown'}.
    static let statusReportBody = """
        local id = ARGV[1]
        local l = redis.call('HMGET', p .. 'evl:' .. id, 'u', 'pa', 'pf', 'pm', 'pc')
        local head
        local r = redis.call('HMGET', p .. 'req:' .. id, 's', 'a', 'sb', 'st', 'sa', 'fp')
        if r[1] then
          head = {r[1], r[2], r[3] or '', r[4] or '', r[5] or '', r[6] or ''}
        else
          local existing = redis.call('GET', p .. 'res:' .. id)
          if not existing then return {'unknown'} end
          head = {'done', existing, '', '', '', ''}
        end
        for i = 1, 5 do head[#head + 1] = l[i] or '' end
        return head
        """

    /// ARGV: id, reply list, TTL ms. Returns the stored response, or registers the reply list and returns nil,
    /// atomically (redis-list's subscribe-then-check in one step).
    static let watchBody = """
        local id = ARGV[1]
        local existing = redis.call('GET', p .. 'res:' .. id)
        if existing then return existing end
        redis.call('SADD', p .. 'watch:' .. id, ARGV[2])
        redis.call('PEXPIRE', p .. 'watch:' .. id, ARGV[3])
        return false
        """
}
