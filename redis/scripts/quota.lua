-- quota.lua — count one call against a quota window, unless the window's limit is reached.
--
-- KEYS[1]: the window's counter (`{prefix}quota:{subject}:{period}:{window start}`)
-- ARGV[1]: the limit; ARGV[2]: TTL in seconds (the window's remaining length, plus slack)
-- Returns: {count, allowed}: the count after this call (unchanged when refused), and 1 when the
--          call was counted, 0 when the limit was already reached.
-- Refused calls are not counted, so a client hammering a spent quota does not push its
-- counter further; the count is exact across every proxy sharing this Redis.
local limit = tonumber(ARGV[1])
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= limit then
  return {n, 0}
end
n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return {n, 1}
