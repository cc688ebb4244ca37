-- backoff.lua — exponential back-off after failures (failed client authentication), on the Redis
-- clock, shared by every broker instance. Mirrors `backoff_step` in shared/src/store/limits.rs
-- (the in-memory store).
--
-- KEYS[1]: the subject's hash (`{prefix}bo:{<limiter>:<subject>}`): n = failures remembered,
--          until = ms of the Redis clock before which every attempt waits
-- ARGV[1]: "fail" (record one failure, then answer) or "check" (answer only; writes nothing)
-- ARGV[2]: free failures; ARGV[3]: base delay ms; ARGV[4]: max delay ms; ARGV[5]: forget ms
--          (failures are forgotten this long after the last one, or when its wait ends if later)
-- ARGV[6]: the revocation channel; ARGV[7]: the subject's id (`<limiter>:<subject>`)
-- A failure that leaves a back-off in force announces it there (`b:<wait ms>:<id>`), in this
-- same script call, so no failure can start a back-off the other brokers do not hear of: they
-- check a subject in the store only while it may be in a back-off (broker/src/ratelimit/suspects.rs).
-- Returns: how many ms to wait before the next attempt is accepted (0: accepted now).
-- Failure number free + k (k >= 1) waits min(base * 2^(k-1), max).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = redis.call('HMGET', KEYS[1], 'n', 'until')
local n = tonumber(f[1] or '0')
local until_ms = tonumber(f[2] or '0')
if ARGV[1] == 'fail' then
  local free = tonumber(ARGV[2])
  n = n + 1
  if n > free then
    local k = math.min(n - free - 1, 40)
    local delay = math.min(tonumber(ARGV[3]) * 2 ^ k, tonumber(ARGV[4]))
    until_ms = math.max(until_ms, now + delay)
  end
  redis.call('HSET', KEYS[1], 'n', n, 'until', string.format('%d', until_ms))
  redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[5]), until_ms - now, 1))
  if until_ms > now and ARGV[7] then
    redis.call('PUBLISH', ARGV[6], 'b:' .. string.format('%d', until_ms - now) .. ':' .. ARGV[7])
  end
end
if until_ms > now then return until_ms - now end
return 0
