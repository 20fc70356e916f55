-- SPDX-License-Identifier: Apache-2.0
-- wrk script of bench/log.ts: POSTs pre-signed log entries, each at most once, for wrk's duration.
-- Arguments (after `--`): the file of entries (one JSON submission per line) and the number of wrk
-- threads; thread k sends lines k, k + T, k + 2T, ... Should a thread run out of entries before
-- the duration ends, it sends a GET the server answers 404 (never an entry twice) and done()
-- reports it. done() prints one line: `entries <201 answers> other <other answers> exhausted <0|1>
-- p50us <latency> p99us <latency>`; the bench fails on any other answer or an exhausted file.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(args[2])
  local headers = { ["Content-Type"] = "application/json" }
  reqs = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then
      reqs[#reqs + 1] = wrk.format("POST", "/cairn/v1/log/entries", headers, line)
    end
    i = i + 1
  end
  idle = wrk.format("GET", "/bench-idle")
  sent = 0
  created = 0
  other = 0
  exhausted = 0
end

function request()
  if sent < #reqs then
    sent = sent + 1
    return reqs[sent]
  end
  exhausted = 1
  return idle
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status ~= 404 then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, o, x = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
    x = math.max(x, t:get("exhausted"))
  end
  io.write(
    string.format(
      "entries %d other %d exhausted %d p50us %d p99us %d\n",
      c,
      o,
      x,
      latency:percentile(50),
      latency:percentile(99)
    )
  )
end
