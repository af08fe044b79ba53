-- wrk script for bench/run. Optional, from the environment:
--   WRK_BODY         POST this form body (token endpoint runs)
--   WRK_TOKENS_FILE  one bearer token per line, rotated per request (runs
--                    that must miss every verified-token cache)
-- done() prints one JSON line: counts and latency percentiles (µs) read from
-- wrk's own histogram, which records every request at 1 µs resolution.
local body = os.getenv("WRK_BODY")
if body then
   wrk.method = "POST"
   wrk.body = body
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local method = os.getenv("WRK_METHOD")
if method then
   wrk.method = method
end

local tokens_file = os.getenv("WRK_TOKENS_FILE")
local tokens, idx = nil, 0
if tokens_file then
   tokens = {}
   for line in io.lines(tokens_file) do
      if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
   end
   local headers = {}
   request = function()
      idx = idx % #tokens + 1
      headers["Authorization"] = tokens[idx]
      return wrk.format(nil, nil, headers)
   end
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
      e.status, e.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9), latency.max))
end
