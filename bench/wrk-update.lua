-- wrk script for bench/writes.sh: every request changes the A record of one hostname.
-- Environment: MODE=lucent|pdns, SECRET (update token or PowerDNS API key), ZONE, HOSTS, FORM.
-- Hostnames rotate over h1..hHOSTS (threads interleaved, so two connections rarely hit the
-- same name at once) and every request carries an address that differs from the name's
-- previous one, so each answer is a real, durable change.
-- Counts answers that are not the expected success (lucentd: 200 "OK"; PowerDNS: 204).

local mode = os.getenv("MODE") or "lucent"
local secret = os.getenv("SECRET") or ""
local zone = os.getenv("ZONE") or "dyn.example.net"
local hosts = tonumber(os.getenv("HOSTS") or "10000")
-- FORM=label (default: domains=hN, as DuckDNS clients send it) or fqdn (domains=hN.ZONE).
local form = os.getenv("FORM") or "label"

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
  local label = "h" .. ((k % hosts) + 1)
  local ip = "198.18." .. (math.floor(k / 256) % 256) .. "." .. (k % 256)
  if mode == "lucent" then
    local name = form == "fqdn" and (label .. "." .. zone) or label
    return wrk.format("GET", "/update?domains=" .. name .. "&token=" .. secret .. "&ip=" .. ip)
  end
  local body = '{"rrsets":[{"name":"' .. label .. "." .. zone .. '.","type":"A","ttl":60,'
    .. '"changetype":"REPLACE","records":[{"content":"' .. ip .. '","disabled":false}]}]}'
  return wrk.format("PATCH", "/api/v1/servers/localhost/zones/" .. zone .. ".",
    { ["X-API-Key"] = secret, ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if mode == "lucent" then
    if status ~= 200 or body ~= "OK" then bad = bad + 1 end
  elseif status ~= 204 then
    bad = bad + 1
  end
  wrk.thread:set("bad", bad)
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (tonumber(t:get("bad")) or 0)
  end
  -- ok_rps counts only the successful (durable) updates.
  io.write(string.format("RESULT requests=%d ok_rps=%.1f errors=%d socket_errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, (summary.requests - total_bad) / (summary.duration / 1e6), total_bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
