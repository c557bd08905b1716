-- wrk script for scripts/bench-gateway: POST /v1/tasks/submit?wait=10 with a 44-byte JSON body.
--
-- Besides wrk's own latency (the client's view), it reads each finished task's submitted_at, started_at and
-- finished_at (the store's clock, millisecond resolution) and prints their percentiles at the end:
--   queued = started - submitted (waiting for a worker), handled = finished - started, server = finished - submitted.
-- What wrk sees beyond "server" is the gateway's and the client's own share: HTTP, the wake-up, scheduling.
-- A stack whose answers carry no such fields (the peer) prints nothing.
wrk.method = "POST"
wrk.path = "/v1/tasks/submit?wait=10"
wrk.body = '{"message": "hello", "session_id": "bench"}'
wrk.headers["Content-Type"] = "application/json"

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  samples = {}
  joined = ""
end

-- Milliseconds since midnight of an ISO 8601 time such as "2026-11-28T15:55:17.720Z" in the body.
local function milliseconds(body, field)
  local h, m, s, f = body:match('"' .. field .. '":"%d+%-%d+%-%d+T(%d+):(%d+):(%d+)%.(%d+)')
  if not h then return nil end
  return ((tonumber(h) * 60 + tonumber(m)) * 60 + tonumber(s)) * 1000 + tonumber(f)
end

function response(status, headers, body)
  local submitted = milliseconds(body, "submitted_at")
  local started = milliseconds(body, "started_at")
  local finished = milliseconds(body, "finished_at")
  if submitted and started and finished then
    samples[#samples + 1] = (started - submitted) .. "," .. (finished - started) .. "," .. (finished - submitted)
    -- wrk copies only plain values between threads: keep a joined copy, refreshed every 500 samples.
    if #samples % 500 == 0 then joined = table.concat(samples, ";") end
  end
end

function done(summary, latency, requests)
  local series = {{}, {}, {}}
  for _, thread in ipairs(threads) do
    for a, b, c in (thread:get("joined") or ""):gmatch("(%-?%d+),(%-?%d+),(%-?%d+)") do
      table.insert(series[1], tonumber(a))
      table.insert(series[2], tonumber(b))
      table.insert(series[3], tonumber(c))
    end
  end
  for i, name in ipairs({"queued", "handled", "server"}) do
    local values = series[i]
    table.sort(values)
    local n = #values
    if n > 0 then
      local function at(q) return values[math.min(n, math.floor(n * q) + 1)] end
      io.write(string.format("%s ms: samples %d p50 %d p90 %d p99 %d max %d\n", name, n, at(0.5), at(0.9), at(0.99),
        values[n]))
    end
  end
end
