-- wrk script for benchmarks/http.py: POST /v1/evaluations cycling through the realistic mix.
--
-- TMS_BENCH_BODIES  a file of submissions, one JSON document a line (benchmarks/workload.py writes it)
-- TMS_BENCH_KEYS    "1": send a new Idempotency-Key with every request (TMS_BENCH_RUN makes them unique)
-- TMS_API_KEY       sent as "Authorization: Bearer ..." when set
--
-- done() prints one line, "WRK_JSON {...}": requests, duration, socket errors, non-2xx answers and
-- latency percentiles in microseconds.

local bodies = {}
for line in io.lines(os.getenv("TMS_BENCH_BODIES")) do
  if #line > 0 then bodies[#bodies + 1] = line end
end
local api_key = os.getenv("TMS_API_KEY")
local keys = os.getenv("TMS_BENCH_KEYS") == "1"
local run = os.getenv("TMS_BENCH_RUN") or tostring(os.time())

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local function headers_for(n)
  local headers = { ["Content-Type"] = "application/json" }
  if api_key and #api_key > 0 then headers["Authorization"] = "Bearer " .. api_key end
  if keys then headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, thread_id, n) end
  return headers
end

function init(args)
  position = (thread_id * 97) % #bodies  -- each thread starts elsewhere in the mix
  sent = 0
  non2xx = 0
  prepared = {}
  if not keys then  -- the same bytes every cycle: format each request once
    for i, body in ipairs(bodies) do prepared[i] = wrk.format("POST", "/v1/evaluations", headers_for(0), body) end
  end
end

function request()
  position = position % #bodies + 1
  sent = sent + 1
  if keys then return wrk.format("POST", "/v1/evaluations", headers_for(sent), bodies[position]) end
  return prepared[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local total_non2xx = 0
  for _, thread in ipairs(threads) do total_non2xx = total_non2xx + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d},"non2xx":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, total_non2xx,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
