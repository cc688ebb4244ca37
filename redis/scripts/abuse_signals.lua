-- abuse_signals.lua — abuse detection's behaviour signals: fold one proxy's counts of one
-- subject (a client or an address) for one flush interval into the shared state.
--
-- KEYS[1]: the subject's state hash (`{prefix}abuse:{SUBJECT}:state`): w (window id), calls,
--          errors (of window w), base (moving baseline: calls per finished window)
-- KEYS[2]: the subject's distinct-credential HyperLogLog of window w (`…:tokens`)
-- KEYS[3]: the subject's marker hash (`…:mark`, set by abuse_mark.lua): rule, action, …
-- ARGV[1]: window id (Unix seconds / window seconds, the proxy's clock)
-- ARGV[2]: seconds the state is kept after this merge; ARGV[3]: window seconds
-- ARGV[4]: the weight of a finished window in the baseline, per mille
-- ARGV[5]: calls; ARGV[6]: errors; ARGV[7..]: credential hashes seen (PFADD)
-- Returns {calls, errors, baseline × 1000, distinct credentials, marker rule, marker action,
--          marker ms left} — the current window's totals over every proxy.
--
-- The baseline is an exponentially weighted moving average: when a later window opens, the
-- finished one's calls weigh alpha, and each window without calls in between decays it by
-- (1 − alpha). A merge from a proxy whose clock is behind counts in the current window.
--
-- A merge with nothing to add (no calls, no errors, no credential) on a subject without state
-- writes nothing: it only reads the marker (a proxy asking whether another one blocked a
-- subject it saw nothing countable from — no key per such subject).
local function answer(calls, errors, base, distinct)
  local m = redis.call('HMGET', KEYS[3], 'rule', 'action')
  local left = redis.call('PTTL', KEYS[3])
  if left < 0 or not m[1] then
    return {calls, errors, math.floor(base * 1000), distinct, '', '', 0}
  end
  return {calls, errors, math.floor(base * 1000), distinct, m[1], m[2], left}
end
local w = tonumber(ARGV[1])
local s = redis.call('HMGET', KEYS[1], 'w', 'calls', 'errors', 'base')
local sw = tonumber(s[1])
local calls = tonumber(s[2]) or 0
local errors = tonumber(s[3]) or 0
local base = tonumber(s[4]) or 0
if sw == nil and tonumber(ARGV[5]) == 0 and tonumber(ARGV[6]) == 0 and #ARGV <= 6 then
  return answer(0, 0, 0, redis.call('PFCOUNT', KEYS[2]))
end
if sw == nil then
  sw = w
elseif w > sw then
  local alpha = tonumber(ARGV[4]) / 1000
  base = base + alpha * (calls - base)
  local gap = math.min(w - sw - 1, 64)
  for _ = 1, gap do
    base = base * (1 - alpha)
  end
  calls = 0
  errors = 0
  sw = w
  redis.call('DEL', KEYS[2])
end
calls = calls + tonumber(ARGV[5])
errors = errors + tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'w', sw, 'calls', calls, 'errors', errors, 'base', tostring(base))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
local distinct = 0
if #ARGV > 6 then
  redis.call('PFADD', KEYS[2], unpack(ARGV, 7))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]) * 2)
end
distinct = redis.call('PFCOUNT', KEYS[2])
return answer(calls, errors, base, distinct)
