-- abuse_mark.lua — abuse detection: set a subject's marker (a flag or a block) for a TTL.
--
-- KEYS[1]: the subject's marker hash (`{prefix}abuse:{SUBJECT}:mark`)
-- KEYS[2]: the subject's state hash (`…:state`); KEYS[3]: its distinct-credential sketch
--          (`…:tokens`), both written by abuse_signals.lua
-- ARGV[1]: rule; ARGV[2]: action (flag | block); ARGV[3]: the signal's value
-- ARGV[4]: TTL seconds; ARGV[5]: now (Unix ms, for since/until)
-- ARGV[6]: '1' when a block is set once (the proxy's behaviour rules): not over a live block
--          — two proxies whose merges both tripped it (the second merge answered between the
--          first's merge and its mark) set it once; '0' lets a block renew a block
-- Returns 1 when set, 0 when a live block holds the subject and this is a flag (a flag never
-- replaces a block) or a block set once; a block replaces a flag.
-- A block clears the window's counts (not the baseline), as abuse.lua clears its counter: the
-- subject starts afresh when the block ends, instead of being blocked again at once by the
-- window that blocked it.
if (ARGV[2] == 'flag' or ARGV[6] == '1') and redis.call('HGET', KEYS[1], 'action') == 'block' then
  return 0
end
local now = tonumber(ARGV[5])
local ttl = tonumber(ARGV[4])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rule', ARGV[1], 'action', ARGV[2], 'value', ARGV[3],
  'since', now, 'until', now + ttl * 1000)
redis.call('EXPIRE', KEYS[1], ttl)
if ARGV[2] == 'block' then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('HSET', KEYS[2], 'calls', 0, 'errors', 0)
  end
  redis.call('DEL', KEYS[3])
end
return 1
