-- wrk script (bench/proxy.sh): one GET through the proxy per token of BENCH_TOKEN_FILE, in
-- order, each with `Authorization: Bearer <token>`, so that a cold proxy caches every token
-- (and a second pass finds every one cached). Run with -t1. Once a response has come back for
-- as many requests as there are tokens, the thread stops and creates BENCH_DONE_FILE;
-- proxy.sh waits for it and ends wrk with SIGINT (wrk's main thread sleeps for all of -d).
-- The few requests built beyond the last token start again at the first one (they are cache
-- hits). done() prints "non-200 responses: N" and "responses: N".

local file = os.getenv("BENCH_TOKEN_FILE")
local done_file = os.getenv("BENCH_DONE_FILE")
local path = os.getenv("BENCH_PATH") or "/api/bench"
if file == nil or done_file == nil then error("BENCH_TOKEN_FILE and BENCH_DONE_FILE must be set") end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  non200 = 0
  responses = 0
  first_bad = ""
  tokens = {}
  for line in io.lines(file) do
    if line ~= "" then tokens[#tokens + 1] = line end
  end
  total = #tokens
  if total == 0 then error("no tokens in " .. file) end
  nxt = 0
end

function request()
  local t = tokens[nxt % total + 1]
  nxt = nxt + 1
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. t })
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. string.sub(tostring(body), 1, 300) end
  end
  if responses == total then
    assert(io.open(done_file, "w")):close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad, n, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
    n = n + (t:get("responses") or 0)
    local b = t:get("first_bad")
    if sample == "" and b ~= nil and b ~= "" then sample = b end
  end
  io.write(string.format("non-200 responses: %d\n", bad))
  io.write(string.format("responses: %d\n", n))
  if bad > 0 then io.write("first non-200 response: " .. sample .. "\n") end
end
