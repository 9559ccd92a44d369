-- wrk script for the /track load test (tests/integration/track_load_test.ts).
--
-- Each request POSTs TRACK_EVENTS_PER_REQUEST NDJSON events whose "seq" is
-- "<request id>-<i>", with the request id in X-Request-Id too. Each thread
-- appends the ids of requests answered 202 to TRACK_OUT_DIR/acked-<thread>.txt
-- (the server echoes X-Request-Id), so the test can check every acknowledged
-- event against Kafka. done() prints one line: STATUSES {json}.

local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  per_request = tonumber(os.getenv("TRACK_EVENTS_PER_REQUEST") or "20")
  run = os.getenv("TRACK_RUN") or "run"
  out = io.open((os.getenv("TRACK_OUT_DIR") or ".") .. "/acked-" .. thread_id .. ".txt", "w")
  sent = 0
  statuses = {}
end

function request()
  sent = sent + 1
  local id = thread_id .. "." .. sent
  local lines = {}
  for i = 1, per_request do
    lines[i] = string.format(
      '{"event_id":"load-%d","run":"%s","seq":"%s-%d","value":%d}',
      (sent * per_request + i) % 37, run, id, i, i)
  end
  return wrk.format("POST", "/track", {
    ["Content-Type"] = "application/x-ndjson",
    ["X-Request-Id"] = id,
  }, table.concat(lines, "\n"))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 202 then
    out:write(headers["x-request-id"] or headers["X-Request-Id"] or "?", "\n")
    out:flush()
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[tostring(status)] = (total[tostring(status)] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%s":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'STATUSES {"statuses":{%s},"requests":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_p50_us":%d,"latency_p99_us":%d}\n',
    table.concat(parts, ","), summary.requests, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
