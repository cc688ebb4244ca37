-- wrk script: refresh-token rotation against POST /token.
-- BENCH_BASIC_AUTH: the client's Basic header. BENCH_RT_FILE: one refresh token per line (one
-- per connection). Each response's new refresh token goes back into the queue, so every request
-- rotates a live token (a reused one would revoke its family and fail the run). wrk may build a
-- request it never sends (connection set-up), which loses that token: broker.sh seeds spares.

local auth = os.getenv("BENCH_BASIC_AUTH")
local file = os.getenv("BENCH_RT_FILE")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = auth

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  non200 = 0
  calls = 0
  starved = 0
  responses = 0
  first_bad = ""
  queue = {}
  for line in io.lines(file) do table.insert(queue, line) end
end

function request()
  local rt = table.remove(queue, 1)
  calls = calls + 1
  if rt == nil then starved = starved + 1; rt = "exhausted" end
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. rt)
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. string.sub(tostring(body), 1, 300) end
    return
  end
  local rt = string.match(body, '"refresh_token":"([^"]+)"')
  if rt then table.insert(queue, rt) end
end

function done(summary, latency, requests)
  local total, sample = 0, ""
  for _, t in ipairs(threads) do
    total = total + (t:get("non200") or 0)
    local b = t:get("first_bad")
    if sample == "" and b ~= nil and b ~= "" then sample = b end
  end
  local starved = 0
  for _, t in ipairs(threads) do starved = starved + (t:get("starved") or 0) end
  io.write(string.format("starved requests: %d\n", starved))
  io.write(string.format("non-200 responses: %d\n", total))
  if total > 0 then io.write("first non-200 response: " .. sample .. "\n") end
end
