-- wrk script for bench/prefix.sh: every request pushes a new IPv6 prefix (`ipv6prefix`) for
-- the token, so every hostname with an ipv6Suffix gets a new AAAA: each answer is a real,
-- durable change of all of them. Environment: SECRET (the update token).
-- Counts answers that are not 200 "OK".

local secret = os.getenv("SECRET") or ""
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local id, n, bad

function init(args)
  id = wrk.thread:get("id")
  n = 0
  bad = 0
end

function request()
  n = n + 1
  local k = n * 8 + id
  local prefix = string.format("2001:db8:%x:%x::/64", math.floor(k / 65536) % 65536, k % 65536)
  return wrk.format("GET", "/update?token=" .. secret .. "&ipv6prefix=" .. prefix)
end

function response(status, headers, body)
  if status ~= 200 or body ~= "OK" then bad = bad + 1 end
  wrk.thread:set("bad", bad)
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (tonumber(t:get("bad")) or 0)
  end
  io.write(string.format("RESULT requests=%d ok_rps=%.1f errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, (summary.requests - total_bad) / (summary.duration / 1e6), total_bad,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
