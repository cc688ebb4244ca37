-- wrk script: RFC 7662 token introspection against POST /introspect.
-- bench/broker.sh mints one access token and passes it (form-urlencoded) in BENCH_TOKEN, and the
-- client's Basic header in BENCH_BASIC_AUTH. Non-200 responses are counted per thread and reported
-- by done() as "non-200 responses: N"; responses that are 200 but say "active":false are counted
-- too ("inactive responses: N"), since they mean the benchmark is not measuring the real path.

local auth = os.getenv("BENCH_BASIC_AUTH")
local token = os.getenv("BENCH_TOKEN")
if auth == nil or auth == "" then
  error("BENCH_BASIC_AUTH is not set")
end
if token == nil or token == "" then
  error("BENCH_TOKEN is not set")
end

wrk.method = "POST"
wrk.body = "token=" .. token
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = auth

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  inactive = 0
  first_bad = ""
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(tostring(body), 1, 300)
    end
  elseif not string.find(body, '"active"%s*:%s*true') then
    inactive = inactive + 1
    if first_bad == "" then
      first_bad = "200 " .. string.sub(tostring(body), 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total, total_inactive = 0, 0
  local sample = ""
  for _, t in ipairs(threads) do
    total = total + (t:get("non200") or 0)
    total_inactive = total_inactive + (t:get("inactive") or 0)
    local b = t:get("first_bad")
    if sample == "" and b ~= nil and b ~= "" then sample = b end
  end
  io.write(string.format("non-200 responses: %d\n", total))
  io.write(string.format("inactive responses: %d\n", total_inactive))
  if total + total_inactive > 0 then
    io.write("first bad response: " .. sample .. "\n")
  end
end
