/// How a queue holds the requests waiting for a consumer: the one thing redis-streams does differently from the
/// other two modes in the scripts. Each snippet defines the same Lua functions, which the shared scripts call:
///
/// | function | meaning |
/// |---|---|
/// | `enqueue(id)` | put a request at the back of the queue |
/// | `add_entry(id)` | the same for a request whose hash is written next: returns the field `x` to write with it, or false |
/// | `enqueue_front(id)` | put a leased request back at the front of the queue (given back, same attempt) |
/// | `unqueue(id)` | take a waiting request out of the queue (cancelled, timed out) |
/// | `take(count, consumer, given)` | the next `count` waiting requests as `{id, entry}` items (`given` were read already), and whether the queue is now known to be empty |
/// | `drop(item)` | forget an item `take` returned whose request is no longer waiting |
/// | `settle_entry(id)` | a request leaves the queue for good or goes back to it: forget its queue entry |
/// | `refresh_entry(id)` | a lease was extended |
/// | `queued()` | how many requests wait for a consumer |
/// | `wake()` | make sure a blocked consumer looks again |
/// | `signal()` | the same, for a script that just put a request in the queue |
/// | `tidy(lease, consumer)` | clean-up a consumer does when the queue is drained |
/// | `alarm(t, self)` | a reap falls due at `t` (server ms): make sure a consumer other than `self` looks by then |
/// | `sleep(consumer, wake, longest)` | the consumer blocks until `wake` (server ms; false: it does not block) |
/// | `watch_reads(lease)` | a blocked consumer may read the entry just added: look for it once it could be orphaned |
/// | `queue_due()` | the time (server ms) of the queue's own next clean-up, or nil |
extension RedisScripts {
    /// redis-list and redis-pubsub: the list `pending`, published on the left and claimed from the right, and the
    /// list `wake`, on which idle consumers block.
    static let queueByList = """
        -- The wake list holds one token while requests wait; a consumer that pops it claims, and its claim puts the
        -- token back if requests are left.
        local function signal()
          if redis.call('EXISTS', p .. 'wake') == 0 then redis.call('LPUSH', p .. 'wake', '1') end
        end
        local function wake()
          if redis.call('EXISTS', p .. 'pending') == 1 then signal() end
        end
        local function enqueue(id) redis.call('LPUSH', p .. 'pending', id) end
        local function add_entry(id)
          enqueue(id)
          return false
        end
        local function enqueue_front(id) redis.call('RPUSH', p .. 'pending', id) end
        local function unqueue(id) redis.call('LREM', p .. 'pending', 1, id) end
        local function settle_entry(id) end
        local function refresh_entry(id) end
        local function drop(item) end
        local function tidy(lease, consumer) end
        local function alarm(t, self) end
        local function sleep(consumer, wake, longest) end
        local function watch_reads(lease) end
        local function queue_due() return nil end
        local function queued() return redis.call('LLEN', p .. 'pending') end
        local function take(count, consumer, given)
          local items = {}
          while #items < count do
            local id = redis.call('RPOP', p .. 'pending')
            if not id then return items, true end
            items[#items + 1] = {id, false}
          end
          return items, false
        end

        """

    /// redis-streams: the stream `stream`, one entry `{id = <correlation id>}` per waiting or leased request, read
    /// by the consumer group `workers` in which every consuming process is a named consumer. A request's hash
    /// keeps its entry (`x`) and, while leased, its consumer (`cn`). A leased request's entry stays in its
    /// consumer's pending-entries list, whose idle time restarts when the lease starts or is extended; a settled
    /// request's entry is acknowledged and deleted, so the stream holds only the work waiting or in flight.
    static let queueByStream = """
        local stream = p .. 'stream'
        local sleepers = p .. 'sleepers'
        local function wake() end
        local signal = wake
        local function ensure_group()
          if redis.call('EXISTS', stream) == 0 then
            redis.call('XGROUP', 'CREATE', stream, 'workers', '0', 'MKSTREAM')
          end
        end
        -- Consumers blocked on the stream, each scored by the time (server ms) it wakes to reap what falls due
        -- then. One whose time passed 5 s ago without a claim has gone, and no longer counts.
        local function sleep(consumer, wake_at, longest)
          if consumer == '' then return end
          if wake_at then
            redis.call('ZADD', sleepers, wake_at, consumer)
            redis.call('PEXPIRE', sleepers, longest + 60000)
            redis.call('DEL', p .. 'alarm')
          else
            redis.call('ZREM', sleepers, consumer)
          end
        end
        -- Something falls due at t (a lease expires, a retry or deadline comes, an entry may be orphaned): unless
        -- another live consumer already wakes by then, or was asked to, an entry without an id wakes the first
        -- blocked consumer, whose claim then blocks no longer than the new due time. `self` (the consumer that
        -- made the due time, which may be the one to die) does not count.
        local function alarm(t, self)
          local now = now_ms()
          local first = redis.call('ZRANGEBYSCORE', sleepers, now - 5000, '+inf', 'WITHSCORES', 'LIMIT', 0, 2)
          if first[1] == self then first = {first[3], first[4]} end
          if not first[1] or tonumber(first[2]) <= t + 50 then return end
          local asked = tonumber(redis.call('GET', p .. 'alarm') or '0')
          if asked >= now - 5000 and asked <= t + 50 then return end
          ensure_group()
          redis.call('XADD', stream, '*', 'wake', '1')
          redis.call('SET', p .. 'alarm', t, 'PX', math.max(0, t - now) + 5000)
        end
        -- The time of the next clean-up (tidy): set for entries that may be orphaned and consumers that may have left.
        local function arm(t)
          local due = tonumber(redis.call('GET', p .. 'tidy') or '0')
          if due > 0 and due <= t then return false end
          redis.call('SET', p .. 'tidy', t, 'PX', math.max(0, t - now_ms()) + 5000)
          return true
        end
        local function queue_due()
          local due = redis.call('GET', p .. 'tidy')
          return due and tonumber(due)
        end
        -- A consumer blocked on the stream reads a new entry before its claim leases it: if it dies in between, the
        -- entry is orphaned in its pending list, and a clean-up once the entry could be idle for a lease finds it.
        local function watch_reads(lease)
          local t = now_ms() + lease + 500
          local due = tonumber(redis.call('GET', p .. 'tidy') or '0')
          if (due > 0 and due <= t) or redis.call('EXISTS', sleepers) == 0 then return end
          if arm(t) then alarm(t, '') end
        end
        local function add_entry(id)
          ensure_group()
          return redis.call('XADD', stream, '*', 'id', id)
        end
        local function enqueue(id) redis.call('HSET', p .. 'req:' .. id, 'x', add_entry(id)) end
        local function drop(item)
          redis.call('XACK', stream, 'workers', item[2])
          redis.call('XDEL', stream, item[2])
        end
        local function settle_entry(id)
          local key = p .. 'req:' .. id
          local entry = redis.call('HGET', key, 'x')
          if entry then
            drop({id, entry})
            redis.call('HDEL', key, 'x', 'cn')
          end
        end
        local unqueue = settle_entry
        -- A stream has no front: a request given back keeps its entry, and its id goes onto the list 'returned',
        -- which the next take reads before the stream (the newest given back first, as in the other modes). An
        -- entry without an id wakes a consumer blocked on the stream; the take that reads it drops it.
        local function enqueue_front(id)
          redis.call('HDEL', p .. 'req:' .. id, 'cn')
          redis.call('LPUSH', p .. 'returned', id)
          redis.call('XADD', stream, '*', 'wake', '1')
        end
        local function refresh_entry(id)
          local f = redis.call('HMGET', p .. 'req:' .. id, 'x', 'cn')
          if f[1] and f[2] then redis.call('XCLAIM', stream, 'workers', f[2], 0, f[1], 'JUSTID') end
        end
        local function queued()
          return math.max(0, redis.call('XLEN', stream) - redis.call('ZCARD', p .. 'leases'))
        end
        local function take(count, consumer, given)
          local items = {}
          if consumer == '' then return items, false end
          while #items < count do
            local id = redis.call('LPOP', p .. 'returned')
            if not id then break end
            local entry = redis.call('HGET', p .. 'req:' .. id, 'x')
            if entry and redis.call('XCLAIM', stream, 'workers', consumer, 0, entry, 'JUSTID')[1] then
              items[#items + 1] = {id, entry}
            end
          end
          -- Read by the consumer's blocking XREADGROUP just before (its idle time is the lease's, within the time
          -- between the read and this script). An entry whose request is no longer waiting is dropped by the claim.
          for i = 1, #given, 2 do items[#items + 1] = {given[i + 1], given[i]} end
          if count > #items then
            ensure_group()
            local read = redis.call('XREADGROUP', 'GROUP', 'workers', consumer, 'COUNT', count - #items,
              'STREAMS', stream, '>')
            if read then
              for _, entry in ipairs(read[1][2]) do
                if entry[2][1] == 'id' then items[#items + 1] = {entry[2][2], entry[1]} else drop({'', entry[1]}) end
              end
            end
          end
          return items, false
        end
        local function fields_of(flat)
          local fields = {}
          for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
          return fields
        end
        local function tidy(lease, consumer)
          if consumer == '' or redis.call('EXISTS', stream) == 0 then return end
          local now = now_ms()
          local due = queue_due()
          if due and due <= now then redis.call('DEL', p .. 'tidy') end
          -- Entries read but never leased (the reader stopped in between) go back to the queue; entries of
          -- requests that are gone are forgotten. Leased entries are the leases' business.
          for _, pending in ipairs(redis.call('XPENDING', stream, 'workers', 'IDLE', lease, '-', '+', 100)) do
            local entry = pending[1]
            local read = redis.call('XRANGE', stream, entry, entry)
            local id = read[1] and read[1][2][2]
            local f = {}
            if id then f = redis.call('HMGET', p .. 'req:' .. id, 's', 'x') end
            if f[2] ~= entry then
              drop({id, entry})
            elseif f[1] == 'q' then
              settle_entry(id)
              enqueue(id)
            end
          end
          -- Entries read but not (yet) leased that are younger than a lease: look again once they are not.
          if redis.call('XPENDING', stream, 'workers')[1] > redis.call('ZCARD', p .. 'leases') then
            if arm(now + lease) then alarm(now + lease, consumer) end
          end
          -- Consumers that hold nothing, are not blocked reading and have not read for 10 s have left (or died):
          -- remove them, or look again when they will have been idle that long.
          for _, flat in ipairs(redis.call('XINFO', 'CONSUMERS', stream, 'workers')) do
            local c = fields_of(flat)
            local sleeping = tonumber(redis.call('ZSCORE', sleepers, c.name) or '0') >= now - 5000
            if c.name ~= consumer and c.pending == 0 and not sleeping then
              if c.idle > 10000 then
                redis.call('XGROUP', 'DELCONSUMER', stream, 'workers', c.name)
                redis.call('ZREM', sleepers, c.name)
              else
                arm(now + 10100 - c.idle)
              end
            end
          end
          redis.call('ZREMRANGEBYSCORE', sleepers, '-inf', now - 60000)
        end

        """

    /// ARGV: consumer. A consumer that stops (its backend shuts down) leaves the group when it holds nothing;
    /// the last one to leave an empty stream deletes it, so an unused queue leaves no key behind. Returns 1 when
    /// the consumer left.
    static let leaveBody = """
        redis.call('ZREM', sleepers, ARGV[1])
        if redis.call('EXISTS', stream) == 0 then return 1 end
        local held, others = 0, 0
        for _, flat in ipairs(redis.call('XINFO', 'CONSUMERS', stream, 'workers')) do
          local c = fields_of(flat)
          if c.name == ARGV[1] then held = c.pending else others = others + 1 end
        end
        if held > 0 then return 0 end
        redis.call('XGROUP', 'DELCONSUMER', stream, 'workers', ARGV[1])
        -- A consumer blocked in its first read is not in the group yet, but it is among the sleepers.
        if others == 0 and redis.call('XLEN', stream) == 0 and redis.call('EXISTS', sleepers) == 0 then
          redis.call('DEL', stream, p .. 'tidy', p .. 'alarm')
        end
        return 1
        """
}
