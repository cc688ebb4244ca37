-- gcra.lua — one request, or a lease of several, against a GCRA rate limit (generic cell rate
-- algorithm), on the Redis clock, so every broker instance shares one limit per subject. Mirrors
-- `gcra_lease_step` in shared/src/store/limits.rs (the in-memory store), whose module doc proves
-- the bound: leased cells never let the brokers together admit more than the plain step would.
--
-- KEYS[1]: the subject's theoretical arrival time (TAT), in µs of the Redis clock
--          (`{prefix}rl:{<limiter>:<subject>}`); it expires when the bucket is full again
-- ARGV[1]: the emission interval in µs (sustained: one request per interval), at least 1
-- ARGV[2]: the burst (requests allowed at once), at least 1
-- ARGV[3]: the lease's cells (admissions wanted at once; 1 or absent: a single request)
-- ARGV[4]: the lease's hold in µs (the asker spends its cells within it; absent: 0)
-- Returns: {granted (0: refused; 1: one request; n ≥ 2: a lease of n cells), remaining
--          (requests still allowed at once), retry_after_ms (when refused: until a request
--          conforms again), reset_ms (until the whole burst is back)}. A refused request
--          changes nothing.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.max(tonumber(ARGV[1]), 1)
local burst = math.max(tonumber(ARGV[2]), 1)
local cells = tonumber(ARGV[3] or '1')
local hold = tonumber(ARGV[4] or '0')
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
-- Conforms when new_tat - burst * interval <= now.
local horizon = now + burst * interval
if cells > 1 then
  -- A lease: its cells' slots start after the hold, and n is what still fits.
  local base = math.max(tat, now + hold)
  local n = math.min(cells, math.floor((horizon - base) / interval))
  if n >= 2 then
    local leased = base + n * interval
    redis.call('SET', KEYS[1], string.format('%d', leased), 'PX', math.ceil((leased - now) / 1000))
    return {n, math.floor((horizon - leased) / interval), 0, math.ceil((leased - now) / 1000)}
  end
end
local new_tat = tat + interval
if new_tat > horizon then
  return {0, 0, math.ceil((new_tat - horizon) / 1000), math.ceil((tat - now) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((horizon - new_tat) / interval), 0, math.ceil((new_tat - now) / 1000)}
