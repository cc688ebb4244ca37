-- gcra.lua — one request against a GCRA rate limit (generic cell rate algorithm), on the Redis
-- clock, so every broker instance shares one limit per subject. Mirrors `gcra_step` in
-- shared/src/store/limits.rs (the in-memory store).
--
-- KEYS[1]: the subject's theoretical arrival time (TAT), in µs of the Redis clock
--          (`{prefix}rl:{<limiter>:<subject>}`); it expires when the bucket is full again
-- ARGV[1]: the emission interval in µs (sustained: one request per interval), at least 1
-- ARGV[2]: the burst (requests allowed at once), at least 1
-- Returns: {allowed (1 or 0), remaining (requests still allowed at once), retry_after_ms
--          (when refused: until a request conforms again), reset_ms (until the whole burst is
--          back)}. A refused request changes nothing.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.max(tonumber(ARGV[1]), 1)
local burst = math.max(tonumber(ARGV[2]), 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
-- Conforms when new_tat - burst * interval <= now.
local horizon = now + burst * interval
if new_tat > horizon then
  return {0, 0, math.ceil((new_tat - horizon) / 1000), math.ceil((tat - now) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((horizon - new_tat) / interval), 0, math.ceil((new_tat - now) / 1000)}
