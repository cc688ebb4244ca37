-- wrk script: OAuth 2.0 client_credentials token issuance against POST /token.
-- The Basic header is computed by bench/broker.sh and passed in BENCH_BASIC_AUTH
-- ("Basic base64(client_id:client_secret)"). Non-200 responses are counted per thread and
-- reported by done() as "non-200 responses: N" (broker.sh fails the run when N > 0).

local auth = os.getenv("BENCH_BASIC_AUTH")
if auth == nil or auth == "" then
  error("BENCH_BASIC_AUTH is not set")
end

wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = auth

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  first_bad = ""
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(tostring(body), 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total = 0
  local sample = ""
  for _, t in ipairs(threads) do
    total = total + (t:get("non200") or 0)
    local b = t:get("first_bad")
    if sample == "" and b ~= nil and b ~= "" then sample = b end
  end
  io.write(string.format("non-200 responses: %d\n", total))
  if total > 0 then
    io.write("first non-200 response: " .. sample .. "\n")
  end
end
