-- wrk script (bench/proxy.sh): mint BENCH_MINT_COUNT distinct access tokens with the
-- client_credentials grant (POST /token) and write them to BENCH_TOKEN_FILE, one a line.
-- BENCH_BASIC_AUTH: "Basic base64(client_id:client_secret)". Run with -t1.
-- wrk's main thread sleeps for the whole -d duration whatever the script does, so once enough
-- tokens are written the thread stops and creates BENCH_TOKEN_FILE .. ".done"; proxy.sh waits
-- for that file and ends wrk early with SIGINT. done() prints "non-200 responses: N" and
-- "tokens written: N".

local auth = os.getenv("BENCH_BASIC_AUTH")
local file = os.getenv("BENCH_TOKEN_FILE")
local want = tonumber(os.getenv("BENCH_MINT_COUNT") or "")
if auth == nil or file == nil or want == nil then
  error("BENCH_BASIC_AUTH, BENCH_TOKEN_FILE and BENCH_MINT_COUNT must be set")
end

wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = auth

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  non200 = 0
  written = 0
  first_bad = ""
  out = assert(io.open(file, "w"))
end

function response(status, headers, body)
  if written >= want then return end
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. string.sub(tostring(body), 1, 300) end
    return
  end
  local t = string.match(body, '"access_token":"([^"]+)"')
  if t == nil then
    non200 = non200 + 1
    if first_bad == "" then first_bad = "200 without access_token: " .. string.sub(tostring(body), 1, 300) end
    return
  end
  out:write(t, "\n")
  written = written + 1
  if written >= want then
    out:close()
    assert(io.open(file .. ".done", "w")):close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad, n, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
    n = n + (t:get("written") or 0)
    local b = t:get("first_bad")
    if sample == "" and b ~= nil and b ~= "" then sample = b end
  end
  io.write(string.format("non-200 responses: %d\n", bad))
  io.write(string.format("tokens written: %d\n", n))
  if bad > 0 then io.write("first non-200 response: " .. sample .. "\n") end
end
