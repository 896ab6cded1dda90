-- wrk script: POST /api/v1/jobs over keep-alive, one small JSON job per request.
-- Usage (docs/BENCHMARKS.md):
--   wrk -t2 -c64 -d20s --latency -s bench/http_bench.lua http://127.0.0.1:8080
-- Set BANANAS_API_TOKEN in wrk's environment when the server requires one.
wrk.method = "POST"
wrk.path = "/api/v1/jobs"
wrk.body = '{"name":"noop","payload":{"n":1},"queue":"bench"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BANANAS_API_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local non_201 = 0
function response(status, headers, body)
  if status ~= 201 then non_201 = non_201 + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("requests: %d, errors (non-2xx/socket): %d/%d\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
  io.write(string.format("p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
